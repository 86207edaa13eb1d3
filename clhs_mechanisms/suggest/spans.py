"""Evidence as spans of a segment's text: where a word n-gram occurs, and which of a linear
model's terms carried a material share of a text's score."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from functools import lru_cache

import numpy as np

from .types import Evidence


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


def term_evidence(
    texts: Sequence[str],
    rows,
    weights: np.ndarray,
    vocabulary,
    pairs: Sequence[tuple[int, int]],
    *,
    k: int = 5,
    label: str = "term",
) -> list[list[Evidence]]:
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
                    found.append(
                        Evidence(s, e, text[s:e], f"{label} '{term}' ({share[c]:.0%} of the term weight)")
                    )
                    taken.append((s, e))
                    break
            if len(found) >= k:
                break
        found.sort(key=lambda ev: ev.start)
    return out
