"""Plain-text and Markdown interview transcripts: ``Speaker:`` turns and the layouts tools export.

Hand-typed labels (``P03:``, ``I:``/``R:``, ``I –``, ``**Emma**``), Otter.ai (``Emma  0:00`` on
its own line, then the text), Rev (``Emma (00:01:02):``), Descript (``**Emma:** [00:00:00]``
and ``[00:58:00]`` markers in the text) are read by one line parser (:mod:`.labels`);
Whisper's ``[00:43.810 --> 00:47.850]  text`` lines and Teams' downloads (a timing line, a
speaker line, the text) are timed cues and read as captions are (:mod:`.cues`).
"""

from __future__ import annotations

import html
import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

from clhs_mechanisms.corpus.captions import speaker_line_cues
from clhs_mechanisms.corpus.cues import document_from_cues
from clhs_mechanisms.corpus.formats import TEXT_FORMATS, check_format, settle_format
from clhs_mechanisms.corpus.labels import (
    Label,
    Mark,
    build_turns,
    classify_line,
    confirm_labels,
    is_footer,
    line_marks,
    without_stamps,
)
from clhs_mechanisms.corpus.model import Document, Turn
from clhs_mechanisms.corpus.text import decode_bytes, new_document, read_bytes, split_front_matter
from clhs_mechanisms.corpus.whisper import WHISPER_LINE, whisper_line_cues
from clhs_mechanisms.errors import ReaderError

MARKDOWN_EXTENSIONS = (".md", ".markdown")
_HEADING = re.compile(r" {0,3}#{1,6}(?:[ \t]|$)")
_ENTITY = re.compile(r"&(?:#\d{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z]{2,8});")
_TIMING_LINE = re.compile(r"[ \t]{0,16}[\d:.,]{4,14}[ \t]{0,16}-->[ \t]{0,16}[\d:.,]{4,14}\b.*")
_TEAMS_HEADER = re.compile(r"[^:\n]{1,80}? {3,}(?:\d{1,2}:)?\d{1,2}:\d{2}[ \t]*")


def _lines(text: str) -> Iterator[tuple[int, str]]:
    """Each line with the offset of its first character."""
    offset = 0
    for line in text.split("\n"):
        yield offset, line
        offset += len(line) + 1


def _classified(text: str, markdown: bool) -> tuple[list[tuple[int, str]], list[bool], list[Label | None]]:
    """The lines, which of them end a turn (Markdown headings, Otter's footer), and their confirmed labels."""
    lines = list(_lines(text))
    breaks = [(markdown and _HEADING.match(line) is not None) or is_footer(line) for _, line in lines]
    candidates = [None if stop else classify_line(line) for (_, line), stop in zip(lines, breaks)]
    dashes = any(label is not None and label.kind == "dash" for label in candidates)
    filled = sum(1 for _, line in lines if line.strip()) if dashes else len(lines)
    return lines, breaks, confirm_labels(candidates, lines=filled)


def _turns(
    text: str, lines: Sequence[tuple[int, str]], breaks: Sequence[bool], labels: Sequence[Label | None]
) -> list[Turn]:
    starts = [offset for offset, _ in lines]
    if any(labels):
        return build_turns(text, line_marks(starts, labels, breaks))
    marks: list[Mark] = []
    after_break = True
    for (offset, line), stop in zip(lines, breaks):
        if stop:
            marks.append(Mark(offset, None))
        elif line.strip() and after_break:
            marks.append(Mark(offset, offset))
        after_break = stop or not line.strip()
    return build_turns(text, marks)


def parse_transcript(text: str, *, markdown: bool = False) -> list[Turn]:
    """Split a transcript body into turns, without changing the text.

    A turn starts at a line with a speaker label and runs to the next label (blank and
    unlabelled lines belong to it); text before the first label is not a turn. A timestamp
    alone on a line (or opening it) starts a new turn of the same speaker. In Markdown a ``#``
    heading ends the current turn and is never one; so does Otter's "Transcribed by" footer.
    Without any label, each blank-line-separated paragraph is a turn with no speaker.
    """
    return _turns(text, *_classified(text, markdown))


def strip_markers(text: str, *, markdown: bool) -> tuple[str, int]:
    """The text without what is not speech: ``[00:58:00]`` markers inside what is said (Descript
    writes them mid-sentence; a label's own timestamp stays, it is the turn's time) and, in
    Markdown, HTML entities (``we&#39;re``). Returns the text and the number of markers dropped;
    a text without either is returned as it is."""
    if markdown and "&" in text and _ENTITY.search(text):
        text = html.unescape(text)
    if "[" not in text:
        return text, 0
    out, dropped = [], 0
    for line in text.split("\n"):
        if "[" in line:
            label = classify_line(line)
            line, count = without_stamps(line, label.end if label is not None else 0)
            dropped += count
        out.append(line)
    return "\n".join(out) if dropped else text, dropped


def detect_layout(
    lines: Sequence[tuple[int, str]], labels: Sequence[Label | None], breaks: Sequence[bool], markers: int
) -> str:
    """The tool whose layout the text has, for the user to see (the parser reads them all alike):
    Otter's or Teams' ``Name  0:00`` lines (Teams puts three blanks or "started transcription"),
    Descript's ``Name: [00:00:00]`` or its markers, Rev's ``Name (00:01):``."""
    found = [(line, label) for (_, line), label in zip(lines, labels) if label is not None]
    if any(label.kind == "header" for _, label in found):
        teams = any(_TEAMS_HEADER.fullmatch(line) for line, label in found if label.kind == "header")
        return "teams" if teams or any("started transcription" in line for _, line in lines[:20]) else "otter"
    if any(stop and "otter.ai" in line.lower() for (_, line), stop in zip(lines, breaks)):
        return "otter"
    tied = [line[: label.end].rstrip() for line, label in found if label.kind == "colon" and label.tied]
    if markers or sum(head.endswith("]") for head in tied) >= 2:
        return "descript"
    return "rev" if sum(head.endswith("):") for head in tied) >= 2 else "plain"


def _timed_layout(text: str) -> str | None:
    """The timed layout ``text`` has ("whisper", "teams"), if it is made of timed cues rather than
    labelled lines: two timing lines or more, and at least half (Whisper) or a fifth (Teams) of the
    first lines."""
    lines = [line for line in text[:50_000].split("\n") if line.strip()][:400]
    whisper = sum(1 for line in lines if "-->" in line and WHISPER_LINE.match(line))
    if whisper >= 2 and whisper * 2 >= len(lines):
        return "whisper"
    timings = sum(1 for line in lines if "-->" in line and _TIMING_LINE.fullmatch(line))
    return "teams" if timings >= 2 and timings * 5 >= len(lines) else None


def _timed_document(
    path: Path, data: bytes, text: str, body: str, layout: str, *, kind: str, **extra
) -> Document:
    """A Whisper or Teams text transcript, read as timed cues (line numbers count from the file's top)."""
    padded = "\n" * text[: len(text) - len(body)].count("\n") + body
    cues = (
        whisper_line_cues(padded, str(path)) if layout == "whisper" else speaker_line_cues(padded, str(path))
    )
    return document_from_cues(path, data, cues, kind=kind, **extra)


def read_transcript(
    path: str | os.PathLike[str], *, kind: str = "interview", format: str | None = None
) -> Document:
    """Read a ``.txt`` or ``.md`` transcript; YAML front matter becomes document attributes.

    The layout is detected (see :mod:`.formats`; ``format`` forces one of
    :data:`~.formats.TEXT_FORMATS`) and reported in ``Document.warnings``. Timed layouts
    (Whisper, Teams) are rebuilt as captions are, one ``Speaker: text`` line per turn; other
    text is kept as written, except for markers and entities (:func:`strip_markers`).
    """
    path = Path(path)
    forced = check_format(format, str(path))
    data = read_bytes(path)
    text, warnings = decode_bytes(data, str(path))
    attributes, body = split_front_matter(text, str(path))
    if not body.strip():
        raise ReaderError("no transcript text after the front matter", where=str(path))
    timed = _timed_layout(body)
    if forced == "teams" or (timed is not None and forced in (None, timed)):
        _, notes = settle_format(forced, timed or "plain", TEXT_FORMATS, "text transcripts")
        layout = forced or timed or "teams"
        return _timed_document(
            path, data, text, body, layout, kind=kind, warnings=[*warnings, *notes], attributes=attributes
        )
    markdown = path.suffix.lower() in MARKDOWN_EXTENSIONS
    body, markers = strip_markers(body, markdown=markdown)
    lines, breaks, labels = _classified(body, markdown)
    turns = _turns(body, lines, breaks, labels)
    _, notes = settle_format(
        forced, detect_layout(lines, labels, breaks, markers), TEXT_FORMATS, "text transcripts"
    )
    warnings += notes
    if not turns and any(label is not None and label.kind == "time" for label in labels):
        raise ReaderError("no text: the file holds only timestamps", where=str(path))
    if turns and all(turn.speaker is None for turn in turns):
        unit = "timestamp starts" if any(labels) else "paragraph is"
        warnings.append(f"no speaker labels found: each {unit} a turn without a speaker")
    if not turns:  # said, not silent: a title and labels with nothing after them leave nothing to code
        warnings.append("no turns: nothing in this file is what a speaker said, so nothing can be coded")
    return new_document(
        path, data, kind=kind, text=body, turns=turns, attributes=attributes, warnings=warnings
    )
