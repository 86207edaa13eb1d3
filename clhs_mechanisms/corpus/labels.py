"""Speaker labels ("P03:", "**Interviewer:**", "[00:12:31] Dr. Okafor:") and the turns they start.

Shared by the text/Markdown, Word and caption readers so that every format agrees
on what a label is. A line is only a label if the name is short, has no sentence
punctuation, and either looks like an id (P03, Interviewer, Speaker 2, Q) or is used
as a label at least twice in the document; this keeps "Note: ..." or a one-off
"What we found: ..." inside someone's answer from starting a turn.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Sequence

from clhs_mechanisms.corpus.model import Turn

_TIME = r"(?:\d{1,2}:)?\d{1,2}:\d{2}(?:[.,]\d{1,3})?"
_STAMP = rf"(?:\[{_TIME}\]|\({_TIME}\)|{_TIME})"
# Every repetition is bounded (a label is at most MAX_LABEL_CHARS long): an unbounded lazy name
# followed by optional blanks backtracks quadratically on a long line without a colon
# ("x", 40,000 spaces, "y" took 108 s); bounded, a line costs a constant at most.
_LABEL_LINE = re.compile(
    rf"""
    [ \t]{{0,16}}(?:[-*+][ \t]{{1,8}})?     # indentation, Markdown bullet
    (?:(?P<stamp1>{_STAMP})[ \t]{{1,8}})?   # timestamp before the label
    (?P<open>\*\*|__)?                     # Markdown bold around the label
    (?P<name>[^\W\d_][^:\n]{{0,79}}?)       # the label itself, checked by _plausible
    (?:[ \t]{{1,8}}(?P<stamp2>{_STAMP}))?   # timestamp after the label
    [ \t]{{0,8}}(?P<close1>\*\*|__)?:(?P<close2>\*\*|__)?
    (?=\s|$)                               # "P03: yes", never "http://x" or "at 10:30"
    """,
    re.VERBOSE,
)
_ROLES = (
    "interviewer", "interviewee", "moderator", "facilitator", "participant", "respondent",
    "speaker", "parent", "patient", "clinician", "caregiver", "researcher",
)
_ID_LABEL = re.compile(
    rf"[A-Z]|[A-Z]{{1,4}}[ _-]?\d{{1,4}}|(?i:{'|'.join(_ROLES)})(?:[ _-]?\d{{1,4}})?(?:[ \t]*\([^()]+\))?"
)
_SENTENCE_PUNCTUATION = re.compile(r"[?!;,\"“”…*]")
_ABBREVIATION = re.compile(r"\b[A-Z][a-z]{0,3}\.")  # Dr. Mrs. Prof. J.
MAX_LABEL_CHARS = 40
MAX_LABEL_WORDS = 5


@dataclass(frozen=True)
class Label:
    """A candidate speaker label found at the start of a line."""

    name: str
    seconds: float | None  # the timestamp next to the label, if any
    end: int  # index in the line just after the label's colon


@dataclass(frozen=True)
class Mark:
    """Where a unit (a line or paragraph) starts a turn whose content begins at ``content``.

    A mark with ``content=None`` starts no turn; it only ends the previous one
    (a Markdown heading between two answers, for instance).
    """

    start: int
    content: int | None
    speaker: str | None = None
    seconds: float | None = None


def _seconds(stamp: str) -> float:
    total = 0.0
    for part in stamp.strip("[]()").replace(",", ".").split(":"):
        total = total * 60 + float(part)
    return total


def _plausible(name: str) -> bool:
    return (
        len(name) <= MAX_LABEL_CHARS
        and len(name.split()) <= MAX_LABEL_WORDS
        and not _SENTENCE_PUNCTUATION.search(name)
        and "." not in _ABBREVIATION.sub("", name)
    )


def is_id_label(name: str) -> bool:
    """True for labels that are speaker ids on their own: P03, I, Q, Interviewer, Speaker 2, Parent (Maria)."""
    return _ID_LABEL.fullmatch(name) is not None


def match_label(line: str) -> Label | None:
    """The speaker label at the start of ``line``, if it has the shape of one."""
    match = _LABEL_LINE.match(line)
    if match is None:
        return None
    closes = [mark for mark in (match["close1"], match["close2"]) if mark]
    if len(closes) != (1 if match["open"] else 0):
        return None
    name = match["name"].strip()
    if not _plausible(name):
        return None
    stamp = match["stamp1"] or match["stamp2"]
    return Label(name, _seconds(stamp) if stamp else None, match.end())


def confirm_labels(candidates: Sequence[Label | None]) -> list[Label | None]:
    """Keep the candidates that are id-like or used as a label at least twice."""
    counts = Counter(label.name for label in candidates if label is not None)
    return [
        label if label is not None and (is_id_label(label.name) or counts[label.name] >= 2) else None
        for label in candidates
    ]


def build_turns(text: str, marks: Sequence[Mark]) -> list[Turn]:
    """One turn per mark, from its content to the next mark, without surrounding whitespace.

    Blank turns (a label with nothing after it) are skipped; ``time_end`` is the
    next mark's timestamp, when it has one.
    """
    turns = []
    for index, mark in enumerate(marks):
        following = marks[index + 1] if index + 1 < len(marks) else None
        if mark.content is None:
            continue
        segment = text[mark.content:following.start if following else len(text)]
        lead = len(segment) - len(segment.lstrip())
        trail = len(segment.rstrip())
        if trail > lead:
            turns.append(Turn(
                mark.content + lead,
                mark.content + trail,
                speaker=mark.speaker,
                time_start=mark.seconds,
                time_end=following.seconds if following else None,
            ))
    return turns
