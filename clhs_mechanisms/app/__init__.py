"""The review app: Streamlit pages over the project store (``streamlit run app.py``)."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from ..errors import ClhsError
from . import state

PAGES = Path(__file__).parent / "pages"


def main() -> None:
    """Entry point: page config, the project, the coder identity, then the chosen page."""
    st.set_page_config(page_title="clhs-mechanisms", page_icon=":material/hub:", layout="wide")
    project = state.project()
    with st.sidebar:
        st.caption(f"Project: `{project.directory}`")
        known = sorted(project.coders().query("kind == 'human'")["name"])
        choice = st.selectbox(
            "Coder", ["(new coder)", *known], index=None, key="coder_choice", placeholder="Who are you?"
        )
        if choice == "(new coder)":
            name = st.text_input("Your name or initials", key="coder_new").strip()
            st.session_state["coder"] = name or None
        elif choice:
            st.session_state["coder"] = choice
        if state.coder():
            st.success(f"Coding as **{state.coder()}**")
    pages = [
        st.Page(PAGES / "review.py", title="Review", icon=":material/rule:", default=True),
        st.Page(PAGES / "documents.py", title="Documents", icon=":material/description:"),
        st.Page(PAGES / "codebook.py", title="Codebook", icon=":material/account_tree:"),
        st.Page(PAGES / "cooccurrence.py", title="Co-occurrence", icon=":material/grid_on:"),
        st.Page(PAGES / "agreement.py", title="Agreement", icon=":material/handshake:"),
        st.Page(PAGES / "export.py", title="Export", icon=":material/download:"),
    ]
    page = st.navigation(pages)
    try:
        page.run()
    except ClhsError as exc:  # e.g. the database is locked by another process: a message, not a traceback
        st.error(str(exc))
