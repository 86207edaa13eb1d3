"""Word (.docx) transcripts: bold or ``Label:`` speakers, and the layouts tools export to Word.

Otter and Teams write ``Name  0:03`` lines before each turn, Rev ``Name (00:01):``; typists use
bold names, ``Label:`` and ``I –`` labels. Lines are read as :mod:`.transcript` reads text
(see :func:`.labels.classify_line`), with a paragraph's bold opening as one more kind of label.
"""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import docx
from docx.opc.exceptions import PackageNotFoundError
from docx.text.paragraph import Paragraph
from docx.text.run import Run
from lxml.etree import XMLSyntaxError

from clhs_mechanisms.corpus.formats import check_format, settle_format
from clhs_mechanisms.corpus.labels import (
    Label,
    Mark,
    build_turns,
    classify_line,
    confirm_labels,
    is_footer,
    line_marks,
    match_label,
    stamp_at,
    without_stamps,
)
from clhs_mechanisms.corpus.model import Document
from clhs_mechanisms.corpus.text import check_zip, new_document, normalise, read_bytes
from clhs_mechanisms.corpus.transcript import detect_layout
from clhs_mechanisms.errors import ReaderError

_NOT_WORD = "a Word document"
DOCX_FORMATS: tuple[str, ...] = ("teams", "otter", "descript", "rev", "plain")


def _is_bold(run: Run) -> bool:
    """Bold set on the run itself or through its character style (e.g. "Strong")."""
    if run.bold is not None:
        return run.bold
    return bool(run.style is not None and run.style.font.bold)


def _bold_prefix(paragraph: Paragraph) -> str:
    """The text of the bold runs that open the paragraph."""
    prefix = []
    for item in paragraph.iter_inner_content():
        if not isinstance(item, Run) or (item.text and not _is_bold(item)):
            break
        prefix.append(item.text)
    return normalise("".join(prefix))


def _bold_label(text: str, bold: str) -> Label | None:
    """A label made of the paragraph's bold opening, its colon inside or right after it, and a
    bracketed timestamp after it ("**Emma** [0:00] text") as its time."""
    if not bold.strip() or not text.startswith(bold):
        return None
    after = text[len(bold) :]
    if bold.rstrip().endswith(":"):
        label_text, end = bold.rstrip(), len(bold)
    elif after.lstrip().startswith(":"):
        label_text, end = bold.rstrip() + ":", len(text) - len(after.lstrip()) + 1
    else:
        label_text, end = bold.rstrip() + ":", len(bold)
    label = match_label(label_text)
    if label is None or label.end != len(label_text):
        return None
    stamp = stamp_at(text, end)
    if stamp is not None:
        return Label(label.name, stamp[0], stamp[1], tied=True)
    return Label(label.name, label.seconds, end)


def _open(path: Path, data: bytes) -> docx.document.Document:
    check_zip(data, "word/document.xml", what=_NOT_WORD, where=str(path))
    try:
        return docx.Document(io.BytesIO(data))
    except (
        PackageNotFoundError,
        zipfile.BadZipFile,
        KeyError,
        ValueError,
        XMLSyntaxError,
        AttributeError,
        TypeError,
    ) as error:  # parts in the wrong place (python-docx meets an element it does not expect)
        raise ReaderError(f"not {_NOT_WORD} ({error})", where=str(path)) from error


def _lines(paragraphs: list[Paragraph]) -> tuple[list[str], list[str | None]]:
    """The document's lines (a paragraph may hold line breaks) and each paragraph's bold opening,
    given on its first line (None on the others)."""
    lines: list[str] = []
    bolds: list[str | None] = []
    for paragraph in paragraphs:
        parts = normalise(paragraph.text).split("\n")
        lines += parts
        bolds += [_bold_prefix(paragraph), *[None] * (len(parts) - 1)]
    return lines, bolds


def read_docx(
    path: str | os.PathLike[str], *, kind: str = "interview", format: str | None = None
) -> Document:
    """Read a Word transcript: paragraphs joined by ``\\n``, turns at labelled lines.

    A paragraph starts a turn if its opening bold run(s) form a label (``**P03**:``,
    ``**Interviewer:**``, bold without a colon) or a line starts with a label of any layout
    :func:`.labels.classify_line` knows; the lines after it belong to that speaker. A title
    before the first label is not a turn; without any label every paragraph is a turn without
    a speaker. ``[00:58:00]`` markers in what is said are dropped. Tables, headers and document
    properties are not read.
    """
    path = Path(path)
    forced = check_format(format, str(path))
    data = read_bytes(path)
    word = _open(path, data)
    try:
        lines, bolds = _lines(word.paragraphs)
    except (AttributeError, TypeError, KeyError, ValueError) as error:  # python-docx meets damaged styles
        raise ReaderError(f"not {_NOT_WORD} (a damaged part: {error})", where=str(path)) from error
    if not any(line.strip() for line in lines):
        raise ReaderError("empty document (no paragraph text)", where=str(path))
    breaks = [is_footer(line) for line in lines]
    candidates = [
        None if stop else (_bold_label(line, bold) if bold else None) or classify_line(line)
        for line, bold, stop in zip(lines, bolds, breaks)
    ]
    labels = confirm_labels(candidates, lines=sum(1 for line in lines if line.strip()))
    markers = 0
    for index, line in enumerate(lines):
        if "[" in line:
            label = labels[index] or candidates[index]
            lines[index], count = without_stamps(line, label.end if label is not None else 0)
            markers += count
    starts, offset = [], 0
    for line in lines:
        starts.append(offset)
        offset += len(line) + 1
    if any(labels):
        marks = line_marks(starts, labels, breaks)
    else:
        marks = [
            Mark(start, None if stop else start)
            for start, bold, stop in zip(starts, bolds, breaks)
            if bold is not None
        ]
    text = "\n".join(lines)
    _, warnings = settle_format(
        forced,
        detect_layout(list(zip(starts, lines)), labels, breaks, markers),
        DOCX_FORMATS,
        "Word documents",
    )
    if word.tables:
        warnings.append(f"{len(word.tables)} table(s) ignored: only paragraph text is read")
    return new_document(path, data, kind=kind, text=text, turns=build_turns(text, marks), warnings=warnings)
