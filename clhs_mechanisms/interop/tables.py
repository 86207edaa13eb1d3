"""Codings as tidy tables, written atomically."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd

from ..errors import ClhsError
from ..store import Project

CODING_COLUMNS = ["coding_id", "document", "kind", "case", "speaker", "code", "code_label", "domain", "coder",
                  "coder_kind", "start", "end", "quote", "origin", "created_at"]


def codings_table(project: Project) -> pd.DataFrame:
    """One row per active coding, with document attributes as ``attr_<name>`` columns."""
    df = project.codings().rename(columns={"id": "coding_id"})
    attrs = pd.DataFrame(list(df["attributes"]), index=df.index) if len(df) else pd.DataFrame(index=df.index)
    attrs = attrs.add_prefix("attr_")
    return pd.concat([df[CODING_COLUMNS], attrs], axis=1)


def write_csv(table: pd.DataFrame, path: str | Path) -> None:
    """Write ``table`` as UTF-8 CSV; the file appears whole or not at all."""
    target = Path(path)
    if target.is_dir():
        raise ClhsError("is a directory", where=str(target))
    if not target.parent.exists():
        raise ClhsError("no such directory", where=str(target.parent))
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            table.to_csv(fh, index=False)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
