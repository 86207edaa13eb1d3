"""Speaker labels ("P03:", "**Interviewer:**", "Emma  0:00", "I – ...") and the turns they start.

Shared by the text/Markdown, Word and caption readers so that every format agrees
on what a label is. A line is only a ``Name:`` label if the name is short, has no sentence
punctuation, and either looks like an id (P03, Interviewer, Speaker 2, Q), carries a
timestamp, or is used as a label at least twice in the document; this keeps "Note: ..." or
a one-off "What we found: ..." inside someone's answer from starting a turn. Other layouts
that tools and typists use are recognised too (see :func:`classify_line`); timestamps next to
a label become the turn's time, never its text.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from clhs_mechanisms.corpus.model import Turn

_TIME = r"(?:\d{1,2}:)?\d{1,2}:\d{2}(?:[.,]\d{1,3})?"
_STAMP = rf"(?:\[{_TIME}\]|\({_TIME}\)|{_TIME})"
_BRACKETED = rf"(?:\[{_TIME}\]|\({_TIME}\))"
# Every repetition is bounded (a label is at most MAX_LABEL_CHARS long): an unbounded lazy name
# followed by optional blanks backtracks quadratically on a long line without a colon
# ("x", 40,000 spaces, "y" took 108 s); bounded, a line costs a constant at most.
_LABEL_LINE = re.compile(
    rf"""
    [ \t]{{0,16}}(?:[-*+][ \t]{{1,8}})?     # indentation, Markdown bullet
    (?:(?P<stamp1>{_STAMP})[ \t]{{1,8}})?   # timestamp before the label
    (?P<open>\*\*|__)?                     # Markdown bold around the label
    (?P<name>[^\W\d_][^:\n]{{0,79}}?)       # the label itself, checked by plausible_name
    (?:[ \t]{{1,8}}(?P<stamp2>{_STAMP}))?   # timestamp after the label
    [ \t]{{0,8}}(?P<close1>\*\*|__)?:(?P<close2>\*\*|__)?
    (?=\s|$)                               # "P03: yes", never "http://x" or "at 10:30"
    (?:[ \t]{{1,8}}(?P<stamp3>{_BRACKETED})(?=\s|$))?  # Descript: "**Emma:** [00:00:00] text"
    """,
    re.VERBOSE,
)
# Otter.ai and Teams (.docx): "Emma  0:00" alone on its line, two or more blanks before the time.
_HEADER_LINE = re.compile(
    rf"[ \t]{{0,16}}(?P<name>[^\W\d_a-z][^:\n]{{0,79}}?)[ \t]{{2,16}}(?P<stamp>{_TIME})[ \t]*"
)
# A timestamp alone on its line, or a bracketed one opening a line: the same speaker goes on.
_TIME_LINE = re.compile(rf"[ \t]{{0,16}}(?:(?P<alone>{_STAMP})[ \t]*$|(?P<stamp>{_BRACKETED})[ \t]+(?=\S))")
# "**Emma** [0:00] text": a bold name without a colon.
_BOLD_LINE = re.compile(
    rf"[ \t]{{0,16}}(?:[-*+][ \t]{{1,8}})?(?P<open>\*\*|__)(?P<name>[^\W\d_][^*_:\n]{{0,79}}?)(?P=open)"
    rf"(?:[ \t]{{1,8}}(?P<stamp>{_STAMP}))?(?=[ \t]|$)"
)
# Hand-typed "I – What does ...", "C - We offer ...": a short name, a dash between blanks.
_DASH_LINE = re.compile(
    r"[ \t]{0,16}(?P<name>[^\W\d_][^\n:–—-]{0,39}?)(?:[ \t]{1,8}-|[ \t]{0,8}[–—])[ \t]{1,8}(?=\S)"
)
_FOOTER = re.compile(r"[ \t]*Transcribed by https?://otter\.ai/?[ \t]*", re.IGNORECASE)
_INLINE_STAMP = re.compile(rf"[ \t]{{0,8}}\[{_TIME}\]")
_LEADING_STAMP = re.compile(rf"[ \t]*(?P<stamp>{_BRACKETED})(?=\s|$)")
_ROLES = (
    "interviewer",
    "interviewee",
    "moderator",
    "facilitator",
    "participant",
    "respondent",
    "speaker",
    "parent",
    "patient",
    "clinician",
    "caregiver",
    "researcher",
)
_ID_LABEL = re.compile(
    rf"[A-Z]|[A-Z]{{1,4}}[ _-]?\d{{1,4}}|(?i:{'|'.join(_ROLES)})(?:[ _-]?\d{{1,4}})?(?:[ \t]*\([^()]+\))?"
)
_SENTENCE_PUNCTUATION = re.compile(r"[?!;,\"“”…*]")
_ABBREVIATION = re.compile(r"\b[A-Z][a-z]{0,3}\.")  # Dr. Mrs. Prof. J.
_UNKNOWN = frozenset({"unknown speaker", "unknown", "unidentified speaker"})
MAX_LABEL_CHARS = 40
MAX_LABEL_WORDS = 5
DASH_SHARE = 0.3  # dash labels must open at least this share of the lines that hold text

LabelKind = Literal["colon", "header", "time", "bold", "dash"]


@dataclass(frozen=True)
class Label:
    """A candidate speaker label (or a timestamp that opens a line) found at the start of a line.

    ``kind`` says which layout it has: ``colon`` ("P03:"), ``header`` (Otter's "Emma  0:00"
    on its own line), ``time`` (a timestamp without a name: the current speaker goes on),
    ``bold`` ("**Emma** text") or ``dash`` ("I – text").
    """

    name: str | None  # None for a timestamp without a name
    seconds: float | None  # the timestamp next to the label, if any
    end: int  # index in the line just after the label (and its timestamp)
    kind: LabelKind = "colon"
    tied: bool = False  # the timestamp is part of the label ("Emma (01:02):", "**Emma** [0:00]")


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


def seconds_of(stamp: str) -> float:
    """Seconds in a ``[hh:]mm:ss[.fff]`` timestamp, with or without brackets or parentheses."""
    total = 0.0
    for part in stamp.strip("[]() \t").replace(",", ".").split(":"):
        total = total * 60 + float(part)
    return total


def plausible_name(name: str) -> bool:
    """Short, few words, no sentence punctuation: a name could be this."""
    return (
        len(name) <= MAX_LABEL_CHARS
        and len(name.split()) <= MAX_LABEL_WORDS
        and not _SENTENCE_PUNCTUATION.search(name)
        and "." not in _ABBREVIATION.sub("", name)
    )


def is_id_label(name: str) -> bool:
    """True for labels that are speaker ids on their own: P03, I, Q, Interviewer, Speaker 2, Parent (X)."""
    return _ID_LABEL.fullmatch(name) is not None


def speaker_name(name: str | None) -> str | None:
    """The speaker a label names; None for "Unknown Speaker" (Otter) and the like."""
    return None if name is None or name.casefold() in _UNKNOWN else name


def match_label(line: str) -> Label | None:
    """The ``Name:`` label at the start of ``line``, if it has the shape of one."""
    match = _LABEL_LINE.match(line)
    if match is None:
        return None
    closes = [mark for mark in (match["close1"], match["close2"]) if mark]
    if len(closes) != (1 if match["open"] else 0):
        return None
    name = match["name"].strip()
    if not plausible_name(name):
        return None
    stamp = match["stamp1"] or match["stamp2"] or match["stamp3"]
    tied = bool(match["stamp2"] or match["stamp3"])
    return Label(name, seconds_of(stamp) if stamp else None, match.end(), tied=tied)


def stamp_at(line: str, position: int) -> tuple[float, int] | None:
    """A bracketed timestamp right at ``position`` (after blanks): its seconds and where it ends."""
    match = _LEADING_STAMP.match(line, position)
    return (seconds_of(match["stamp"]), match.end()) if match is not None else None


def without_stamps(line: str, keep: int) -> tuple[str, int]:
    """``line`` without the ``[00:58:00]`` markers after its first ``keep`` characters (its label),
    and how many there were."""
    rest, count = _INLINE_STAMP.subn("", line[keep:])
    if not count:
        return line, 0
    return line[:keep] + (rest if keep else rest.lstrip()), count


def is_footer(line: str) -> bool:
    """Otter's closing "Transcribed by https://otter.ai" line, which is nobody's speech."""
    return line[:1] in ("T", " ", "\t") and _FOOTER.fullmatch(line) is not None


def classify_line(line: str) -> Label | None:
    """The label or timestamp that opens ``line``, in any layout a transcript tool or typist uses.

    Tried in turn: a timestamp alone or opening the line, Otter's ``Name  0:00`` line, a
    ``Name:`` label, a bold name without a colon and a dash label. Whether a candidate is
    accepted depends on the rest of the document (:func:`confirm_labels`).
    """
    if len(line) < 2:
        return None
    head = line[:120]
    if ":" in head:
        match = _HEADER_LINE.fullmatch(line) if len(line) <= 120 and line.rstrip()[-1:].isdigit() else None
        if match is not None and plausible_name(match["name"].strip()):
            return Label(match["name"].strip(), seconds_of(match["stamp"]), len(line), "header", tied=True)
        label = match_label(line)
        if label is not None:
            return label
        match = _TIME_LINE.match(line)
        if match is not None:
            return Label(None, seconds_of(match["alone"] or match["stamp"]), match.end(), "time")
    if "**" in head or "__" in head:
        match = _BOLD_LINE.match(line)
        if match is not None and plausible_name(match["name"].strip()):
            stamp = match["stamp"]
            seconds = seconds_of(stamp) if stamp else None
            return Label(match["name"].strip(), seconds, match.end(), "bold", tied=stamp is not None)
    if "-" in head or "–" in head or "—" in head:
        match = _DASH_LINE.match(line)
        if match is not None and plausible_name(match["name"].strip()):
            return Label(match["name"].strip(), None, match.end(), "dash")
    return None


def _dash_names(candidates: Sequence[Label | None], lines: int) -> set[str]:
    """Dash labels count only in a conversation typed that way: two names or more, each used at
    least twice, opening at least :data:`DASH_SHARE` of the lines (else "Well - yes" could be one)."""
    dashes = Counter(label.name for label in candidates if label is not None and label.kind == "dash")
    names = {name for name, count in dashes.items() if name is not None and count >= 2}
    if len(names) < 2 or sum(dashes[name] for name in names) < DASH_SHARE * lines:
        return set()
    return names


def confirm_labels(candidates: Sequence[Label | None], *, lines: int | None = None) -> list[Label | None]:
    """Keep the candidates that are labels in this document.

    ``Name:`` labels count if the name is id-like; they and bold labels count if they have
    their own timestamp ("Emma (01:02):", not "[01:02] Emma:") or are used at least twice.
    Otter header lines and timestamps always count. Dash labels count only when no ``Name:``
    label does and the document is typed that way (``lines``: the lines holding text).
    """
    counts = Counter((label.kind, label.name) for label in candidates if label is not None)

    def accepted(label: Label) -> bool:
        if label.kind in ("header", "time"):
            return True
        assert label.name is not None  # only time labels have no name
        if label.tied or counts[label.kind, label.name] >= 2:
            return True
        return label.kind == "colon" and is_id_label(label.name)

    confirmed = [
        label if label is not None and label.kind != "dash" and accepted(label) else None
        for label in candidates
    ]
    if not any(label is not None and label.kind == "colon" for label in confirmed):
        dashes = _dash_names(candidates, lines if lines is not None else len(candidates))
        confirmed = [
            label if label is not None and label.kind == "dash" and label.name in dashes else kept
            for label, kept in zip(candidates, confirmed)
        ]
    return confirmed


def line_marks(starts: Sequence[int], labels: Sequence[Label | None], breaks: Sequence[bool]) -> list[Mark]:
    """The marks of confirmed ``labels`` (one per line starting at ``starts``); a line in ``breaks``
    (a heading, a footer) ends the current turn. A timestamp without a name starts a new turn of
    the current speaker, so the time is kept and the speaker goes on."""
    marks: list[Mark] = []
    if starts and not any(label is not None and label.kind != "time" for label in labels):
        marks.append(Mark(starts[0], starts[0]))  # timestamps only: the text before the first is a turn too
    speaker: str | None = None
    for start, label, stop in zip(starts, labels, breaks):
        if stop:
            marks.append(Mark(start, None))
            speaker = None
        elif label is not None:
            if label.kind != "time":
                speaker = speaker_name(label.name)
            marks.append(Mark(start, start + label.end, speaker, label.seconds))
    return marks


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
        segment = text[mark.content : following.start if following else len(text)]
        lead = len(segment) - len(segment.lstrip())
        trail = len(segment.rstrip())
        if trail > lead:
            turns.append(
                Turn(
                    mark.content + lead,
                    mark.content + trail,
                    speaker=mark.speaker,
                    time_start=mark.seconds,
                    time_end=following.seconds if following else None,
                )
            )
    return turns
