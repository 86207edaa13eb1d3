"""The review app: Streamlit pages over the project store (``streamlit run app.py``)."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from ..errors import ClhsError
from ..markdown import escape_markdown
from . import identity, state

PAGES = Path(__file__).parent / "views"  # not "pages": Streamlit would run a file there without main()


def main() -> None:
    """Entry point: page config, the project, the coder identity, then the chosen page."""
    # no page or page icons: a Material icon as the favicon is fetched from fonts.gstatic.com, a
    # request a local app holding confidential transcripts must not make
    st.set_page_config(page_title="clhs-mechanisms", layout="wide")
    project = state.project()
    with st.sidebar:
        st.caption(f"Project: {escape_markdown(str(project.directory))}")
        identity.sidebar(project)
        if project.blind:
            st.caption(
                "Blind coding: you see only your own codings and memos"
                + (" (you are an adjudicator: you see everyone's)." if state.sees_everything() else ".")
            )
    if identity.team_mode() and not state.coder():
        st.info("Sign in (in the sidebar) to open the project.")
        st.stop()
    pages = [
        st.Page(PAGES / "review.py", title="Review", default=True),
        st.Page(PAGES / "documents.py", title="Documents"),
        st.Page(PAGES / "codebook.py", title="Codebook"),
        st.Page(PAGES / "cooccurrence.py", title="Co-occurrence"),
        st.Page(PAGES / "mechanisms.py", title="Mechanism map"),
        st.Page(PAGES / "agreement.py", title="Agreement"),
        st.Page(PAGES / "export.py", title="Export"),
    ]
    page = st.navigation(pages)
    try:
        page.run()
    except ClhsError as exc:  # e.g. the database is locked by another process: a message, not a traceback
        st.error(str(exc))
