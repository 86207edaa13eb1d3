"""Documents: filterable list, a paginated reading view with codings highlighted, hand coding, memos."""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from clhs_mechanisms.app import state
from clhs_mechanisms.errors import ClhsError
from clhs_mechanisms.markdown import escape_markdown

TURNS_PER_PAGE = 25

project = state.project()
codebook = project.codebook
colours = state.domain_colours(project)
st.title("Documents")

docs = state.frame("documents")
codings = state.frame("codings")
attrs = pd.DataFrame(list(docs["attributes"]), index=docs.index)
table = pd.concat(
    [docs[["name", "kind", "case", "segments"]], attrs.reindex(columns=["role", "site", "network"])], axis=1
)
table["codings"] = table["name"].map(codings.groupby("document").size()).fillna(0).astype(int)
table["warnings"] = docs["warnings"].map(len)

f1, f2, f3, f4 = st.columns(4)
kind = f1.multiselect("Kind", sorted(table["kind"].unique()), key="doc_kind")
role = f2.multiselect("Role", sorted(table["role"].dropna().unique()), key="doc_role")
site = f3.multiselect("Site", sorted(table["site"].dropna().unique()), key="doc_site")
coded = f4.selectbox("Coding", ["all", "coded", "uncoded"], key="doc_coded")
shown = table
if kind:
    shown = shown[shown["kind"].isin(kind)]
if role:
    shown = shown[shown["role"].isin(role)]
if site:
    shown = shown[shown["site"].isin(site)]
if coded != "all":
    shown = shown[(shown["codings"] > 0) == (coded == "coded")]
st.dataframe(shown, hide_index=True, width="stretch")
if shown.empty:
    st.info("No documents match these filters.")
    st.stop()

name = st.selectbox("Read", shown["name"].tolist(), key="doc_name")
noticed = docs.loc[docs["name"] == name, "warnings"].iloc[0]
if noticed:
    st.warning(
        "When this document was imported, the reader noticed:\n"
        + "\n".join(f"- {escape_markdown(warning)}" for warning in noticed)
    )
segs = project.segments(document=name)
turns = sorted(segs["turn"].unique())
pages = max(1, math.ceil(len(turns) / TURNS_PER_PAGE))
page = st.number_input(f"Page (of {pages}, {TURNS_PER_PAGE} turns each)", 1, pages, 1, key="doc_page")
on_page = segs[segs["turn"].isin(turns[(page - 1) * TURNS_PER_PAGE : page * TURNS_PER_PAGE])]
doc_codings = codings[codings["document"] == name]
pending = state.frame("suggestions")
pending = pending[pending["document"] == name]
show_pending = st.toggle("Show pending suggestions", value=True, key="doc_pending")
full_text = project.document_text(name)

for _, group in on_page.groupby("turn", sort=True):
    lo, hi = int(group["start"].min()), int(group["end"].max())
    text = full_text[lo:hi]
    spans = [
        (int(c.start) - lo, int(c.end) - lo, colours.get(c.code, "#888888"), f"{c.code} ({c.coder})")
        for c in doc_codings.itertuples()
        if c.start < hi and c.end > lo
    ]
    if show_pending:
        spans += [
            (int(p.start) - lo, int(p.end) - lo, "#bbbbbb", f"suggested: {p.code} {p.score:.2f}")
            for p in pending.itertuples()
            if p.start >= lo and p.end <= hi
        ]
    spans = [(max(0, s), min(hi - lo, e), c, t) for s, e, c, t in spans]
    speaker = group["speaker"].iloc[0] or ""
    codable = bool(group["codable"].iloc[0])
    st.markdown(
        f"<p style='{'' if codable else 'color:#777'}'><b>{state.highlight(speaker, [])}</b> "
        f"{state.highlight(text, spans)}</p>",
        unsafe_allow_html=True,
    )

st.subheader("Code by hand")
options = on_page[on_page["codable"]]
if options.empty:
    st.caption("No codable segments on this page.")
else:
    seg_id = st.selectbox(
        "Segment",
        options["id"].tolist(),
        key="doc_segment",
        format_func=lambda i: options.set_index("id").loc[i, "text"][:120],
    )
    chosen = st.multiselect(
        "Codes", codebook.code_ids, key="doc_codes", format_func=lambda c: f"{c} — {codebook.code(c).label}"
    )
    if st.button("Apply codes", disabled=not (chosen and state.coder())):
        seg = options.set_index("id").loc[seg_id]
        try:
            for code in chosen:
                project.add_coding(
                    name, int(seg["start"]), int(seg["end"]), code, coder=state.require_coder()
                )
            st.success(f"Coded {len(chosen)} code(s).")
            st.rerun()
        except ClhsError as exc:
            state.report_error(exc)

st.subheader("Memos")
memos = state.frame("memos")
memos = memos[(memos["target_type"] == "document") & (memos["target_id"] == name)]
for m in memos.itertuples():
    st.markdown(
        f"**{state.highlight(m.coder, [])}** · {m.created_at[:16]}<br>{state.highlight(m.text, [])}",
        unsafe_allow_html=True,
    )
memo = st.text_area("New memo on this document", key="doc_memo")
if st.button("Save memo", key="doc_memo_save", disabled=not (memo.strip() and state.coder())):
    project.add_memo(memo, coder=state.require_coder(), target_type="document", target_id=name)
    st.rerun()
