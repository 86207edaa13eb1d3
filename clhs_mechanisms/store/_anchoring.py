"""Where a coding's quote lies in a changed text, and which segment holds a span.

A coding stores its quote with some context either side; when its document is replaced,
the quote is looked up in the new text and the occurrence whose context matches best wins.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

CONTEXT_CHARS = 40


def anchor(text: str, quote: str, before: str, after: str, hint: int) -> int | None:
    """Where ``quote`` now starts in ``text``: the occurrence whose context matches best."""
    if not quote:
        return None
    best, best_key = None, None
    for m in re.finditer(re.escape(quote), text):
        pos = m.start()
        left = text[max(0, pos - len(before)) : pos]
        right = text[m.end() : m.end() + len(after)]
        score = _common_suffix(left, before) + _common_prefix(right, after)
        key = (-score, abs(pos - hint))
        if best_key is None or key < best_key:
            best, best_key = pos, key
    return best


def context(text: str, start: int, end: int) -> dict[str, str]:
    """The context a coding of ``text[start:end]`` keeps, so it can be re-anchored later."""
    return {
        "context_before": text[max(0, start - CONTEXT_CHARS) : start],
        "context_after": text[end : end + CONTEXT_CHARS],
    }


def containing(seg_rows: Sequence[Mapping[str, Any]], start: int, end: int) -> str | None:
    """The segment that contains the span, else the one it overlaps most."""
    best, best_overlap = None, 0
    for s in seg_rows:
        overlap = min(end, s["end"]) - max(start, s["start"])
        if s["start"] <= start and end <= s["end"]:
            return s["id"]
        if overlap > best_overlap:
            best, best_overlap = s["id"], overlap
    return best


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def _common_suffix(a: str, b: str) -> int:
    return _common_prefix(a[::-1], b[::-1])
