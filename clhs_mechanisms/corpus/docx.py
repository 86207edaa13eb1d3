"""Word (.docx) transcripts, where speaker labels are usually bold or ``Label:`` text."""

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

from clhs_mechanisms.corpus.labels import Label, Mark, build_turns, confirm_labels, match_label
from clhs_mechanisms.corpus.model import Document
from clhs_mechanisms.corpus.text import check_zip, new_document, normalise, read_bytes
from clhs_mechanisms.errors import ReaderError

_NOT_WORD = "a Word document"


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
    """A label made of the paragraph's bold opening, its colon inside or right after it."""
    if not bold.strip() or not text.startswith(bold):
        return None
    after = text[len(bold):]
    if bold.rstrip().endswith(":"):
        label_text, end = bold.rstrip(), len(bold)
    elif after.lstrip().startswith(":"):
        label_text, end = bold.rstrip() + ":", len(text) - len(after.lstrip()) + 1
    else:
        label_text, end = bold.rstrip() + ":", len(bold)
    label = match_label(label_text)
    if label is None or label.end != len(label_text):
        return None
    return Label(label.name, label.seconds, end)


def read_docx(path: str | os.PathLike[str], *, kind: str = "interview") -> Document:
    """Read a Word transcript: paragraphs joined by ``\\n``, turns at labelled paragraphs.

    A paragraph starts a turn if its opening bold run(s) form a label (``**P03**:``,
    ``**Interviewer:**``, bold without a colon) or it starts with a plain ``Label:``;
    the paragraphs after it belong to that speaker. A title before the first label is
    not a turn; without any label every paragraph is a turn without a speaker. Tables,
    headers and document properties are not read.
    """
    path = Path(path)
    data = read_bytes(path)
    check_zip(data, "word/document.xml", what=_NOT_WORD, where=str(path))
    try:
        word = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError, XMLSyntaxError) as error:
        raise ReaderError(f"not {_NOT_WORD} ({error})", where=str(path)) from error
    paragraphs = word.paragraphs
    texts = [normalise(paragraph.text) for paragraph in paragraphs]
    if not any(text.strip() for text in texts):
        raise ReaderError("empty document (no paragraph text)", where=str(path))
    labels = confirm_labels([
        _bold_label(text, _bold_prefix(paragraph)) or match_label(text)
        for paragraph, text in zip(paragraphs, texts)
    ])
    starts = []
    offset = 0
    for text in texts:
        starts.append(offset)
        offset += len(text) + 1
    if any(labels):
        marks = [
            Mark(start, start + label.end, label.name, label.seconds)
            for start, label in zip(starts, labels)
            if label is not None
        ]
    else:
        marks = [Mark(start, start) for start in starts]
    text = "\n".join(texts)
    warnings = [f"{len(word.tables)} table(s) ignored: only paragraph text is read"] if word.tables else []
    return new_document(path, data, kind=kind, text=text, turns=build_turns(text, marks), warnings=warnings)
