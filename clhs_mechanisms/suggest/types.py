"""The shared vocabulary of the suggesters: label and threshold constants, the code columns of a
scoring step, and the values they pass around (evidence, exemplars, a batch's outputs, a scored
suggestion).

A suggestion is never a coding: every score carries the evidence that produced it, and a human
decision is needed before anything becomes a coding.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

UNKNOWN = -1
DEFAULT_THRESHOLD = 0.5
FLOOR = 0.5
"""Suggestions are kept down to ``FLOOR`` times their code's threshold: near misses a reviewer can
catch. On corpus/gold/test.jsonl (ensemble, trained on the codebook and train.jsonl) the band from
half the threshold to the threshold holds 1.1 suggestions per segment, 16% of them right, and 11%
of all gold codings; an absolute band of 0.15 below the threshold held 5.5 per segment, 5% right."""
MIN_POSITIVES = 5
ALL = slice(None)  # every code: the default columns of the scoring steps
Codes = np.ndarray | slice  # columns of codes: indices, a boolean mask or a slice


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
class Exemplar:
    """An already-coded text like the one suggested: what it says, where it came from (a codebook
    example, a gold file's row, a project coding) and how similar it is (cosine, 0 to 1)."""

    text: str
    source: str
    similarity: float


@dataclass(frozen=True)
class Outputs:
    """A suggester's outputs for one batch of texts, computed once and shared by scoring, stacking
    and evidence: ``raw`` (its uncalibrated output, e.g. a margin or a cosine), ``scores``
    (calibrated, in [0, 1]) and ``terms`` (the texts' word TF-IDF rows, or None)."""

    raw: np.ndarray
    scores: np.ndarray
    terms: object = None


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


def check_texts(
    texts: Sequence[str], roles: Sequence[str | None] | None = None
) -> tuple[list[str], list[str | None]]:
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
