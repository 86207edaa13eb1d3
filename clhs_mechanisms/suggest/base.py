"""Shared types and helpers of the suggesters: evidence, scored suggestions, thresholds.

A suggestion is never a coding: every score carries the evidence that produced it, and a
human decision is needed before anything becomes a coding.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Iterator, Sequence

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
def _words(text: str) -> tuple[list[str], list[int], list[int]]:
    """The words of ``text`` as scikit-learn tokenises them (lower-case), with their starts and ends."""
    spans = [m.span() for m in _TOKEN.finditer(text)]
    low = text.lower()
    return [low[s:e] for s, e in spans], [s for s, _ in spans], [e for _, e in spans]


def _term_spans(text: str, term: str) -> Iterator[tuple[int, int]]:
    """Spans of the word or word bigram ``term`` in ``text``, as the TF-IDF vectorizer counted it
    (a bigram's words may have one-letter words or punctuation between them)."""
    words, starts, ends = _words(text)
    first, _, second = term.partition(" ")
    i = -1
    while True:
        try:
            i = words.index(first, i + 1)
        except ValueError:
            return
        if not second:
            yield starts[i], ends[i]
        elif i + 1 < len(words) and words[i + 1] == second:
            yield starts[i], ends[i + 1]


MATERIAL = 0.10  # a term is evidence when it carries this share of the text's positive term weight


def term_evidence(texts: Sequence[str], rows, weights: np.ndarray, vocabulary, pairs: Sequence[tuple[int, int]],
                  *, k: int = 5, label: str = "term") -> list[list[Evidence]]:
    """Evidence for each (text index, code index) pair: at most ``k`` terms with the largest positive
    contribution ``rows[i, t] * weights[t, j]`` that occur in the text, in text order, each carrying
    at least :data:`MATERIAL` of the text's positive term weight for that code (a term that moves the
    score by a tenth of what the words add is evidence; "used" at +0.02 among ten others is not).

    ``rows`` is the texts' TF-IDF matrix over ``vocabulary`` (a fitted word vectorizer). Terms of
    stop words only ("and our") are true contributions but no evidence a reader can use (they count
    in the total, never as evidence). The contributions of all pairs are ranked in one vectorised
    pass; only the best few per pair are located in the text.
    """
    out: list[list[Evidence]] = [[] for _ in pairs]
    if not len(pairs):
        return out
    texts_of, codes_of = (np.asarray(a, dtype=np.int64) for a in zip(*pairs))
    by_code = np.ascontiguousarray(weights.T)
    pair, cols, value = [], [], []
    total = np.zeros(len(pairs))
    for j in np.unique(codes_of).tolist():  # one sparse row gather per code
        at = np.flatnonzero(codes_of == j)
        sub = rows[texts_of[at]]
        contribution = sub.data * by_code[j, sub.indices]
        owner = np.repeat(at, np.diff(sub.indptr))
        total += np.bincount(owner, weights=np.maximum(contribution, 0), minlength=len(pairs))
        keep = (contribution > 0) & vocabulary.informative_[sub.indices]
        pair.append(owner[keep])
        cols.append(sub.indices[keep])
        value.append(contribution[keep])
    pair, cols, value = np.concatenate(pair), np.concatenate(cols), np.concatenate(value)
    share = value / np.maximum(total[pair], 1e-12)
    material = share >= MATERIAL
    pair, cols, value, share = pair[material], cols[material], value[material], share[material]
    order = np.lexsort((-value, pair))
    pair, cols, value, share = pair[order], cols[order], value[order], share[order]
    bounds = np.r_[0, np.cumsum(np.bincount(pair, minlength=len(pairs)))].tolist()
    names, cols, share = vocabulary.terms_.tolist(), cols.tolist(), share.tolist()
    for p, (i, found) in enumerate(zip(texts_of.tolist(), out)):
        if bounds[p] == bounds[p + 1]:
            continue
        text, taken = texts[i], []
        for c in range(bounds[p], bounds[p + 1]):
            term = names[cols[c]]
            for s, e in list(_term_spans(text, term)) or term_spans(text, term):
                for ts, te in taken:
                    if s < te and ts < e:
                        break
                else:
                    found.append(Evidence(s, e, text[s:e], f"{label} '{term}' ({share[c]:.0%} of the term weight)"))
                    taken.append((s, e))
                    break
            if len(found) >= k:
                break
        found.sort(key=lambda ev: ev.start)
    return out


def ranked_pairs(scores: np.ndarray, thresholds: np.ndarray, floor: float) -> list[tuple[int, int]]:
    """(text index, code index) of every score reaching ``floor * threshold``, each text's best first."""
    rank = np.argsort(-scores, axis=1, kind="mergesort")
    ok = np.take_along_axis(scores >= floor * thresholds, rank, axis=1)
    return [(i, j) for i, row in enumerate(rank.tolist()) for j, good in zip(row, ok[i].tolist()) if good]


def balanced_weights(y: np.ndarray, base: np.ndarray) -> np.ndarray:
    """``base`` sample weights scaled as scikit-learn's ``class_weight="balanced"`` does for labels
    0/1: each class weighs ``len(y) / (2 * its count)``."""
    w = base.astype(float).copy()
    for v in (0, 1):
        n = (y == v).sum()
        if n:
            w[y == v] *= len(y) / (2.0 * n)
    return w


def fit_logistic(X: np.ndarray, y: np.ndarray, *, C: float = 1.0, balanced: bool = False,
                 max_iter: int = 100, offset: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    """Coefficients and intercept of the L2-penalised logistic regression (intercept not penalised)
    that ``LogisticRegression(C=C, class_weight="balanced" if balanced else None)`` fits; with
    ``offset``, each row's decision value is ``offset + X @ coef + intercept`` (a fixed term, as in
    a GLM's offset).

    Newton's method with step halving: for the one to three dense features of calibration and
    stacking it takes microseconds, where the general solver takes milliseconds a fit.
    """
    X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
    n, m = X.shape
    sw = balanced_weights(y, np.ones(n)) if balanced else np.ones(n)
    A = np.c_[X, np.ones(n)]
    reg = np.r_[np.full(m, 1.0 / C), 0.0]
    base = np.zeros(n) if offset is None else np.asarray(offset, dtype=float)

    def objective(w: np.ndarray) -> float:
        z = A @ w + base
        return float(sw @ (np.logaddexp(0.0, z) - y * z) + 0.5 * reg @ (w * w))

    w, f = np.zeros(m + 1), objective(np.zeros(m + 1))
    for _ in range(max_iter):
        p = sigmoid(A @ w + base)
        grad = A.T @ (sw * (p - y)) + reg * w
        hess = (A * (sw * p * (1.0 - p))[:, None]).T @ A + np.diag(reg + 1e-12)
        step = np.linalg.solve(hess, grad)
        t = 1.0
        while t > 1e-10:
            new = objective(w - t * step)
            if new <= f:
                break
            t /= 2
        w, f = w - t * step, min(new, f)
        if np.abs(t * step).max() < 1e-9:
            break
    return w[:m], float(w[m])


def clone(suggester, **changes):
    """A new, unfitted suggester of the same kind and settings, with ``changes`` (as scikit-learn's
    ``clone``: each keyword of the constructor is read back from the attribute of the same name)."""
    names = [name for name, p in inspect.signature(type(suggester).__init__).parameters.items()
             if p.kind is p.KEYWORD_ONLY]
    return type(suggester)(suggester.codebook, **{**{name: getattr(suggester, name) for name in names}, **changes})


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -40, 40)))
