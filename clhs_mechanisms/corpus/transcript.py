"""Plain-text and Markdown interview transcripts with ``Speaker:`` turns."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Iterator

from clhs_mechanisms.corpus.labels import Mark, build_turns, confirm_labels, match_label
from clhs_mechanisms.corpus.model import Document, Turn
from clhs_mechanisms.corpus.text import decode_bytes, new_document, read_bytes, split_front_matter
from clhs_mechanisms.errors import ReaderError

MARKDOWN_EXTENSIONS = (".md", ".markdown")
_HEADING = re.compile(r" {0,3}#{1,6}(?:[ \t]|$)")


def _lines(text: str) -> Iterator[tuple[int, str]]:
    """Each line with the offset of its first character."""
    offset = 0
    for line in text.split("\n"):
        yield offset, line
        offset += len(line) + 1


def parse_transcript(text: str, *, markdown: bool = False) -> list[Turn]:
    """Split a transcript body into turns.

    A turn starts at a line with a speaker label and runs to the next label (blank and
    unlabelled lines belong to it); text before the first label is not a turn. In
    Markdown a ``#`` heading ends the current turn and is never one. Without any label,
    each blank-line-separated paragraph is a turn with no speaker.
    """
    lines = list(_lines(text))
    headings = [markdown and _HEADING.match(line) is not None for _, line in lines]
    labels = confirm_labels([None if heading else match_label(line) for (_, line), heading in zip(lines, headings)])
    marks: list[Mark] = []
    if any(labels):
        for (offset, _), heading, label in zip(lines, headings, labels):
            if heading:
                marks.append(Mark(offset, None))
            elif label is not None:
                marks.append(Mark(offset, offset + label.end, label.name, label.seconds))
    else:
        after_break = True
        for (offset, line), heading in zip(lines, headings):
            if heading:
                marks.append(Mark(offset, None))
            elif line.strip() and after_break:
                marks.append(Mark(offset, offset))
            after_break = heading or not line.strip()
    return build_turns(text, marks)


def read_transcript(path: str | os.PathLike[str], *, kind: str = "interview") -> Document:
    """Read a ``.txt`` or ``.md`` transcript; YAML front matter becomes document attributes."""
    path = Path(path)
    data = read_bytes(path)
    text, warnings = decode_bytes(data, str(path))
    attributes, body = split_front_matter(text, str(path))
    if not body.strip():
        raise ReaderError("no transcript text after the front matter", where=str(path))
    turns = parse_transcript(body, markdown=path.suffix.lower() in MARKDOWN_EXTENSIONS)
    if turns and all(turn.speaker is None for turn in turns):
        warnings.append("no speaker labels found: each paragraph is a turn without a speaker")
    return new_document(path, data, kind=kind, text=body, turns=turns, attributes=attributes, warnings=warnings)
