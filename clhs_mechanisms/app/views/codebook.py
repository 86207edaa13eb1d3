"""Codebook: the code tree with everything a coder needs, and a code report per code."""

from __future__ import annotations

import streamlit as st

from clhs_mechanisms.app import state
from clhs_mechanisms.interop.codebook_doc import code_markdown
from clhs_mechanisms.markdown import escape_markdown

project = state.project()
codebook = project.codebook
codings = state.visible(state.frame("codings"))
st.title(f"Codebook · {escape_markdown(codebook.title)} {escape_markdown(codebook.version)}")
st.caption(escape_markdown(codebook.unit))

for domain in codebook.domains:
    with st.expander(f"{escape_markdown(domain.label)} (`{domain.id}`)"):
        st.caption(escape_markdown(domain.description))
        for code in codebook.codes_in(domain.id):
            n = int((codings["code"] == code.id).sum())
            st.markdown(
                f"- **{state.highlight(code.label, [])}** `{code.id}` · {n} codings", unsafe_allow_html=True
            )

st.subheader("Code report")
code_id = st.selectbox(
    "Code", codebook.code_ids, key="cb_code", format_func=lambda c: f"{c} — {codebook.code(c).label}"
)
code = codebook.code(code_id)
st.markdown(code_markdown(code))
mine = codings[codings["code"] == code_id]
by_coder = mine.groupby("coder").size().rename("codings").reset_index()
st.markdown(f"**{len(mine)} codings** by {len(by_coder)} coder(s)")
if len(by_coder):
    st.dataframe(by_coder, hide_index=True)
quotes = mine[["document", "speaker", "coder", "start", "end", "quote"]]
st.dataframe(quotes, hide_index=True, width="stretch")
report = (
    code_markdown(code)
    + "\n## Coded quotes\n\n"
    + "\n".join(
        f'- {q.document} ({q.speaker or "—"}, {q.coder}, {q.start}-{q.end}): "{q.quote}"'
        for q in quotes.itertuples()
    )
)
st.download_button("Download code report (Markdown)", report, file_name=f"{code_id}.md", mime="text/markdown")
