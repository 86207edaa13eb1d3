"""Whisper's outputs (openai-whisper, whisper.cpp, WhisperX): ``.json``, ``.tsv`` and timed ``.txt``.

For one recording openai-whisper writes ``.txt`` (one segment a line, no times: read as plain
text), ``.vtt`` and ``.srt`` (read by :mod:`.captions`), ``.tsv`` (``start\\tend\\ttext`` in
milliseconds) and ``.json`` (``{"text", "segments": [{"start", "end", "text"}, ...]}``, WhisperX
adds each segment's ``speaker``); its console output, often saved as ``.txt``, is
``[00:43.810 --> 00:47.850]  text`` lines. All become the same cues (:mod:`.cues`), so the same
speech gives the same turns and segments whichever file was imported.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from clhs_mechanisms.corpus.captions import clean, parse_timestamp
from clhs_mechanisms.corpus.cues import Cue, document_from_cues
from clhs_mechanisms.corpus.formats import check_format, settle_format
from clhs_mechanisms.corpus.labels import speaker_name
from clhs_mechanisms.corpus.model import Document
from clhs_mechanisms.corpus.text import decode_bytes, read_bytes
from clhs_mechanisms.errors import ReaderError

WHISPER_LINE = re.compile(
    r"[ \t]*\[(?P<start>[\d:.,]{4,16})[ \t]*-->[ \t]*(?P<end>[\d:.,]{4,16})\][ \t]*(?P<text>.*)"
)
TSV_COLUMNS = ("start", "end", "text")
MAX_SECONDS = 10**9  # a time beyond this (30 years) is a damaged file


def is_whisper_tsv(data: bytes) -> bool:
    """True if ``data`` (a ``.tsv`` file's bytes) opens with Whisper's header ``start<TAB>end<TAB>text``,
    which a table of literature excerpts does not have."""
    first = data.removeprefix(b"\xef\xbb\xbf").split(b"\n", 1)[0].strip().lower()
    return tuple(first.split(b"\t")[:3]) == tuple(column.encode() for column in TSV_COLUMNS)


def _cue(start: float, end: float, text: str, where: str, speaker: object = None) -> Cue:
    if end < start:
        raise ReaderError(f"segment ends ({end:.3f} s) before it starts ({start:.3f} s)", where=where)
    name = speaker_name(clean(speaker)) if isinstance(speaker, str) else None
    return Cue(round(start, 3), round(end, 3), clean(text), name or None)


def whisper_line_cues(text: str, path: str) -> list[Cue]:
    """The cues of ``[00:43.810 --> 00:47.850]  text`` lines; lines before the first (Whisper's
    "Detected language: ...") are skipped, and a line without timings continues the previous cue."""
    cues: list[Cue] = []
    for number, line in enumerate(text.split("\n"), 1):
        match = WHISPER_LINE.match(line) if "-->" in line else None
        where = f"{path}:{number}"
        if match is not None:
            start, end = parse_timestamp(match["start"], where), parse_timestamp(match["end"], where)
            cues.append(_cue(start, end, match["text"], where))
        elif cues and line.strip():
            last = cues[-1]
            cues[-1] = Cue(last.start, last.end, f"{last.text} {clean(line)}".strip(), last.speaker)
    return cues


def _seconds(milliseconds: object) -> float | None:
    """whisper.cpp's offsets are milliseconds; anything else is no time (the segment is refused)."""
    if isinstance(milliseconds, (int, float)) and 0 <= milliseconds < MAX_SECONDS * 1000:
        return milliseconds / 1000
    return None


def _json_cues(text: str, path: str) -> list[Cue]:
    """Segments of openai-whisper / WhisperX JSON (seconds) or whisper.cpp JSON (``offsets`` in ms)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ReaderError(f"not valid JSON ({error.msg})", where=f"{path}:{error.lineno}") from error
    if isinstance(data, dict) and isinstance(data.get("transcription"), list):  # whisper.cpp
        segments = [
            {
                "start": _seconds(s["offsets"].get("from")),
                "end": _seconds(s["offsets"].get("to")),
                "text": s.get("text"),
            }
            for s in data["transcription"]
            if isinstance(s, dict) and isinstance(s.get("offsets"), dict)
        ]
    elif isinstance(data, dict) and isinstance(data.get("segments"), list):
        segments = data["segments"]
    else:
        raise ReaderError("not a Whisper JSON file (no 'segments' list)", where=path)
    cues = []
    for number, segment in enumerate(segments, 1):
        where = f"{path}: segment {number}"
        if not isinstance(segment, dict) or not isinstance(segment.get("text"), str):
            raise ReaderError("a segment without 'text'", where=where)
        start, end = segment.get("start"), segment.get("end")
        if not all(isinstance(time, (int, float)) and 0 <= time < MAX_SECONDS for time in (start, end)):
            raise ReaderError("a segment without 'start' and 'end' in seconds (0 or more)", where=where)
        cues.append(_cue(float(start), float(end), segment["text"], where, segment.get("speaker")))
    return cues


def _tsv_cues(text: str, path: str) -> list[Cue]:
    """Rows of Whisper's TSV: start and end in milliseconds, then the text (WhisperX: a speaker after)."""
    cues = []
    for number, line in enumerate(text.split("\n")[1:], 2):
        if not line.strip():
            continue
        cells = line.split("\t")
        where = f"{path}:{number}"
        try:
            start, end = int(cells[0][:12]) / 1000, int(cells[1][:12]) / 1000
            if len(cells[0]) > 12 or len(cells[1]) > 12:
                raise ValueError("a time of more than 12 digits")
        except (ValueError, IndexError) as error:
            raise ReaderError(
                "expected 'start<TAB>end<TAB>text' with times in milliseconds", where=where
            ) from error
        cues.append(
            _cue(start, end, cells[2] if len(cells) > 2 else "", where, cells[3] if len(cells) > 3 else None)
        )
    return cues


def read_whisper(
    path: str | os.PathLike[str], *, kind: str = "interview", format: str | None = None
) -> Document:
    """Read Whisper's ``.json``, ``.tsv`` or timed ``.txt`` output into a transcript (see
    :mod:`.cues`: one ``text`` line per turn; WhisperX speakers become turns' speakers)."""
    path = Path(path)
    forced = check_format(format, str(path))
    data = read_bytes(path)
    text, warnings = decode_bytes(data, str(path))
    suffix = path.suffix.lower()
    if suffix == ".json":
        cues = _json_cues(text, str(path))
    elif suffix == ".tsv":
        if not is_whisper_tsv(data):
            raise ReaderError(
                "not a Whisper TSV file (the first line must be 'start<TAB>end<TAB>text')", where=f"{path}:1"
            )
        cues = _tsv_cues(text, str(path))
    else:
        cues = whisper_line_cues(text, str(path))
    _, notes = settle_format(forced, "whisper", ("whisper",), "Whisper output")
    return document_from_cues(path, data, cues, kind=kind, warnings=[*warnings, *notes])
