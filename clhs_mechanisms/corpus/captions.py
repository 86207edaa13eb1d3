"""WebVTT and SRT captions (Zoom, Teams, YouTube, Whisper, transcription services) read as transcripts.

A small hand-written parser rather than webvtt-py: webvtt-py silently drops a cue
with a broken timestamp, reports no line numbers and leaves HTML entities encoded,
while a researcher needs "file:line: what is wrong" and every cue kept.

What real files do that the WebVTT spec does not expect, or that needs care:

- YouTube auto-captions hold cue lines of a single space: by the spec that is cue text, not
  the blank line between cues. Their rolling cues repeat each line two or three times, with
  word timing tags (``<00:00:00.210><c> word</c>``); the repeats are dropped (format
  ``youtube``, see :func:`unroll`).
- youtube-dl wrote cues without the blank line between them: a timing line inside a cue
  starts the next cue.
- HLS segments concatenated into one file repeat the ``WEBVTT`` header (with an
  ``X-TIMESTAMP-MAP``) and the cues that span two segments.
- Teams wrote short timestamps (``0:0:0.0``).
"""

from __future__ import annotations

import html
import os
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from clhs_mechanisms.corpus.cues import Cue, document_from_cues
from clhs_mechanisms.corpus.formats import CAPTION_FORMATS, check_format, settle_format
from clhs_mechanisms.corpus.labels import Label, confirm_labels, match_label, plausible_name, speaker_name
from clhs_mechanisms.corpus.model import Document
from clhs_mechanisms.corpus.text import decode_bytes, normalise, read_bytes
from clhs_mechanisms.errors import ReaderError

_HEADER = re.compile(r"WEBVTT(?:[ \t].*)?")
_SKIPPED_BLOCK = re.compile(r"(?:NOTE|STYLE|REGION)(?:\s|$)")
_TIMESTAMP = re.compile(r"(?:(\d{1,6}):)?([0-5]?\d):([0-5]?\d)(?:[.,](\d{1,3}))?")
_TIMING = re.compile(r"(.{0,80}?)[ \t]{0,16}-->[ \t]{0,16}(\S{0,40})")
_TIMESTAMP_MAP = re.compile(r"X-TIMESTAMP-MAP=(.*)")
_VOICE = re.compile(r"<v(?:\.[^\s<>]{0,80})?[ \t]{1,8}([^<>]{1,200})>")
_MARKUP = re.compile(r"<[^<>]*>|\{\\[^{}]*\}")  # tags such as <i>, <c.x>, <00:01.000>; SSA {\an8}
_WORD_TIMING = re.compile(r"<\d{1,2}:\d{2}(?::\d{2})?\.\d{3}>")
_BRACKET_LABEL = re.compile(r"\[([^\[\]\n]{1,40})\]:[ \t]*")  # WhisperX: "[SPEAKER_00]: text"
# Teams: GUID cue ids ("e0a2...-.../13-0"), or its older one-digit timestamps ("0:0:5.120 -->")
_TEAMS_MARK = re.compile(r"^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-|\d:\d{1,2}:\d{1,2}\.\d{1,3} -->)", re.M)
_SPEAKER_CHANGE = re.compile(r" ?>> ?")  # broadcast and YouTube captions: ">>" before a new speaker
MPEGTS_HZ = 90_000
ZOOM_SHARE = 0.8  # cues with a "Name:" label, at least, for a file labelled on every cue (Zoom)
ROLLING_SHARE = 0.5  # cues that repeat the previous cue's last line, at least, for rolling captions


@dataclass(frozen=True)
class RawCue:
    """A cue as written: its (mapped) times, its text lines with markup, and where it starts."""

    start: float
    end: float
    lines: tuple[str, ...]
    line: int


def parse_timestamp(token: str, where: str) -> float:
    """Seconds in a cue timestamp (``hh:mm:ss.ttt``, ``mm:ss.ttt``, SRT's comma, Teams' ``0:0:1.5``)."""
    match = _TIMESTAMP.fullmatch(token)
    if match is None:
        raise ReaderError(f"malformed timestamp '{token}' (expected hh:mm:ss.ttt)", where=where)
    hours, minutes, seconds, fraction = match.groups()
    return round(int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds) + float(f"0.{fraction or 0}"), 3)


def _blocks(text: str) -> Iterator[tuple[int, list[str]]]:
    """Blank-line-separated blocks, each with the line number of its first line.

    A line of spaces inside a cue (after its timing line) is cue text when text follows it
    (YouTube writes such lines); before a timing line or a cue id it separates cues."""
    lines = text.split("\n")
    block: list[str] = []
    first, timed = 0, False
    for index, line in enumerate(lines):
        if line.strip() or (line and timed and _text_follows(lines, index)):
            if not block:
                first, timed = index + 1, False
            block.append(line)
            timed = timed or "-->" in line
        elif block:
            yield first, block
            block, timed = [], False
    if block:
        yield first, block


def _text_follows(lines: list[str], index: int) -> bool:
    following = lines[index + 1] if index + 1 < len(lines) else ""
    after = lines[index + 2] if index + 2 < len(lines) else ""
    return bool(following.strip()) and "-->" not in following and "-->" not in after


def _timestamp_offset(block: list[str], where: str, first_mpegts: list[float]) -> float:
    """Seconds to add to the cues after a header: ``X-TIMESTAMP-MAP=LOCAL:...,MPEGTS:...`` maps
    its LOCAL time to the segment's MPEG-TS time, counted from the first segment's."""
    for line in block:
        match = _TIMESTAMP_MAP.match(line.strip())
        if match is None:
            continue
        fields = dict(part.split(":", 1) for part in match[1].split(",") if ":" in part)
        try:
            local = parse_timestamp(fields.get("LOCAL", "0:00.000").strip(), where)
            mpegts = int(fields.get("MPEGTS", "0").strip()) / MPEGTS_HZ
        except (ValueError, OverflowError) as error:  # not a number, or one too large for a time
            raise ReaderError(f"malformed X-TIMESTAMP-MAP ({error})", where=where) from error
        if not first_mpegts:
            first_mpegts.append(mpegts)
        return mpegts - first_mpegts[0] - local
    return 0.0


def raw_cues(text: str, path: str, *, webvtt: bool) -> Iterator[RawCue]:
    """The cues of a caption file, checked for well-formed, ordered timings; a cue repeated by
    concatenated HLS segments is given once."""
    blocks = _blocks(text)
    if webvtt and not _HEADER.fullmatch(text.split("\n", 1)[0]):
        raise ReaderError("not a WebVTT file: the first line must be 'WEBVTT'", where=f"{path}:1")
    offset, first_mpegts, previous_start, recent = 0.0, [], 0.0, []
    for first, block in blocks:
        if webvtt and _HEADER.fullmatch(block[0]):
            offset = _timestamp_offset(block, f"{path}:{first}", first_mpegts)
            continue
        if webvtt and _SKIPPED_BLOCK.match(block[0]):
            continue
        index = 0 if "-->" in block[0] else 1  # an optional cue id or SRT number comes first
        if index >= len(block) or "-->" not in block[index]:
            raise ReaderError("cue without a timing line 'start --> end' (no '-->')", where=f"{path}:{first}")
        for cue in _split_cue(block[index:], first + index, path, offset):
            if cue.start < previous_start:
                raise ReaderError("cue starts before the previous cue", where=f"{path}:{cue.line}")
            previous_start = cue.start
            key = (cue.start, cue.end, cue.lines)
            if key not in recent:
                recent = [*recent[-7:], key]
                yield cue


def _split_cue(lines: list[str], number: int, path: str, offset: float) -> Iterator[RawCue]:
    """One cue, or several when a timing line follows cue text without a blank line between."""
    start = end = 0.0
    timing_line, text = 0, []
    for line_number, line in enumerate(lines, number):
        timing = _TIMING.match(line.strip()) if "-->" in line else None
        if timing is None and line_number == number:
            raise ReaderError(f"malformed timing line '{line.strip()[:60]}'", where=f"{path}:{number}")
        if timing is not None and (line_number == number or _TIMESTAMP.fullmatch(timing[1])):
            if line_number != number:
                yield RawCue(start, end, tuple(text), timing_line)
            where = f"{path}:{line_number}"
            start, end = parse_timestamp(timing[1], where), parse_timestamp(timing[2], where)
            if end < start:
                raise ReaderError(f"cue ends ({timing[2]}) before it starts ({timing[1]})", where=where)
            start, end, timing_line, text = round(start + offset, 3), round(end + offset, 3), line_number, []
        else:
            text.append(line)
    yield RawCue(start, end, tuple(text), timing_line)


def clean(text: str) -> str:
    """Cue text without markup and entities, its white space collapsed."""
    return " ".join(normalise(html.unescape(_MARKUP.sub("", text))).split())


def unroll(cues: list[RawCue]) -> tuple[list[tuple[RawCue, str]], int]:
    """Rolling captions without their repeats: each cue's text is only the lines the previous cue
    did not show. Returns (cue, new text) pairs and the number of repeated lines dropped; a cue
    with nothing new extends the previous cue's end instead."""
    out: list[tuple[RawCue, str]] = []
    screen: list[str] = []
    dropped = 0
    for cue in cues:
        lines = [line for line in map(clean, cue.lines) if line]
        if not lines:
            continue
        shared = min(len(screen), len(lines))
        while shared and screen[-shared:] != lines[:shared]:
            shared -= 1
        screen, dropped = lines, dropped + shared
        if shared < len(lines):
            out.append((cue, " ".join(lines[shared:])))
        elif out:
            last, said = out[-1]
            out[-1] = (RawCue(last.start, max(last.end, cue.end), last.lines, last.line), said)
    return out, dropped


def _is_rolling(cues: list[RawCue]) -> bool:
    """Rolling captions: at least half the cues open with the previous cue's last line (two such
    cues at least; one will do in a file with YouTube's word timing tags)."""
    repeats = 0
    previous: list[str] = []
    cues = cues[:500]  # enough to tell, and a 10-hour file is not cleaned twice
    for cue in cues:
        lines = [line for line in map(clean, cue.lines) if line]
        repeats += bool(lines and previous and lines[0] == previous[-1])
        previous = lines or previous
    tagged = any(_WORD_TIMING.search(line) for cue in cues[:50] for line in cue.lines)
    return repeats >= (1 if tagged else 2) and repeats >= ROLLING_SHARE * (len(cues) - 1)


def _voiced(cue: RawCue) -> list[tuple[str | None, str]]:
    """The cue's text, split where a ``<v Name>`` voice span begins: (voice, text) parts."""
    raw = " ".join(line.strip() for line in cue.lines)
    spans = list(_VOICE.finditer(raw))
    if not spans:
        return [(None, clean(raw))]
    parts = [(None, clean(raw[: spans[0].start()]))] if raw[: spans[0].start()].strip() else []
    for span, following in zip(spans, [*spans[1:], None]):
        voice = speaker_name(" ".join(normalise(html.unescape(span[1])).split()))
        parts.append((voice, clean(raw[span.end() : following.start() if following else len(raw)])))
    return parts


def _label(text: str) -> Label | None:
    bracketed = _BRACKET_LABEL.match(text)
    if bracketed is not None:
        return Label(bracketed[1].strip(), None, bracketed.end(), tied=True)
    return match_label(text)


def _spoken(parts: list[tuple[RawCue, str | None, str]], format: str) -> tuple[list[Cue], bool, list[str]]:
    """Cues with speakers: voice spans, then ``Name:`` labels. Returns the cues, whether a cue
    without a label is an unknown speaker's (Zoom), and warnings."""
    candidates = [None if voice else _label(text) for _, voice, text in parts]
    zoom = format == "zoom"
    labels = candidates if zoom else confirm_labels(candidates)
    cues: list[Cue] = []
    unlabelled: list[int] = []
    for (raw, voice, text), label in zip(parts, labels):
        if voice is None and label is not None:
            voice, text = speaker_name(label.name), text[label.end :].strip()
        elif voice is None and zoom:
            unlabelled.append(raw.line)
        pieces = _SPEAKER_CHANGE.split(text) if voice is None and ">>" in text else [text]
        for number, piece in enumerate(pieces):
            cues.append(Cue(raw.start, raw.end, piece.strip(), voice, new_turn=number > 0))
    warnings = []
    if unlabelled:
        warnings.append(
            f"{len(unlabelled)} cue(s) without a speaker label (first at line {unlabelled[0]}): "
            "each starts a turn of an unknown speaker"
        )
    return cues, zoom, warnings


def speaker_line_cues(text: str, path: str) -> list[Cue]:
    """The cues of timed text without a ``WEBVTT`` header (Teams' ``.txt`` download, SRT pasted into a
    ``.txt``). When most cues have two lines or more and their first lines are a few names that
    recur, the first line is the speaker (Teams: a timing line, a speaker line, then the text)."""
    cues = list(raw_cues(text, path, webvtt=False))
    texts = [[line.strip() for line in cue.lines if line.strip()] for cue in cues]
    multi = [lines for lines in texts if len(lines) >= 2]
    names = Counter(lines[0] for lines in multi if plausible_name(lines[0]) and not lines[0].endswith("."))
    named = len(multi) * 2 >= len(cues) and sum(n for n in names.values() if n >= 2) * 2 >= len(multi)
    out = []
    for cue, lines in zip(cues, texts):
        speaker = None
        if named and len(lines) >= 2 and lines[0] in names:
            speaker, lines = speaker_name(clean(lines[0])), lines[1:]
        out.append(Cue(cue.start, cue.end, clean(" ".join(lines)), speaker))
    return out


def _detect(cues: list[RawCue], text: str) -> str:
    if _is_rolling(cues):
        return "youtube"
    if "<v" in text and _VOICE.search(text) and _TEAMS_MARK.search(text):
        return "teams"
    starts = [clean(" ".join(cue.lines)) for cue in cues[:200]]
    if sum(_label(start) is not None for start in starts) >= max(2, ZOOM_SHARE * len(starts)):
        return "zoom"
    return "whisper" if re.search(r"^\d{2}:\d{2}\.\d{3} --> ", text, re.MULTILINE) else "plain"


def read_captions(
    path: str | os.PathLike[str], *, kind: str = "interview", format: str | None = None
) -> Document:
    """Read a ``.vtt`` or ``.srt`` file into a transcript with one line per turn.

    The speaker comes from a ``<v Name>`` voice tag or a leading ``Name:``; a cue without
    either continues the current speaker, except in files that label every cue (Zoom), where
    it is an unknown speaker's. Consecutive cues of one speaker form one turn from the first
    cue's start to the last cue's end, until a pause (see :mod:`.cues`). The document text is
    ``Speaker: what was said`` per turn, and turn offsets point at what was said. ``format``
    forces one of :data:`~.formats.CAPTION_FORMATS` instead of the detected one.
    """
    path = Path(path)
    forced = check_format(format, str(path))
    data = read_bytes(path)
    text, warnings = decode_bytes(data, str(path))
    cues = list(raw_cues(text, str(path), webvtt=path.suffix.lower() != ".srt"))
    fmt, notes = settle_format(forced, _detect(cues, text), CAPTION_FORMATS, "captions")
    if fmt == "youtube":
        unrolled, dropped = unroll(cues)
        parts = [(cue, None, said) for cue, said in unrolled]
        notes.append(f"rolling captions: {dropped} repeated line(s) dropped")
    else:
        parts = [(cue, voice, said) for cue in cues for voice, said in _voiced(cue)]
    spoken, zoom, more = _spoken(parts, fmt)
    return document_from_cues(
        path, data, spoken, kind=kind, warnings=[*warnings, *notes, *more], unknown_without_label=zoom
    )
