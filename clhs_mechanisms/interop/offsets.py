"""Text positions across tools: line endings, Unicode normalisation and end conventions.

The project keeps every text NFC-normalised with ``\\n`` line ends, and spans as Unicode
code points, end-exclusive (``text[start:end]``). Files from other tools differ:

* **line endings**: a source file with Windows ``\\r\\n`` line ends may count each of them as
  two positions (the file as stored) or as one (the text as the tool showed it);
* **normalisation**: a decomposed ``e`` + combining accent is two code points, one after NFC;
* **end convention**: ``endPosition`` may be one past the last selected character
  (end-exclusive, as ATLAS.ti and QualCoder write it) or the last character itself
  (end-inclusive, a literal reading of "first and last character" in the standard).

:class:`SourceText` maps positions from either counting onto the stored text, and
:func:`choose_convention` picks the reading under which a file's selections make sense.
"""

from __future__ import annotations

import bisect
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

BASES = ("raw", "lf")  # positions over the file as stored, or with each CRLF counted once
ENDS = ("exclusive", "inclusive")


def _lf_breaks(raw: str) -> list[int]:
    """Indices of the ``\\r`` of every ``\\r\\n`` pair."""
    out, i = [], raw.find("\r\n")
    while i != -1:
        out.append(i)
        i = raw.find("\r\n", i + 2)
    return out


def _nfc_units(text: str) -> list[tuple[int, int]]:
    """(start, end) of runs that NFC normalises independently of each other."""
    units, start = [], 0
    for i in range(1, len(text)):
        ch = text[i]
        if unicodedata.combining(ch):
            continue
        prev = text[i - 1]
        if unicodedata.normalize("NFC", prev + ch) != unicodedata.normalize("NFC", prev) + ch:
            continue  # composes with what precedes it (e.g. Hangul jamo)
        units.append((start, i))
        start = i
    if text:
        units.append((start, len(text)))
    return units


class SourceText:
    """A source's text as stored in the file, and as the project keeps it.

    ``text`` is the project's form: ``\\r\\n`` and lone ``\\r`` become ``\\n``, then NFC.
    :meth:`to_text` maps a position counted in the file (``basis='raw'``) or with CRLF
    counted once (``basis='lf'``) onto ``text``.
    """

    def __init__(self, raw: str) -> None:
        self.raw = raw
        self._crlf = _lf_breaks(raw)
        lf = raw.replace("\r\n", "\n")
        self._lone_cr = "\r" in lf
        lf = lf.replace("\r", "\n")
        self._lf = lf
        self.lf_length = len(lf)
        if unicodedata.is_normalized("NFC", lf):
            self.text = lf
            self._units: list[tuple[int, int]] | None = None
        else:
            self._units = _nfc_units(lf)
            pieces = [unicodedata.normalize("NFC", lf[s:e]) for s, e in self._units]
            self.text = "".join(pieces)
            self._unit_starts = [s for s, _ in self._units]
            self._unit_out: list[int] = []
            pos = 0
            for piece in pieces:
                self._unit_out.append(pos)
                pos += len(piece)

    @property
    def has_crlf(self) -> bool:
        return bool(self._crlf)

    @property
    def changed(self) -> bool:
        """True if the stored text differs from the file (line ends or normalisation)."""
        return self.text != self.raw

    def length(self, basis: str) -> int:
        return len(self.raw) if basis == "raw" else self.lf_length

    def _raw_to_lf(self, pos: int) -> int:
        return pos - bisect.bisect_left(self._crlf, pos)

    def _lf_to_text(self, pos: int, *, end: bool) -> int:
        if self._units is None:
            return pos
        if pos >= self.lf_length:
            return len(self.text)
        k = bisect.bisect_right(self._unit_starts, pos) - 1
        start, stop = self._units[k]
        if pos == start:
            return self._unit_out[k]
        # inside a unit that normalisation changed: snap outwards to keep the whole unit
        return self._unit_out[k] + (len(unicodedata.normalize("NFC", self._lf[start:stop])) if end else 0)

    def to_text(self, pos: int, *, basis: str, end: bool = False) -> int:
        """``pos`` (counted in ``basis``) as a position in :attr:`text`."""
        lf = self._raw_to_lf(pos) if basis == "raw" else pos
        return self._lf_to_text(lf, end=end)

    def span(self, start: int, end: int, *, basis: str, convention: str) -> tuple[int, int]:
        """A selection's (startPosition, endPosition) as an end-exclusive span of :attr:`text`."""
        stop = end + 1 if convention == "inclusive" else end
        return self.to_text(start, basis=basis), self.to_text(stop, basis=basis, end=True)


@dataclass(frozen=True)
class Selection:
    """What the convention check needs of one PlainTextSelection."""

    start: int
    end: int
    name: str = ""


@dataclass(frozen=True)
class Convention:
    basis: str
    end: str
    reason: str

    def describe(self) -> str:
        counting = "each CRLF counted once" if self.basis == "lf" else "positions as stored in the file"
        return f"endPosition read as {self.end}, {counting} ({self.reason})"


def _squash(text: str) -> str:
    return " ".join(text.split())


def _clean_edge(text: str, pos: int) -> bool:
    """True unless ``pos`` cuts through a word."""
    return pos <= 0 or pos >= len(text) or not (text[pos - 1].isalnum() and text[pos].isalnum())


def _score(sources: Sequence[tuple[SourceText, Sequence[Selection]]], basis: str, end: str) -> float | None:
    """How well the selections read under (basis, end); None if any falls outside its text."""
    score = 0.0
    for source, selections in sources:
        limit = source.length(basis)
        for sel in selections:
            stop = sel.end + 1 if end == "inclusive" else sel.end
            if not 0 <= sel.start < stop <= limit:
                return None
            s, e = source.span(sel.start, sel.end, basis=basis, convention=end)
            text = source.text
            chosen = text[s:e]
            name = (sel.name or "").strip()
            if name:
                if _squash(name) == _squash(chosen):
                    score += 5
                elif name.endswith(("…", "...")):
                    stem = _squash(name.rstrip(".…").rstrip())
                    if stem and _squash(chosen).startswith(stem):
                        score += 2
            score += _clean_edge(text, s) + _clean_edge(text, e)
            if chosen[:1].isspace() or chosen[-1:].isspace():
                score -= 1
    return score


def choose_convention(
    sources: Iterable[tuple[SourceText, Sequence[Selection]]], *, end: str = "auto", basis: str = "auto"
) -> Convention:
    """The reading of positions under which the selections fit their texts best.

    ``end`` and ``basis`` may be fixed (``exclusive``/``inclusive``, ``raw``/``lf``);
    ``auto`` tries each. Evidence: selection names that repeat the selected text, and
    selections that start and end at word boundaries. Without evidence the standard's
    reading wins: end-exclusive over the file as stored.
    """
    sources = list(sources)
    any_crlf = any(src.has_crlf for src, _ in sources)
    bases = BASES if basis == "auto" else (basis,)
    if not any_crlf:
        bases = bases[:1] if basis == "auto" else bases
    ends = ENDS if end == "auto" else (end,)
    results = []
    for b in bases:
        for e in ends:
            score = _score(sources, b, e)
            if score is not None:
                results.append((score, -BASES.index(b), -ENDS.index(e), b, e))
    if not results:
        b, e = bases[0], ends[0]
        return Convention(b, e, "no reading fits every selection")
    results.sort(reverse=True)
    best = results[0]
    if len(results) == 1 or (end != "auto" and basis != "auto"):
        reason = (
            "the only reading that fits" if len(results) == 1 and len(bases) * len(ends) > 1 else "as given"
        )
    elif best[0] == results[1][0]:
        reason = "no evidence either way; the standard's reading"
    else:
        reason = f"fits the selections best ({best[0]:g} vs {results[1][0]:g})"
    return Convention(best[3], best[4], reason)
