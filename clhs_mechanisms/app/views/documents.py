"""Documents: filterable list, a paginated reading view with codings highlighted, hand coding, memos."""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from clhs_mechanisms.app import state
from clhs_mechanisms.app.components.coding_view import clear_selection, coding_view, turns_from_segments
from clhs_mechanisms.errors import ClhsError
from clhs_mechanisms.markdown import escape_markdown
from clhs_mechanisms.modifiers import applicable

TURNS_PER_PAGE = 25

project = state.project()
codebook = project.codebook
st.title("Documents")

docs = state.frame("documents")
codings = state.visible(state.frame("codings"))
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
speakers = sorted(segs["speaker"].dropna().unique())
if speakers and segs["kind"].iloc[0] == "interview":
    named = docs.loc[docs["name"] == name, "attributes"].iloc[0].get("interviewer", "")
    current = [s for s in speakers if s in {n.strip() for n in named.split(";")}]
    with st.expander("Who interviewed? (their turns are not coded)"):
        chosen = st.multiselect("Interviewer(s)", speakers, default=current, key=f"interviewers:{name}")
        if st.button("Save interviewers", disabled=chosen == current or not state.coder()):
            try:
                changed = project.set_interviewers(name, chosen, coder=state.require_coder())
                st.toast(f"{changed} segments changed; codings kept")
                st.rerun()
            except ClhsError as exc:
                state.report_error(exc)
turns = sorted(segs["turn"].unique())
pages = max(1, math.ceil(len(turns) / TURNS_PER_PAGE))
page = st.number_input(f"Page (of {pages}, {TURNS_PER_PAGE} turns each)", 1, pages, 1, key="doc_page")
on_page = segs[segs["turn"].isin(turns[(page - 1) * TURNS_PER_PAGE : page * TURNS_PER_PAGE])]
doc_codings = codings[codings["document"] == name]
pending = state.frame("suggestions")
pending = pending[pending["document"] == name]
show_pending = st.toggle("Show pending suggestions", value=True, key="doc_pending")
full_text = project.document_text(name)

view_key = f"view:{name}:{page}"
selection = coding_view(
    turns_from_segments(on_page, full_text),
    doc_codings,
    codebook,
    suggestions=pending,
    show_suggestions=show_pending,
    key=view_key,
)
st.caption("Select text in a turn to code it: any span, inside or across the segments of one turn.")


def label(code_id: str) -> str:
    return codebook.code(code_id).label


st.subheader("Code the selection")
if selection is None:
    st.caption("Nothing selected yet.")
else:
    st.text(selection["text"] if len(selection["text"]) <= 300 else selection["text"][:297] + "...")
    chosen = st.selectbox(
        "Code",
        codebook.code_ids,
        index=None,
        key="doc_code",
        placeholder="search codes by label",
        format_func=lambda c: f"{label(c)} ({c})",
    )
    if st.button("Code selection", type="primary", disabled=not (chosen and state.coder())):
        try:
            project.add_coding(
                name, selection["start"], selection["end"], chosen, coder=state.require_coder()
            )
            clear_selection(view_key)
            st.rerun()
        except ClhsError as exc:
            state.report_error(exc)

mine = doc_codings[doc_codings["coder"] == state.coder()] if state.coder() else doc_codings.iloc[0:0]
if not mine.empty:
    with st.expander(f"My codings in this document ({len(mine)})"):
        pick = st.selectbox(
            "Coding",
            mine["id"].tolist(),
            key="doc_mine",
            format_func=lambda i: (lambda c: f"{label(c.code)} · {c.start}-{c.end} · {c.quote[:70]}")(
                mine.set_index("id").loc[i]
            ),
        )
        recode_to = st.selectbox(
            "Change its code to",
            codebook.code_ids,
            index=None,
            key="doc_recode",
            format_func=lambda c: f"{label(c)} ({c})",
        )
        picked = mine.set_index("id").loc[pick]
        for modifier in applicable(codebook, picked.code):  # one click sets it (again: clears it)
            current = (picked.modifiers or {}).get(modifier.id)
            value = st.pills(
                escape_markdown(modifier.label),
                modifier.values,
                default=current,
                key=f"docmod:{pick}:{modifier.id}",
            )
            if value != current:
                try:
                    project.set_modifiers(pick, {modifier.id: value}, coder=state.require_coder())
                    st.rerun()
                except ClhsError as exc:
                    state.report_error(exc)
        m1, m2 = st.columns(2)
        try:
            if m1.button("Change code", disabled=recode_to is None):
                project.recode(pick, coder=state.require_coder(), code=recode_to)
                st.rerun()
            if m2.button("Delete coding"):
                project.delete_coding(pick, coder=state.require_coder())
                st.rerun()
        except ClhsError as exc:
            state.report_error(exc)

st.subheader("Memos")
memos = state.visible(state.frame("memos"))
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
