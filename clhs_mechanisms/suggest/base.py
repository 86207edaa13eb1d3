"""Shared types and helpers of the suggesters: evidence, scored suggestions, thresholds.

A suggestion is never a coding: every score carries the evidence that produced it, and a
human decision is needed before anything becomes a coding.
"""

from __future__ import annotations

import re
from functools import lru_cache
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

UNKNOWN = -1
DEFAULT_THRESHOLD = 0.5
MIN_POSITIVES = 5


@dataclass(frozen=True)
class Evidence:
    """A span of the segment text that supports a score.

    ``start``/``end`` are code-point offsets into the *segment text* (end-exclusive), so
    ``segment_text[start:end] == text``; ``why`` says what the span did, e.g.
    ``"cue 'give back'"`` or ``"term 'registry' (+0.82)"``.
    """

    start: int
    end: int
    text: str
    why: str


@dataclass(frozen=True)
class Scored:
    """One code suggested for one segment: its score, the threshold it is judged against, the
    method that produced it, each member's score (``components``) and the evidence."""

    code: str
    score: float
    threshold: float
    method: str
    components: dict = field(default_factory=dict)
    evidence: tuple[Evidence, ...] = ()

    @property
    def above_threshold(self) -> bool:
        return self.score >= self.threshold


def check_texts(texts: Sequence[str], roles: Sequence[str | None] | None = None) -> tuple[list[str], list[str | None]]:
    """Validate a batch of segment texts (and optional speaker roles of the same length)."""
    if isinstance(texts, str):
        raise TypeError("texts must be a sequence of strings, not a single string")
    texts = list(texts)
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise TypeError(f"texts[{i}] is {type(t).__name__}, not str")
    if roles is None:
        roles = [None] * len(texts)
    else:
        roles = list(roles)
        if len(roles) != len(texts):
            raise ValueError(f"{len(roles)} roles for {len(texts)} texts")
    return texts, roles


def code_index(codes: Sequence[str], code: str) -> int:
    """Position of ``code`` in ``codes``; a ValueError naming the code otherwise."""
    try:
        return list(codes).index(code)
    except ValueError:
        raise ValueError(f"unknown code '{code}'") from None


def best_f1_threshold(y: np.ndarray, s: np.ndarray, *, min_positives: int = MIN_POSITIVES,
                      default: float = DEFAULT_THRESHOLD) -> float:
    """The threshold on scores ``s`` that maximises F1 against 0/1 labels ``y`` (-1 ignored).

    Fewer than ``min_positives`` positives: ``default``. The threshold returned is the
    midpoint between the chosen score and the next lower one, so it generalises a little.
    """
    mask = y != UNKNOWN
    y, s = y[mask].astype(int), s[mask]
    if y.sum() < min_positives:
        return default
    order = np.argsort(-s, kind="mergesort")
    ys, ss = y[order], s[order]
    tp = np.cumsum(ys)
    k = np.arange(1, len(ys) + 1)
    f1 = 2 * tp / (k + ys.sum())
    # only cut between distinct scores
    valid = np.r_[ss[1:] < ss[:-1], True]
    f1 = np.where(valid, f1, -1)
    i = int(np.argmax(f1))
    lower = ss[i + 1] if i + 1 < len(ss) else 0.0
    return float(np.clip((ss[i] + lower) / 2, 1e-6, 1.0))


_WORD = re.compile(r"\w+(?:['’-]\w+)*")


def term_spans(text: str, term: str) -> list[tuple[int, int]]:
    """Char spans where the word n-gram ``term`` (lower-case, space-separated) occurs in ``text``.

    Words may be separated by any non-word characters in the text.
    """
    pattern = _term_pattern(term)
    return [] if pattern is None else [(m.start(), m.end()) for m in pattern.finditer(text)]


@lru_cache(maxsize=65536)
def _term_pattern(term: str) -> re.Pattern | None:
    words = term.split()
    if not words:
        return None
    return re.compile(r"(?<!\w)" + r"\W+".join(re.escape(w) for w in words) + r"(?!\w)", re.IGNORECASE)


_TOKEN = re.compile(r"(?u)\b\w\w+\b")  # scikit-learn's default token pattern


@lru_cache(maxsize=8192)
def _term_index(text: str) -> dict[str, list[tuple[int, int]]]:
    """Spans of every word and word bigram of ``text`` as scikit-learn tokenises it (lower-case).

    One pass per text instead of one regex search per candidate term.
    """
    words = [(m.group().lower(), m.start(), m.end()) for m in _TOKEN.finditer(text)]
    index: dict[str, list[tuple[int, int]]] = {}
    for i, (w, s, e) in enumerate(words):
        index.setdefault(w, []).append((s, e))
        if i + 1 < len(words):
            index.setdefault(f"{w} {words[i + 1][0]}", []).append((s, words[i + 1][2]))
    return index


def top_term_evidence(text: str, contributions: dict[str, float], *, k: int = 5, label: str = "term") -> list:
    """Evidence for the ``k`` terms with the largest positive contribution that occur in ``text``."""
    out: list[Evidence] = []
    taken: list[tuple[int, int]] = []
    for term, value in sorted(contributions.items(), key=lambda kv: -kv[1]):
        if value <= 0 or len(out) >= k:
            break
        if all(word in ENGLISH_STOP_WORDS for word in term.split()):
            continue  # "and our", "which": true contributions, but no evidence a reader can use
        for s, e in _term_index(text).get(term, ()) or term_spans(text, term):
            if any(s < te and ts < e for ts, te in taken):
                continue
            out.append(Evidence(s, e, text[s:e], f"{label} '{term}' (+{value:.2f})"))
            taken.append((s, e))
            break
    return sorted(out, key=lambda ev: ev.start)


def feature_names(owner: object, vectorizer: object) -> np.ndarray:
    """``vectorizer.get_feature_names_out()``, computed once per fitted vectorizer (it is slow)."""
    cached = owner.__dict__.get("_feature_names")
    if cached is None or cached[0] is not vectorizer:
        cached = (vectorizer, vectorizer.get_feature_names_out())
        owner.__dict__["_feature_names"] = cached
    return cached[1]


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -40, 40)))
