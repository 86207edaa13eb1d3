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

    def __reduce__(self):  # the attributes' read-only view cannot be pickled itself
        return Turn, (
            self.start,
            self.end,
            self.speaker,
            self.time_start,
            self.time_end,
            dict(self.attributes),
        )


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
        return Document, (
            self.name,
            self.kind,
            self.text,
            self.turns,
            self.sha256,
            dict(self.attributes),
            self.source_path,
            self.warnings,
        )

    @cached_property
    def words(self) -> int:
        """Whitespace-separated words in the text (counted once)."""
        return len(self.text.split())

    def turn_text(self, turn: Turn) -> str:
        return self.text[turn.start : turn.end]
