"""The corpus data model: what a reader returns and segmentation consumes."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Literal, Mapping

DocumentKind = Literal["interview", "literature"]


_EMPTY: Mapping[str, str] = MappingProxyType({})


def _frozen(mapping: Mapping[str, str] | None) -> Mapping[str, str]:
    return MappingProxyType(dict(mapping)) if mapping else _EMPTY


@dataclass(frozen=True)
class Turn:
    """One speaker's contribution (or one literature excerpt) inside a Document.

    ``start``/``end`` are Unicode code point offsets into ``Document.text``,
    end-exclusive, and delimit the turn's *content* (after any speaker label and
    timestamp), so ``document.text[turn.start:turn.end]`` is what the speaker said.
    """

    start: int
    end: int
    speaker: str | None = None
    time_start: float | None = None  # seconds from the start of the recording
    time_end: float | None = None
    attributes: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "attributes", _frozen(self.attributes))
        if not 0 <= self.start <= self.end:
            raise ValueError(f"turn offsets out of order: {self.start}..{self.end}")

    def __reduce__(self):  # picklable, for the import's reader processes
        return Turn, (self.start, self.end, self.speaker, self.time_start, self.time_end, dict(self.attributes))

    @classmethod
    def _unchecked(cls, start: int, end: int, speaker: str | None, time_start: float | None,
                   time_end: float | None, attributes: Mapping[str, str]) -> "Turn":
        """A turn from values already checked (unpickling): skips ``__post_init__``."""
        turn = object.__new__(cls)
        turn.__dict__.update(start=start, end=end, speaker=speaker, time_start=time_start, time_end=time_end,
                             attributes=_frozen(attributes))
        return turn


@dataclass(frozen=True)
class Document:
    """A transcript or a set of literature excerpts, read from one file.

    ``name`` is the file name and the document's key inside a project; ``sha256``
    is the hash of the original file's bytes (before decoding), so re-imports of an
    unchanged file can be recognised. ``text`` is NFC-normalised with ``\\n`` line
    endings; every turn's offsets point into it.
    """

    name: str
    kind: DocumentKind
    text: str
    turns: tuple[Turn, ...]
    sha256: str
    attributes: Mapping[str, str] = field(default_factory=dict)
    source_path: str | None = None
    warnings: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "attributes", _frozen(self.attributes))
        object.__setattr__(self, "turns", tuple(self.turns))
        for turn in self.turns:
            if turn.end > len(self.text):
                raise ValueError(f"{self.name}: turn ends at {turn.end}, past the text ({len(self.text)})")

    def __reduce__(self):
        """Turns travel as columns: imports move thousands of documents between processes."""
        turns = self.turns
        columns = ([t.start for t in turns], [t.end for t in turns], [t.speaker for t in turns],
                   [t.time_start for t in turns], [t.time_end for t in turns],
                   [dict(t.attributes) if t.attributes else None for t in turns])
        return _document, (self.name, self.kind, self.text, columns, self.sha256, dict(self.attributes),
                           self.source_path, self.warnings, self.__dict__.get("words"))

    @cached_property
    def words(self) -> int:
        """Whitespace-separated words in the text (counted once; carried across processes)."""
        return len(self.text.split())

    def turn_text(self, turn: Turn) -> str:
        return self.text[turn.start:turn.end]


def _document(name: str, kind: DocumentKind, text: str, columns: tuple[list, ...], sha256: str,
              attributes: dict[str, str], source_path: str | None, warnings: tuple[str, ...],
              words: int | None) -> Document:
    document = object.__new__(Document)
    document.__dict__.update(name=name, kind=kind, text=text, turns=tuple(map(Turn._unchecked, *columns)),
                             sha256=sha256, attributes=_frozen(attributes), source_path=source_path,
                             warnings=warnings)
    if words is not None:
        document.__dict__["words"] = words
    return document
