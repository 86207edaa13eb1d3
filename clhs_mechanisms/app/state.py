"""What every page shares: the open project, the coder's identity, safe highlighting.

State lives in the project store, not in the browser: pages read fresh data on every
run, so two reviewers see each other's work and never overwrite it silently.
"""

from __future__ import annotations

import html
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

import streamlit as st

from ..errors import ClhsError
from ..markdown import escape_html, escape_markdown
from ..store import Project

if TYPE_CHECKING:
    import pandas as pd


def project_dir() -> str:
    """``streamlit run app.py -- --project DIR``, else $CLHS_PROJECT, else the current directory."""
    args = sys.argv[1:]
    for i, arg in enumerate(args):
        if arg == "--project" and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("--project="):
            return arg.split("=", 1)[1]
    return os.environ.get("CLHS_PROJECT") or "."


@st.cache_resource(show_spinner=False)
def _open(path: str) -> Project:
    return Project.open(path)


def project() -> Project:
    """The open project; a clear message (not a traceback) if it cannot be opened."""
    path = project_dir()
    try:
        return _open(path)
    except ClhsError as exc:
        st.error(f"Cannot open the project: {escape_markdown(str(exc))}")
        st.info(
            "Start the app with `clhs app --project DIR` (or set CLHS_PROJECT) on a folder made by "
            "`clhs init` or `clhs demo`."
        )
        st.stop()


def coder() -> str | None:
    return st.session_state.get("coder") or None


def require_coder() -> str:
    """The current coder; stops the page with a prompt if nobody is chosen yet."""
    name = coder()
    if not name:
        st.warning(
            "Choose who you are in the sidebar before coding: every decision, coding and memo "
            "is recorded with its coder."
        )
        st.stop()
    return name


def sees_everything() -> bool:
    """False for a coder in a blind project who is not an adjudicator: they see their own work only."""
    p = project()
    who = coder()
    return not p.blind or (who is not None and p.coder_role(who) == "adjudicator")


def visible(df: pd.DataFrame, column: str = "coder") -> pd.DataFrame:
    """The rows of ``df`` (codings, memos) the current coder may see (see :func:`sees_everything`)."""
    return df if sees_everything() else df[df[column] == coder()]


def report_error(exc: ClhsError) -> None:
    """A library error as a message; it may quote a file name, a code or a coder's name: escaped."""
    st.error(escape_markdown(str(exc)))


def highlight(text: str, spans: Sequence[tuple[int, int, str, str]]) -> str:
    """HTML for ``text`` with ``spans`` (start, end, colour, title) marked; all text is escaped.

    Overlapping spans are split at every boundary; a piece takes the colour of the first
    span covering it and a title listing all of them. Only this function's own markup is
    unescaped, so a transcript containing ``<script>`` shows as text.
    """
    cuts = sorted({0, len(text), *[s for s, _, _, _ in spans], *[e for _, e, _, _ in spans]})
    out = []
    for a, b in zip(cuts, cuts[1:]):
        if a >= b:
            continue
        piece = escape_html(text[a:b]).replace("\n", "<br>")
        covering = [(c, t) for s, e, c, t in spans if s <= a and b <= e]
        if covering:
            title = html.escape("; ".join(dict.fromkeys(t for _, t in covering)), quote=True)
            colour = html.escape(covering[0][0], quote=True)
            out.append(
                f'<mark title="{title}" style="background:{colour}33;border-bottom:2px solid {colour};'
                f'padding:0 1px">{piece}</mark>'
            )
        else:
            out.append(piece)
    return "".join(out)


def domain_colours(project: Project) -> dict[str, str]:
    """Code id -> its domain's colour (grey where the codebook gives none)."""
    cb = project.codebook
    colours = {d.id: d.color or "#888888" for d in cb.domains}
    return {c.id: colours.get(c.domain, "#888888") for c in cb.codes}


def version() -> int:
    """The project's change counter: the last audit-log entry (every change writes one)."""
    return project().last_change()


@st.cache_data(max_entries=32, show_spinner=False)
def _frame(path: str, change: int, what: str, kwargs: tuple) -> pd.DataFrame:
    return getattr(_open(path), what)(**dict(kwargs))


def frame(what: str, **kwargs) -> pd.DataFrame:
    """``Project.<what>(**kwargs)``, read again only when the project has changed since."""
    return _frame(project_dir(), version(), what, tuple(sorted(kwargs.items())))
