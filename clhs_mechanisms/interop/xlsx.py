"""Excel workbooks: codings (one sheet of all codings, one sheet of quotes per code) and tables.

Text is always written as text: a quote that starts with ``=`` stays a quote and never
becomes a formula, and characters Excel cannot store are replaced by U+FFFD.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from ..modifiers import modifiers_of
from ..store import Project
from .files import atomic_path
from .tables import codings_table, modifier_columns

MAX_CELL = 32767  # Excel's limit on characters in a cell
TRUNCATED = " […]"
_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")
SHEET_COLUMNS = [
    "document",
    "speaker",
    "case",
    "code",
    "code_label",
    "domain",
    "coder",
    "quote",
    "span",
    "start",
    "end",
    "memo",
    "origin",
    "created_at",
    "coding_id",
]
QUOTE_COLUMNS = ["document", "speaker", "case", "coder", "quote", "span", "memo", "coding_id"]


def _cell(ws, value: object, *, bold: bool = False) -> WriteOnlyCell:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        value = None
    elif isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
        if len(value) > MAX_CELL:
            value = value[: MAX_CELL - len(TRUNCATED)] + TRUNCATED
    elif not isinstance(value, (int, float, bool)):
        value = str(value)
    cell = WriteOnlyCell(ws, value=value)
    if isinstance(value, str):
        cell.data_type = "s"  # never a formula, whatever the text starts with
    if bold:
        cell.font = Font(bold=True)
    return cell


def sheet_title(name: str, taken: set[str]) -> str:
    """A valid, unique Excel sheet name (31 characters, no []:*?/\\)."""
    base = _SHEET_BAD.sub("_", name).strip("'") or "sheet"
    title, n = base[:31], 2
    while title.lower() in taken:
        suffix = f"~{n}"
        title, n = base[: 31 - len(suffix)] + suffix, n + 1
    taken.add(title.lower())
    return title


def _write_sheet(
    wb: Workbook,
    title: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[object]],
    widths: dict[str, int] | None = None,
) -> None:
    ws = wb.create_sheet(title)
    for i, col in enumerate(columns):
        ws.column_dimensions[get_column_letter(i + 1)].width = (widths or {}).get(col, 14)
    ws.freeze_panes = "A2"
    ws.append([_cell(ws, c, bold=True) for c in columns])
    for row in rows:
        ws.append([_cell(ws, v) for v in row])


def write_tables_xlsx(sheets: dict[str, pd.DataFrame], path: str | Path, *, index: bool = False) -> None:
    """Write DataFrames as the sheets of one workbook, atomically."""
    wb = Workbook(write_only=True)
    taken: set[str] = set()
    for name, df in sheets.items():
        frame = df.reset_index() if index else df
        _write_sheet(
            wb,
            sheet_title(name, taken),
            [str(c) for c in frame.columns],
            frame.itertuples(index=False, name=None),
        )
    with atomic_path(path) as tmp:
        wb.save(tmp)


def codings_workbook(project: Project, path: str | Path) -> int:
    """Write the codings workbook; returns the number of codings.

    Sheet ``codings``: one row per coding with document, speaker, case, the document's
    attributes (``attr_*``), code, domain, coder, one column per modifier (``valence``, ...),
    quote, span (``start-end``, end-exclusive code points), memo. Sheet ``codes``: each code
    with its count and the name of its sheet. Then one sheet per code with its quotes and the
    modifiers that code takes.
    """
    table = codings_table(project)
    table["span"] = [f"{s}-{e}" for s, e in zip(table["start"], table["end"])]
    attr_cols = [c for c in table.columns if c.startswith("attr_")]
    mod_cols = modifier_columns(project)
    at = SHEET_COLUMNS.index("coder") + 1
    main_cols = (
        SHEET_COLUMNS[:3] + attr_cols + SHEET_COLUMNS[3:at] + list(mod_cols.values()) + SHEET_COLUMNS[at:]
    )
    widths = {"quote": 60, "memo": 40, "document": 22, "code": 24, "code_label": 24, "coding_id": 38}
    wb = Workbook(write_only=True)
    taken = {"codings", "codes"}
    _write_sheet(wb, "codings", main_cols, table[main_cols].itertuples(index=False, name=None), widths)
    codebook = project.codebook
    code_ids = list(codebook.code_ids) + sorted(set(table["code"]) - set(codebook.code_ids))
    labels = {c.id: (c.label, c.domain) for c in codebook.codes}
    per_code = {code: table[table["code"] == code] for code in code_ids}
    titles = {code: sheet_title(code, taken) for code in code_ids}
    _write_sheet(
        wb,
        "codes",
        ["code", "label", "domain", "codings", "sheet"],
        [
            (code, *labels.get(code, ("(retired)", "")), len(per_code[code]), titles[code])
            for code in code_ids
        ],
        {"code": 28, "label": 32, "sheet": 32},
    )
    defined = modifiers_of(codebook)
    for code in code_ids:
        rows = per_code[code]
        takes = [
            col
            for key, col in mod_cols.items()
            if (key in defined and defined[key].applies(codebook, code)) or (rows[col] != "").any()
        ]
        columns = QUOTE_COLUMNS[:4] + takes + QUOTE_COLUMNS[4:]
        _write_sheet(
            wb,
            titles[code],
            columns,
            rows[columns].itertuples(index=False, name=None),
            {"quote": 80, "memo": 40, "document": 22, "coding_id": 38},
        )
    with atomic_path(path) as tmp:
        wb.save(tmp)
    return len(table)
