"""Cold-start suggester: cosine similarity between a segment and each code's description.

Each code is represented by its label, definition, include criteria, examples and cues. Segments
and code descriptions live in one TF-IDF space (word 1-2 grams, lower case, plus char_wb 3-5
grams); needs no training data. With training data, :meth:`CodebookSimilarity.fit` calibrates the
cosine per code (Platt scaling) and picks per-code thresholds.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import normalize

from ..codebook import Codebook
from .base import (DEFAULT_THRESHOLD, MIN_POSITIVES, UNKNOWN, best_f1_threshold, check_texts, code_index,
                   top_term_evidence, feature_names)
from .training import TrainingSet


def code_document(code) -> str:
    """The text that stands for a code: label, definition, include criteria, examples, cues."""
    return "\n".join([code.label, code.definition, *code.include, *code.examples, *code.cues])


class CodebookSimilarity:
    """Score codes by TF-IDF cosine similarity to their codebook description.

    Cold start: ``score = 1 - exp(-cosine / scale)``. After :meth:`fit` on a training set, codes
    with at least ``MIN_POSITIVES`` known positives get a per-code logistic calibration of the
    cosine and an F1-optimal threshold; others keep the cold-start mapping and threshold.
    """

    method = "similarity"

    def __init__(self, codebook: Codebook, *, scale: float = 0.15, char_weight: float = 0.5) -> None:
        self.codebook = codebook
        self.codes = codebook.code_ids
        self.scale = scale
        self.char_weight = char_weight
        self.calibration_ = np.full((len(self.codes), 2), np.nan)  # (slope, intercept) or nan
        self.thresholds_ = np.full(len(self.codes), DEFAULT_THRESHOLD)
        self._fit_space([])

    @property
    def thresholds(self) -> np.ndarray:
        return self.thresholds_

    def _fit_space(self, extra_texts: list[str]) -> None:
        docs = [code_document(c) for c in self.codebook.codes]
        corpus = docs + list(extra_texts)
        self.word_ = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, stop_words="english", min_df=1)
        self.char_ = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, min_df=1)
        self.word_.fit(corpus)
        self.char_.fit(corpus)
        self.code_matrix_ = self._vectorize(docs)

    def _vectorize(self, texts: list[str]) -> sparse.csr_matrix:
        w = normalize(self.word_.transform(texts))
        c = normalize(self.char_.transform(texts)) * np.sqrt(self.char_weight)
        return normalize(sparse.hstack([w, c]).tocsr())

    def cosine(self, texts: Sequence[str]) -> np.ndarray:
        """Raw cosine similarity ``(n, k)`` of each text to each code description."""
        texts, _ = check_texts(texts)
        if not texts:
            return np.zeros((0, len(self.codes)))
        return np.asarray((self._vectorize(texts) @ self.code_matrix_.T).todense())

    def _map(self, cos: np.ndarray) -> np.ndarray:
        out = 1.0 - np.exp(-cos / self.scale)
        for j, (a, b) in enumerate(self.calibration_):
            if not np.isnan(a):
                out[:, j] = 1.0 / (1.0 + np.exp(-(a * cos[:, j] + b)))
        return np.clip(out, 0.0, 1.0)

    def fit(self, training: TrainingSet) -> "CodebookSimilarity":
        """Re-fit the TF-IDF vocabulary with the training texts, calibrate and set thresholds."""
        if training.codes != self.codes:
            raise ValueError("training set codes differ from the codebook's")
        self._fit_space(training.texts)
        cos = self.cosine(training.texts)
        self.calibration_[:] = np.nan
        for j in range(len(self.codes)):
            y = training.labels[:, j]
            mask = y != UNKNOWN
            if (y[mask] == 1).sum() >= MIN_POSITIVES and (y[mask] == 0).sum() >= MIN_POSITIVES:
                lr = LogisticRegression(C=100.0, class_weight="balanced").fit(cos[mask, j:j + 1], y[mask])
                self.calibration_[j] = (lr.coef_[0, 0], lr.intercept_[0])
        scores = self._map(cos)
        self.thresholds_ = np.array([best_f1_threshold(training.labels[:, j], scores[:, j],
                                                       default=float(self._map(np.full((1, len(self.codes)), 0.12))[0, j]))
                                     for j in range(len(self.codes))])
        return self

    def score(self, texts: Sequence[str], roles: Sequence[str | None] | None = None) -> np.ndarray:
        """Scores ``(n, k)`` in [0, 1]; roles are accepted and ignored."""
        texts, _ = check_texts(texts, roles)
        return self._map(self.cosine(texts))

    def term_rows(self, texts: Sequence[str]):
        """Normalised word TF-IDF rows of ``texts``, so ``evidence`` can skip vectorising one at a time."""
        return normalize(self.word_.transform(list(texts))).tocsr()

    def evidence(self, text: str, code: str, role: str | None = None, k: int = 5, *, row=None) -> list:
        """The shared words/bigrams contributing most to the cosine, as spans of ``text``.

        ``row``: this text's row of ``term_rows`` as (column indices, values), computed here when
        not given.
        """
        j = code_index(self.codes, code)
        if row is None:
            x = normalize(self.word_.transform([text])).tocsr()
            row = (x.indices, x.data)
        cols, vals = row
        refs = self.__dict__.get("_refs")
        if refs is None or refs[0] is not self.word_:
            docs = [code_document(c) for c in self.codebook.codes]
            refs = (self.word_, normalize(self.word_.transform(docs)).toarray())
            self.__dict__["_refs"] = refs
        shared = vals * refs[1][j, cols]
        names = feature_names(self, self.word_)
        keep = shared > 0
        contrib = dict(zip(names[cols[keep]], shared[keep].tolist()))
        return top_term_evidence(text, contrib, k=k, label="shared term")

    def get_state(self) -> dict:
        return {"word": self.word_, "char": self.char_, "calibration": self.calibration_,
                "thresholds": self.thresholds_}

    def set_state(self, state: dict) -> "CodebookSimilarity":
        self.word_, self.char_ = state["word"], state["char"]
        self.calibration_ = np.asarray(state["calibration"], dtype=float)
        self.thresholds_ = np.asarray(state["thresholds"], dtype=float)
        self.code_matrix_ = self._vectorize([code_document(c) for c in self.codebook.codes])
        return self
