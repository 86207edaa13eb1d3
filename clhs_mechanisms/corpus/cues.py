"""Timed cues (captions, Whisper segments, Teams downloads) into a transcript Document.

Every timed format ends here, so the same speech gives the same turns whether it came as
``.vtt``, ``.srt``, ``.txt``, ``.tsv`` or ``.json``. Consecutive cues of one speaker form a
turn; a pause of :data:`PAUSE_SECONDS` or more starts a new one (a new turn of the same
speaker, or of an unknown one for cues without a speaker), so a long stretch of unpunctuated
speech is cut where the speaker stopped, and cues minutes apart are never run together.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from clhs_mechanisms.corpus.model import Document, Turn
from clhs_mechanisms.corpus.text import new_document
from clhs_mechanisms.errors import ReaderError

PAUSE_SECONDS = 3.0


@dataclass(frozen=True)
class Cue:
    """One timed piece of speech: its text (no markup, no label) and its own speaker, if it names one.

    ``new_turn`` marks a cue that says itself that someone else speaks now (YouTube's ``>>``).
    """

    start: float
    end: float
    text: str
    speaker: str | None = None
    new_turn: bool = False


def group_cues(cues: Iterable[Cue], *, unknown_without_label: bool) -> list[tuple[str | None, list[Cue]]]:
    """Consecutive cues of one speaker, as (speaker, cues) turns.

    A cue with a speaker continues the turn only if it is the turn's speaker. A cue without one
    continues the current turn, except after a pause, after ``new_turn`` and, with
    ``unknown_without_label`` (files that name the speaker on every cue, as Zoom does), after
    a named speaker's turn: then it starts a turn of an unknown speaker.
    """
    groups: list[tuple[str | None, list[Cue]]] = []
    for cue in cues:
        if not cue.text:
            continue
        if groups and not cue.new_turn:
            speaker, members = groups[-1]
            if cue.start - members[-1].end < PAUSE_SECONDS and (
                cue.speaker == speaker if cue.speaker is not None or unknown_without_label else True
            ):
                members.append(cue)
                continue
        groups.append((cue.speaker, [cue]))
    return groups


def document_from_cues(
    path: Path,
    data: bytes,
    cues: Iterable[Cue],
    *,
    kind: str,
    warnings: Iterable[str] = (),
    unknown_without_label: bool = False,
    attributes: Mapping[str, str] | None = None,
) -> Document:
    """A transcript with one line per turn, ``Speaker: what was said`` (or only what was said when
    the speaker is unknown); cue texts are joined with a space, and turn offsets point at what
    was said, from the first cue's start to the last cue's end."""
    groups = group_cues(cues, unknown_without_label=unknown_without_label)
    if not groups:
        raise ReaderError("no cues with text", where=str(path))
    lines: list[str] = []
    turns: list[Turn] = []
    offset = 0
    for speaker, group in groups:
        prefix = f"{speaker}: " if speaker else ""
        said = " ".join(cue.text for cue in group)
        start = offset + len(prefix)
        turns.append(Turn(start, start + len(said), speaker, group[0].start, max(cue.end for cue in group)))
        lines.append(prefix + said)
        offset += len(lines[-1]) + 1
    text = "\n".join(lines)
    return new_document(
        path, data, kind=kind, text=text, turns=turns, attributes=attributes, warnings=warnings
    )
