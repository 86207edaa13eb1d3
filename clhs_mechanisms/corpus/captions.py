"""WebVTT and SRT captions (Zoom, Teams, transcription services) read as transcripts.

A small hand-written parser rather than webvtt-py: webvtt-py silently drops a cue
with a broken timestamp, reports no line numbers and leaves HTML entities encoded,
while a researcher needs "file:line: what is wrong" and every cue kept.
"""

from __future__ import annotations

import html
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from clhs_mechanisms.corpus.labels import confirm_labels, match_label
from clhs_mechanisms.corpus.model import Document, Turn
from clhs_mechanisms.corpus.text import decode_bytes, new_document, normalise, read_bytes
from clhs_mechanisms.errors import ReaderError

_HEADER = re.compile(r"WEBVTT(?:[ \t].*)?")
_SKIPPED_BLOCK = re.compile(r"(?:NOTE|STYLE|REGION)(?:\s|$)")
_TIMESTAMP = re.compile(r"(?:(\d+):)?([0-5]\d):([0-5]\d)[.,](\d{3})")
_TIMING = re.compile(r"(.*?)\s*-->\s*(\S*)")
_VOICE = re.compile(r"<v(?:\.[^\s>]*)?[ \t]+([^>]+)>")
_MARKUP = re.compile(r"<[^>]*>|\{\\[^}]*\}")  # tags such as <i>, <c.x>, <00:01.000>; SSA {\an8}


@dataclass(frozen=True)
class _Cue:
    start: float
    end: float
    voice: str | None
    text: str


def _blocks(text: str) -> Iterator[tuple[int, list[str]]]:
    """Blank-line-separated blocks, each with the line number of its first line."""
    block: list[str] = []
    first = 0
    for number, line in enumerate(text.split("\n"), 1):
        if line.strip():
            if not block:
                first = number
            block.append(line)
        elif block:
            yield first, block
            block = []
    if block:
        yield first, block


def _timestamp(token: str, where: str) -> float:
    match = _TIMESTAMP.fullmatch(token)
    if match is None:
        raise ReaderError(f"malformed timestamp '{token}' (expected hh:mm:ss.ttt)", where=where)
    hours, minutes, seconds, millis = match.groups()
    return int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds) + int(millis) / 1000


def _cues(text: str, path: str, *, webvtt: bool) -> Iterator[_Cue]:
    """The cues of a caption file, checked for well-formed, ordered timings."""
    blocks = _blocks(text)
    if webvtt:
        if not _HEADER.fullmatch(text.split("\n", 1)[0]):
            raise ReaderError("not a WebVTT file: the first line must be 'WEBVTT'", where=f"{path}:1")
        next(blocks)  # the header block
    previous_start = 0.0
    for first, block in blocks:
        if webvtt and _SKIPPED_BLOCK.match(block[0]):
            continue
        index = 0 if "-->" in block[0] else 1  # an optional cue id or SRT number comes first
        if index >= len(block) or "-->" not in block[index]:
            raise ReaderError("cue without a timing line 'start --> end' (no '-->')", where=f"{path}:{first}")
        where = f"{path}:{first + index}"
        timing = _TIMING.match(block[index].strip())
        assert timing is not None  # the line contains "-->"
        start, end = _timestamp(timing[1], where), _timestamp(timing[2], where)
        if end < start:
            raise ReaderError(f"cue ends ({timing[2]}) before it starts ({timing[1]})", where=where)
        if start < previous_start:
            raise ReaderError(f"cue starts ({timing[1]}) before the previous cue", where=where)
        previous_start = start
        for offset, line in enumerate(block[index + 1:], index + 1):
            if "-->" in line:
                raise ReaderError("a timing line inside a cue's text (missing blank line?)", where=f"{path}:{first + offset}")
        raw = " ".join(line.strip() for line in block[index + 1:])
        voice = _VOICE.search(raw)
        yield _Cue(
            start=start,
            end=end,
            voice=normalise(html.unescape(voice[1])).strip() if voice else None,
            text=" ".join(normalise(html.unescape(_MARKUP.sub("", raw))).split()),
        )


def read_captions(path: str | os.PathLike[str], *, kind: str = "interview") -> Document:
    """Read a ``.vtt`` or ``.srt`` file into a transcript with one line per turn.

    The speaker comes from a ``<v Name>`` voice tag or a leading ``Name:``; a cue
    without either continues the current speaker. Consecutive cues of one speaker form
    one turn from the first cue's start to the last cue's end. The document text is
    ``Speaker: what was said`` per turn, and turn offsets point at what was said.
    """
    path = Path(path)
    data = read_bytes(path)
    text, warnings = decode_bytes(data, str(path))
    cues = list(_cues(text, str(path), webvtt=path.suffix.lower() != ".srt"))
    labels = confirm_labels([None if cue.voice else match_label(cue.text) for cue in cues])
    groups: list[tuple[str | None, list[_Cue], list[str]]] = []  # speaker, cues, contents
    for cue, label in zip(cues, labels):
        speaker = cue.voice or (label.name if label else None)
        content = cue.text[label.end:].strip() if label else cue.text
        if not content:
            continue
        if groups and speaker in (None, groups[-1][0]):
            groups[-1][1].append(cue)
            groups[-1][2].append(content)
        else:
            groups.append((speaker, [cue], [content]))
    if not groups:
        raise ReaderError("no cues with text", where=str(path))
    lines: list[str] = []
    turns: list[Turn] = []
    offset = 0
    for speaker, group, contents in groups:
        prefix = f"{speaker}: " if speaker else ""
        said = " ".join(contents)
        turns.append(Turn(offset + len(prefix), offset + len(prefix) + len(said), speaker, group[0].start, group[-1].end))
        lines.append(prefix + said)
        offset += len(lines[-1]) + 1
    return new_document(path, data, kind=kind, text="\n".join(lines), turns=turns, warnings=warnings)
