"""Cold-start suggester: cosine similarity between a segment and each code's description.

Each code is represented by its label, definition, include criteria, examples and cues. Segments
and code descriptions live in one TF-IDF space (word 1-2 grams, lower case, plus char_wb 3-5
grams); needs no training data. With training data, :meth:`CodebookSimilarity.fit` calibrates the
cosine per code (Platt scaling) and picks per-code thresholds.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import sparse
from sklearn.preprocessing import normalize

from ..codebook import Codebook
from .features import CharTfidf, WordTfidf
from .logistic import fit_logistic
from .spans import term_evidence
from .thresholds import best_f1_threshold
from .training import TrainingSet
from .types import DEFAULT_THRESHOLD, MIN_POSITIVES, UNKNOWN, Outputs, check_texts, code_index


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
        self.word_ = WordTfidf(stop_words="english").fit(corpus)
        self.char_ = CharTfidf((3, 5)).fit(corpus)
        self._code_space()

    def _code_space(self) -> None:
        docs = [code_document(c) for c in self.codebook.codes]
        words = self.word_.transform(docs)
        self.code_matrix_ = self._vectorize(words, docs)
        self._code_terms = words.toarray()  # for evidence: term weights per code

    def _vectorize(self, words: sparse.csr_matrix, texts: list[str]) -> sparse.csr_matrix:
        """Rows of the joint space from the texts' word TF-IDF rows (unit length) and their chars."""
        c = self.char_.transform(texts) * np.sqrt(self.char_weight)
        return normalize(sparse.hstack([words, c], format="csr"))

    def outputs(self, texts: Sequence[str], roles: Sequence[str | None] | None = None) -> Outputs:
        """Cosines (raw), scores and word TF-IDF rows (for evidence) of a batch; roles are ignored."""
        texts, _ = check_texts(texts, roles)
        if not texts:
            return Outputs(np.zeros((0, len(self.codes))), np.zeros((0, len(self.codes))), None)
        words = self.word_.transform(texts)
        cos = (self._vectorize(words, texts) @ self.code_matrix_.T).toarray()
        return Outputs(cos, self._map(cos), words)

    def cosine(self, texts: Sequence[str]) -> np.ndarray:
        """Raw cosine similarity ``(n, k)`` of each text to each code description."""
        return self.outputs(texts).raw

    def _map(self, cos: np.ndarray) -> np.ndarray:
        out = 1.0 - np.exp(-cos / self.scale)
        for j, (a, b) in enumerate(self.calibration_):
            if not np.isnan(a):
                out[:, j] = 1.0 / (1.0 + np.exp(-(a * cos[:, j] + b)))
        return np.clip(out, 0.0, 1.0)

    def fit(self, training: TrainingSet) -> CodebookSimilarity:
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
                coef, intercept = fit_logistic(cos[mask, j : j + 1], y[mask], C=100.0, balanced=True)
                self.calibration_[j] = (coef[0], intercept)
        scores = self._map(cos)
        self.thresholds_ = np.array(
            [
                best_f1_threshold(
                    training.labels[:, j],
                    scores[:, j],
                    default=float(self._map(np.full((1, len(self.codes)), 0.12))[0, j]),
                )
                for j in range(len(self.codes))
            ]
        )
        return self

    def score(self, texts: Sequence[str], roles: Sequence[str | None] | None = None) -> np.ndarray:
        """Scores ``(n, k)`` in [0, 1]; roles are accepted and ignored."""
        return self.outputs(texts, roles).scores

    def evidence(self, text: str, code: str, role: str | None = None, k: int = 5) -> list:
        """The shared words/bigrams contributing most to the cosine, as spans of ``text``."""
        return self.batch_evidence([text], self.outputs([text]), [(0, code_index(self.codes, code))], k=k)[0]

    def batch_evidence(
        self,
        texts: list[str],
        outputs: Outputs,
        pairs: Sequence[tuple[int, int]],
        k: int = 5,
        *,
        prefix: str = "",
    ) -> list[list]:
        """Evidence for each (text index, code index) pair, from the batch's ``outputs``; ``prefix``
        starts each ``why``."""
        return term_evidence(
            texts,
            outputs.terms,
            self._code_terms.T,
            self.word_,
            pairs,
            k=k,
            label=f"{prefix}term shared with the code's description",
        )

    def get_state(self) -> dict:
        return {
            "word": self.word_.get_state(),
            "char": self.char_.get_state(),
            "calibration": self.calibration_,
            "thresholds": self.thresholds_,
        }

    def set_state(self, state: dict) -> CodebookSimilarity:
        self.word_, self.char_ = WordTfidf.from_state(state["word"]), CharTfidf.from_state(state["char"])
        self.calibration_ = np.asarray(state["calibration"], dtype=float)
        self.thresholds_ = np.asarray(state["thresholds"], dtype=float)
        self._code_space()
        return self
