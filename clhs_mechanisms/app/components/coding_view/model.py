"""The coding view's pure parts: turns, code colours, the layout sent to the browser, selections checked.

Offsets are Python string indices (Unicode code points) into the document's text, end-exclusive. The
browser counts in UTF-16 units, so an emoji is one character here and two there; the selection the
browser reports is converted back with :func:`utf16_index`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from ....errors import ClhsError

if TYPE_CHECKING:
    import pandas as pd

    from ....codebook import Codebook

# 36 colours, each at least 26 CIELAB units (CIE76) from every other, lightness 35-75: one per code
# for up to 36 codes, in codebook order; the first ones are the most distinct
PALETTE = (
    "#1e78b4", "#ff0000", "#00d200", "#4b00ff", "#ff3cb4", "#695a00", "#2dc396", "#f0a5a5", "#ffa500",
    "#9669f0", "#a50f2d", "#a5c33c", "#f00fff", "#873c78", "#006900", "#d2a5f0", "#1e695a", "#ff784b",
    "#69c3d2", "#c3b478", "#874b4b", "#960096", "#ff0069", "#00d269", "#0087ff", "#f06996", "#963c00",
    "#003ce1", "#ff87ff", "#b4960f", "#4b4ba5", "#69965a", "#b4784b", "#8700d2", "#a5005a", "#3ca50f",
)  # fmt: skip
GREY = "#888888"
_HEX = re.compile(r"#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})")


class SelectionError(ClhsError):
    """A selection that cannot be coded; the message says why and what to do instead."""


@dataclass(frozen=True)
class Turn:
    """One speaker turn as shown: ``text`` is the document's text from offset ``start``."""

    turn: int
    start: int
    text: str
    speaker: str = ""
    codable: bool = True

    @property
    def end(self) -> int:
        return self.start + len(self.text)


def turns_from_segments(segments: pd.DataFrame, text: str) -> list[Turn]:
    """The turns of ``segments`` (rows of ``Project.segments``, one document), each spanning the
    document ``text`` from its first segment's start to its last segment's end, in reading order."""
    out = []
    for turn, group in segments.groupby("turn", sort=True):
        lo, hi = int(group["start"].min()), int(group["end"].max())
        speaker = group["speaker"].iloc[0]
        out.append(Turn(int(turn), lo, text[lo:hi], str(speaker or ""), bool(group["codable"].any())))
    return out


def colour(value: str | None) -> str:
    """``value`` as ``#rrggbb`` if it is a hex colour, else grey."""
    if not value or not _HEX.fullmatch(value):
        return GREY
    digits = value[1:]
    return "#" + (digits if len(digits) == 6 else "".join(c * 2 for c in digits)).lower()


def code_colours(codebook: Codebook) -> dict[str, str]:
    """Code id -> its colour: the palette in codebook order (repeating after 36 codes)."""
    return {code: PALETTE[i % len(PALETTE)] for i, code in enumerate(codebook.code_ids)}


def utf16_index(text: str, units: int, *, round_up: bool = False) -> int:
    """The index in ``text`` of the position ``units`` UTF-16 code units from its start.

    A position inside a surrogate pair moves to the start of that character (to its end with
    ``round_up``); a position outside ``text`` is a ValueError.
    """
    if units < 0:
        raise ValueError(f"negative offset {units}")
    pos = 0
    for i, ch in enumerate(text):
        if pos >= units:
            return i
        width = 2 if ord(ch) > 0xFFFF else 1
        if pos + width > units:
            return i + 1 if round_up else i
        pos += width
    if units > pos:
        raise ValueError(f"offset {units} is past the end ({pos})")
    return len(text)


def _integer(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"not an integer: {value!r}")
    return value


def resolve_selection(event: Any, turns: Sequence[Turn]) -> dict:
    """The browser's report of a selection as ``{turn, start, end, text}`` in document offsets.

    ``event`` is ``{"parts": [{"turn", "start", "end"}, ...]}``, one part per turn the selection
    touches, offsets in UTF-16 units within the turn's text. A selection of zero characters or of
    spaces only, one across turns, in a turn that is not coded, or that does not fit the turns shown
    raises SelectionError.
    """
    parts = event.get("parts") if isinstance(event, Mapping) else None
    if not isinstance(parts, list) or not parts:
        raise SelectionError("Nothing is selected: drag across the words you want to code.")
    if len(parts) > 1:
        raise SelectionError(
            f"The selection runs across {len(parts)} turns: a coding lies within one turn. "
            "Select text inside a single turn."
        )
    part = parts[0] if isinstance(parts[0], Mapping) else {}
    try:
        turn = {t.turn: t for t in turns}.get(_integer(part.get("turn")))
        if turn is None:
            raise ValueError("unknown turn")
        start = utf16_index(turn.text, _integer(part.get("start")))
        end = utf16_index(turn.text, _integer(part.get("end")), round_up=True)
    except ValueError:
        raise SelectionError("The selection does not match the text shown: select it again.") from None
    if end <= start:
        raise SelectionError("Nothing is selected (zero characters): drag across the words you want to code.")
    quote = turn.text[start:end]
    if not quote.strip():
        raise SelectionError("The selection holds only spaces: drag across the words you want to code.")
    if not turn.codable:
        raise SelectionError("This turn is not coded in this project (e.g. an interviewer's question).")
    return {"turn": turn.turn, "start": turn.start + start, "end": turn.start + end, "text": quote}


def selection_fits(selection: Mapping, turns: Sequence[Turn]) -> bool:
    """Whether ``selection`` (from :func:`resolve_selection`) still names this text in ``turns``."""
    for t in turns:
        if t.turn == selection.get("turn") and t.start <= selection["start"] < selection["end"] <= t.end:
            return t.text[selection["start"] - t.start : selection["end"] - t.start] == selection["text"]
    return False


def _marks(codebook: Codebook, codings: pd.DataFrame | None, suggestions: pd.DataFrame | None) -> list:
    """(start, end, mark) for every coding and suggestion; a mark is what the browser shows of it."""
    colours = code_colours(codebook)
    domains = {d.id: d for d in codebook.domains}
    out = []
    for suggested, frame in ((False, codings), (True, suggestions)):
        rows = [] if frame is None else frame.itertuples()
        for row in rows:
            code = codebook.code(row.code) if row.code in codebook else None
            domain = domains.get(code.domain) if code else None
            label = code.label if code else str(row.code)
            note = f"suggested {row.score:.2f}" if suggested else str(row.coder)
            out.append(
                (
                    int(row.start),
                    int(row.end),
                    {
                        "label": label,
                        "note": note,
                        "colour": colours.get(row.code, GREY),
                        "domain": domain.label if domain else "",
                        "domain_colour": colour(domain.color if domain else None),
                        "suggested": suggested,
                        "title": f"{label} [{row.code}] · {domain.label if domain else '?'} · {note}",
                    },
                )
            )
    return out


def layout(
    turns: Sequence[Turn],
    codebook: Codebook,
    codings: pd.DataFrame | None = None,
    suggestions: pd.DataFrame | None = None,
    selection: Mapping | None = None,
) -> dict:
    """What the browser draws: each turn's text cut into pieces at every coding, suggestion and
    selection boundary, each piece with the marks covering it; the marks with label and colours."""
    spans = _marks(codebook, codings, suggestions)
    out = []
    for t in turns:
        inside = [
            (max(s, t.start) - t.start, min(e, t.end) - t.start, i)
            for i, (s, e, _) in enumerate(spans)
            if s < t.end and e > t.start
        ]
        chosen = ()
        if selection and selection.get("turn") == t.turn:
            chosen = (selection["start"] - t.start, selection["end"] - t.start)
        cuts = sorted({0, len(t.text), *chosen, *(s for s, _, _ in inside), *(e for _, e, _ in inside)})
        pieces = [
            {
                "text": t.text[a:b],
                "marks": [i for s, e, i in inside if s <= a and b <= e],
                "selected": bool(chosen) and chosen[0] <= a and b <= chosen[1],
            }
            for a, b in pairwise(cuts)
            if a < b
        ]
        marks = sorted({i for _, _, i in inside}, key=lambda i: (spans[i][0], spans[i][2]["suggested"]))
        domains = {spans[i][2]["domain"]: spans[i][2]["domain_colour"] for i in marks}
        out.append(
            {
                "turn": t.turn,
                "speaker": t.speaker,
                "codable": t.codable,
                "pieces": pieces,
                "marks": marks,
                "domains": [{"label": d, "colour": c} for d, c in domains.items()],
            }
        )
    return {"turns": out, "marks": [m for _, _, m in spans]}
