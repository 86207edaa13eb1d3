"""Codings as tidy tables (one row per coding), written atomically as CSV or Excel."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..modifiers import modifiers_of
from ..store import Project
from .files import atomic_path

CODING_COLUMNS = [
    "coding_id",
    "document",
    "kind",
    "case",
    "speaker",
    "code",
    "code_label",
    "domain",
    "coder",
    "coder_kind",
    "start",
    "end",
    "quote",
    "memo",
    "origin",
    "created_at",
]
MEMO_SEPARATOR = "\n---\n"


def coding_memos(project: Project) -> dict[str, str]:
    """Coding id -> the text of its memos, oldest first, joined by a ``---`` line."""
    memos = project.memos()
    memos = memos[memos["target_type"] == "coding"]
    out: dict[str, list[str]] = {}
    for row in memos.itertuples():
        out.setdefault(row.target_id, []).append(row.text)
    return {k: MEMO_SEPARATOR.join(v) for k, v in out.items()}


def modifier_columns(project: Project) -> dict[str, str]:
    """Modifier id -> its column in the codings table: the codebook's modifiers, then any other a
    coding carries; named by the id (``valence``), or ``modifier_<id>`` if a coding column has it."""
    ids = list(modifiers_of(project.codebook))
    ids += sorted({k for m in project.coding_modifiers().values() for k in m} - set(ids))
    return {m: f"modifier_{m}" if m in CODING_COLUMNS or m == "span" else m for m in ids}


def codings_table(project: Project) -> pd.DataFrame:
    """One row per active coding, with its memos, one column per modifier (the value, empty when
    unset) and document attributes as ``attr_<name>`` columns.

    Spans are Unicode code points, end-exclusive: ``quote == document_text[start:end]``.
    """
    df = project.codings().rename(columns={"id": "coding_id"})
    memos = coding_memos(project)
    df["memo"] = [memos.get(i, "") for i in df["coding_id"]]
    columns = modifier_columns(project)
    mods = pd.DataFrame(
        {col: [m.get(key, "") for m in df["modifiers"]] for key, col in columns.items()}, index=df.index
    )
    attrs = pd.DataFrame(list(df["attributes"]), index=df.index) if len(df) else pd.DataFrame(index=df.index)
    attrs = attrs.add_prefix("attr_")
    return pd.concat([df[CODING_COLUMNS], mods, attrs], axis=1)


def write_csv(table: pd.DataFrame, path: str | Path) -> None:
    """Write ``table`` as UTF-8 CSV; the file appears whole or not at all."""
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            table.to_csv(fh, index=False)
