"""Code by selecting text: a transcript's turns with their codings, reporting the reader's selection.

A Streamlit custom component (``st.components.v2``: HTML, CSS and JavaScript inline, no build step,
nothing fetched). Coded spans are tinted and underlined in one colour per code, one underline per
coding where codings overlap; each turn has its codes' labels in a margin column and their domains'
colours as a stripe. Selecting text (inside one turn, across its segments too) sends the selection to
Python, which checks it (:func:`model.resolve_selection`) and keeps it until the next selection.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import streamlit as st
from streamlit.components.v2 import component

from ....markdown import escape_markdown
from .model import SelectionError, Turn, layout, resolve_selection, selection_fits, turns_from_segments

if TYPE_CHECKING:
    import pandas as pd

    from ....codebook import Codebook

__all__ = ["Turn", "clear_selection", "coding_view", "turns_from_segments"]

_HERE = Path(__file__).parent
_mount = component(
    "clhs_coding_view",
    js=(_HERE / "main.js").read_text(encoding="utf-8"),
    css=(_HERE / "style.css").read_text(encoding="utf-8"),
)


def _selection_key(key: str) -> str:
    return f"{key}:selection"


def _message_key(key: str) -> str:
    return f"{key}:message"


def _on_select(key: str, turns: Sequence[Turn]) -> None:
    """Before the run a selection starts: keep it if it can be coded, else keep a message instead."""
    try:
        st.session_state[_selection_key(key)] = resolve_selection(st.session_state[key].get("select"), turns)
    except SelectionError as exc:
        st.session_state[_message_key(key)] = str(exc)


def coding_view(
    turns: Sequence[Turn],
    codings: pd.DataFrame | None,
    codebook: Codebook,
    *,
    suggestions: pd.DataFrame | None = None,
    show_suggestions: bool = True,
    key: str,
) -> dict | None:
    """Show ``turns`` with ``codings`` (and ``suggestions`` unless hidden); return the selection.

    ``codings``: rows with start, end (document offsets), code and coder, e.g. ``Project.codings()``
    for one document; ``suggestions``: rows with start, end, code and score. The selection is
    ``{"turn", "start", "end", "text"}`` in document offsets (code points, end-exclusive), kept across
    reruns until the reader selects again or :func:`clear_selection`; None if there is none. A
    selection that cannot be coded (no characters, across turns, ...) shows a message and leaves the
    kept one as it was.
    """
    turns = list(turns)
    selection = st.session_state.get(_selection_key(key))
    if selection is not None and not selection_fits(selection, turns):
        selection = None
        clear_selection(key)
    message = st.session_state.pop(_message_key(key), None)
    if message:
        st.warning(escape_markdown(message))
    data = layout(turns, codebook, codings, suggestions if show_suggestions else None, selection)
    _mount(key=key, data=data, on_select_change=partial(_on_select, key, turns))
    return selection


def clear_selection(key: str) -> None:
    """Forget the selection kept for the view ``key`` (e.g. once it has been coded)."""
    st.session_state.pop(_selection_key(key), None)
