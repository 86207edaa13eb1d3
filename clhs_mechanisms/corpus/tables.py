"""Literature excerpts from CSV/TSV or Excel tables: one row, one excerpt (a Turn)."""

from __future__ import annotations

import csv
import datetime
import io
import os
import re
import zipfile
from dataclasses import dataclass
from xml.etree import ElementTree
from pathlib import Path
from typing import Iterable

import openpyxl
from lxml import etree
from openpyxl.utils import get_column_letter, range_boundaries
from openpyxl.utils.exceptions import InvalidFileException

from clhs_mechanisms.corpus.model import Document, Turn
from clhs_mechanisms.corpus.text import check_zip, decode_bytes, new_document, normalise, read_bytes
from clhs_mechanisms.errors import ReaderError

DELIMITERS = (",", ";", "\t")
ID_COLUMNS = ("excerpt_id", "id")
_ET_AL = re.compile(r"\bet al\b\.?", re.IGNORECASE)
_SHEET_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
MAX_ROWS = 200_000  # rows of an Excel sheet of excerpts (a literature review has hundreds)


@dataclass(frozen=True)
class Table:
    """A table's column names and its rows as (row number in the file, non-empty cells)."""

    columns: tuple[str, ...]
    rows: tuple[tuple[int, dict[str, str]], ...]

    def column(self, name: str) -> str | None:
        """The column called ``name``, ignoring case, as it is spelled in the file."""
        return next((column for column in self.columns if column.casefold() == name.casefold()), None)

    def require(self, name: str, where: str) -> str:
        """Like ``column`` but a missing column is a ReaderError listing the columns found."""
        column = self.column(name)
        if column is None:
            raise ReaderError(f"no '{name}' column (found: {', '.join(self.columns)})", where=where)
        return column


def _table(rows: Iterable[tuple[int, list[str]]], where: str) -> Table:
    """Header = first non-blank row; blank rows are dropped; cells are stripped.

    Cells of a row are text already normalised (see ``normalise``); a header cell left
    empty names its column "column N".
    """
    header: list[str] | None = None
    records = []
    for number, cells in rows:
        cells = [cell.strip() for cell in cells]
        if not any(cells):
            continue
        if header is None:
            while not cells[-1]:
                cells.pop()
            header = [cell or f"column {index}" for index, cell in enumerate(cells, 1)]
            seen = set()
            for column in header:
                if column.casefold() in seen:
                    raise ReaderError(
                        f"duplicate column '{column}' (column names ignore case)", where=f"{where}:{number}"
                    )
                seen.add(column.casefold())
            continue
        if any(cells[len(header) :]):
            raise ReaderError(
                f"{len(cells)} cells but the header has {len(header)} columns", where=f"{where}:{number}"
            )
        records.append((number, {column: cell for column, cell in zip(header, cells) if cell}))
    if header is None:
        raise ReaderError("empty table", where=where)
    return Table(tuple(header), tuple(records))


def read_csv_table(data: bytes, where: str, *, delimiter: str | None = None) -> tuple[Table, list[str]]:
    """Parse CSV bytes into a Table (and decoding warnings); row numbers are line numbers.

    Without ``delimiter``, the one of ``,`` ``;`` tab that the header line uses most is taken
    (Excel writes ``;`` in many locales).
    """
    text, warnings = decode_bytes(data, where)
    if delimiter is None:
        header_line = text.lstrip("\n").split("\n", 1)[0]
        delimiter = max(DELIMITERS, key=header_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)

    def numbered() -> Iterable[tuple[int, list[str]]]:
        line = 1
        try:
            for cells in reader:
                yield line, cells
                line = reader.line_num + 1
        except csv.Error as error:
            raise ReaderError(f"malformed CSV: {error}", where=f"{where}:{reader.line_num}") from error

    return _table(numbered(), where), warnings


def _cell(value: object) -> str:
    """An Excel cell as text: 2023.0 -> "2023", dates without time -> "2024-03-12"."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime.datetime) and value.time() == datetime.time():
        return value.date().isoformat()
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    return normalise(str(value))


def _workbook(data: bytes, where: str, *, data_only: bool):
    try:
        return openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=data_only)
    except (
        InvalidFileException,
        zipfile.BadZipFile,
        KeyError,
        ValueError,
        TypeError,
        AttributeError,
        IndexError,
        ElementTree.ParseError,
        etree.XMLSyntaxError,
        EOFError,
        OSError,
    ) as error:  # damaged workbook XML
        raise ReaderError(f"not a readable Excel workbook ({error})", where=where) from error


def _merged_ranges(data: bytes, worksheet) -> list[tuple[str, int, int, int, int]]:
    """The sheet's merged cells as (ref, min_row, min_col, max_row, max_col), read from its XML: the
    read-only worksheet openpyxl streams does not parse them."""
    ranges = []
    with zipfile.ZipFile(io.BytesIO(data)) as package, package.open(worksheet._worksheet_path) as xml:
        for _, element in etree.iterparse(
            xml, tag=f"{{{_SHEET_NS}}}mergeCell", resolve_entities=False, no_network=True
        ):
            ref = element.get("ref", "")
            if ":" in ref:
                min_col, min_row, max_col, max_row = range_boundaries(ref)
                ranges.append((ref, min_row, min_col, max_row, max_col))
            element.clear()
    return ranges


def read_xlsx_table(data: bytes, where: str, *, sheet: str | None = None) -> tuple[Table, list[str]]:
    """Parse an .xlsx workbook's first sheet (or ``sheet``) into a Table (rows are Excel rows) and
    warnings. Nothing changes silently: a formula whose result was never saved (a file written by a
    program, not by Excel) is named with its cell, and a merged cell's value fills every cell of the
    merge, as a reader of the sheet sees it, with a warning naming the range."""
    check_zip(data, "xl/workbook.xml", what="an Excel workbook", where=where)
    workbook = _workbook(data, where, data_only=True)
    formulas = _workbook(data, where, data_only=False)
    try:
        return _sheet_table(data, where, workbook, formulas, sheet)
    except ReaderError:
        raise
    except (
        ElementTree.ParseError,
        etree.XMLSyntaxError,
        KeyError,
        ValueError,
        TypeError,
        IndexError,
        AttributeError,
        zipfile.BadZipFile,
        EOFError,
        OSError,
    ) as error:  # a damaged sheet's XML
        raise ReaderError(f"not a readable Excel workbook (a damaged sheet: {error})", where=where) from None
    finally:
        workbook.close()
        formulas.close()


def _sheet_table(data: bytes, where: str, workbook, formulas, sheet: str | None) -> tuple[Table, list[str]]:
    if sheet is not None and sheet not in workbook.sheetnames:
        raise ReaderError(f"no sheet '{sheet}' (found: {', '.join(workbook.sheetnames)})", where=where)
    worksheet = workbook[sheet] if sheet is not None else workbook.worksheets[0]
    too_many = f"too many rows for a table of excerpts (the limit is {MAX_ROWS:,})"
    if (worksheet.max_row or 0) > MAX_ROWS:  # what the sheet declares: refused before any row is built
        raise ReaderError(f"{too_many}: the sheet declares {worksheet.max_row:,}", where=where)
    grid = []
    for values in worksheet.iter_rows(values_only=True):
        grid.append(list(values))
        if len(grid) > MAX_ROWS:
            raise ReaderError(too_many, where=where)
    warnings = []
    for number, (values, written) in enumerate(
        zip(grid, formulas[worksheet.title].iter_rows(values_only=True)), 1
    ):
        for column, (value, formula) in enumerate(zip(values, written), 1):
            if value is None and isinstance(formula, str) and formula.startswith("="):
                warnings.append(
                    f"row {number}: cell {get_column_letter(column)}{number} holds a formula "
                    f"({formula[:60]}) without a saved result, read as empty; open and save "
                    "the file in Excel to store its results"
                )
    width = max(map(len, grid), default=0)
    for ref, min_row, min_col, max_row, max_col in _merged_ranges(data, worksheet):
        if min_row > len(grid) or min_col > len(grid[min_row - 1]) or grid[min_row - 1][min_col - 1] is None:
            continue
        max_row, max_col = min(max_row, len(grid)), min(max_col, width)  # a merge over a whole sheet
        value = grid[min_row - 1][min_col - 1]
        for row in grid[min_row - 1 : max_row]:
            row.extend([None] * (max_col - len(row)))
            row[min_col - 1 : max_col] = [value] * (max_col - min_col + 1)
        warnings.append(f"row {min_row}: cells {ref} are merged; their value is used in each of them")
    warnings.sort(key=lambda warning: int(warning[4 : warning.index(":")]))  # "row N: ...", by row
    return _table(
        ((number, [_cell(value) for value in values]) for number, values in enumerate(grid, 1)), where
    ), warnings


def _is_initials(text: str) -> bool:
    """ "A.", "AB", "J.-P.", "ØD": up to four capitals, dots and hyphens."""
    letters = re.sub(r"[.\-\s]", "", text)
    return 0 < len(letters) <= 4 and letters.isalpha() and letters.isupper()


def _surname(author: str) -> str:
    words = author.split()
    if len(words) > 1 and _is_initials(words[-1]):  # "Okafor AB", "van der Berg J"
        return " ".join(words[:-1])
    return words[-1]  # "Ada Okafor"


def citation(authors: str, year: str | None) -> str | None:
    """A short citation such as "Okafor & Lindqvist (2023)" or "Okafor et al. (2023)".

    Authors may be ``;``-separated "Surname, Given" or separated by ``,``/``&``/``and``
    with initials after the surname; None when no surname is found.
    """
    et_al = _ET_AL.search(authors) is not None
    authors = _ET_AL.sub("", authors)
    if ";" in authors:
        pieces = [piece.split(",")[0] for piece in authors.split(";")]
    else:
        pieces = []
        for piece in re.split(r",|&|\band\b", authors):
            if not pieces or not _is_initials(piece):  # "Okafor, A." -> initials follow a surname
                pieces.append(piece)
    names = [_surname(piece) for piece in pieces if piece.strip()]
    if not names:
        return None
    if et_al or len(names) > 2:
        who = f"{names[0]} et al."
    else:
        who = " & ".join(names)
    return f"{who} ({year or 'n.d.'})"


def read_table(
    path: str | os.PathLike[str],
    *,
    text_column: str = "text",
    id_column: str | None = None,
    kind: str = "literature",
    sheet: str | None = None,
) -> Document:
    """Read a .csv/.tsv/.xlsx table of excerpts; each row with text becomes one Turn.

    The document text is the excerpts separated by blank lines. A turn's attributes are
    the row's other non-empty cells plus ``id`` (from ``id_column``, by default the first
    of excerpt_id/id present, else the row number); its speaker is a short citation from
    ``authors`` + ``year`` when they are there, else the row id. Column names ignore case.
    """
    path = Path(path)
    where = str(path)
    data = read_bytes(path)
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        table, warnings = read_xlsx_table(data, where, sheet=sheet)
    elif suffix in (".csv", ".tsv"):
        table, warnings = read_csv_table(data, where, delimiter="\t" if suffix == ".tsv" else None)
    else:
        raise ReaderError(f"not a table file '{suffix}' (expected .csv, .tsv or .xlsx)", where=where)
    text_key = table.require(text_column, where)
    id_key = (
        table.require(id_column, where)
        if id_column
        else next(filter(None, map(table.column, ID_COLUMNS)), None)
    )
    authors_key, year_key = table.column("authors") or table.column("author"), table.column("year")
    excerpts: list[str] = []
    turns: list[Turn] = []
    offset = 0
    for number, cells in table.rows:
        excerpt = cells.get(text_key, "")
        if not excerpt:
            warnings.append(f"row {number}: no text in column '{text_key}', skipped")
            continue
        row_id = (cells.get(id_key, "") if id_key else "") or str(number)
        attributes = {
            column: value
            for column, value in cells.items()
            if column != text_key and column.casefold() != "id"
        }
        attributes["id"] = row_id
        speaker = citation(cells[authors_key], cells.get(year_key or "")) if authors_key in cells else None
        turns.append(Turn(offset, offset + len(excerpt), speaker=speaker or row_id, attributes=attributes))
        excerpts.append(excerpt)
        offset += len(excerpt) + 2
    if not turns:
        raise ReaderError(f"no rows with text in column '{text_key}'", where=where)
    return new_document(path, data, kind=kind, text="\n\n".join(excerpts), turns=turns, warnings=warnings)
