"""Supervised suggester: one-vs-rest linear models over text, cue and speaker-role features.

Features: word 1-2 gram TF-IDF + char_wb 2-5 gram TF-IDF + the :class:`CueMatcher`'s per-code
cue scores + a one-hot of the speaker role. One ``LogisticRegression`` (balanced class weights)
per code; its margin is calibrated by Platt scaling on cross-validated margins, and the per-code
threshold maximises F1 on the same cross-validated probabilities.

For the live review app, :meth:`CodeClassifier.transform_cache` turns pending segments into a
feature matrix once, :meth:`CodeClassifier.score_cached` rescores it, and
:meth:`CodeClassifier.partial_update` moves the linear layer towards new decisions with a few
SGD passes (warm start from the current weights) without refitting the vocabulary.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from ..codebook import Codebook
from .cues import CueMatcher
from .features import CharTfidf, WordTfidf
from .logistic import balanced_weights, fit_logistic, sigmoid
from .protocol import clone
from .roles import OTHER, place_role, role_key
from .spans import term_evidence
from .thresholds import best_f1_threshold
from .training import TrainingSet
from .types import (
    ALL,
    DEFAULT_THRESHOLD,
    UNKNOWN,
    Codes,
    Evidence,
    Exemplar,
    Outputs,
    check_texts,
    code_index,
)


def row_blocks(X, parts: int = 2) -> list[sparse.csr_matrix]:
    """``X`` as ``parts`` blocks of consecutive rows, for :meth:`CodeClassifier.decision_cached`
    to multiply in parallel; cutting copies most of the matrix, so a cached one is cut once."""
    X = sparse.csr_matrix(X)
    cuts = np.linspace(0, X.shape[0], parts + 1).astype(int)
    return [X[a:b] for a, b in zip(cuts[:-1], cuts[1:])]


class CodeClassifier:
    """Multi-label linear classifier, calibrated per code, with CV-chosen thresholds.

    Parameters: ``C`` (inverse regularisation of each logistic model), ``cv`` (folds for
    calibration and thresholds; 0 = no calibration, thresholds 0.5), ``char_weight``,
    ``cue_weight``, ``role_weight`` (scales of the feature blocks), ``random_state``. A speaker
    role is matched to the trained roles whatever its spelling (:func:`~.roles.place_role`); a
    missing or unplaceable one is ``other``, the role of the codebook's examples.
    """

    method = "classifier"

    def __init__(
        self,
        codebook: Codebook,
        *,
        C: float = 4.0,
        cv: int = 4,
        char_weight: float = 0.7,
        cue_weight: float = 1.0,
        role_weight: float = 0.3,
        random_state: int = 0,
    ) -> None:
        self.codebook = codebook
        self.codes = codebook.code_ids
        self.C, self.cv = C, cv
        self.char_weight, self.cue_weight, self.role_weight = char_weight, cue_weight, role_weight
        self.random_state = random_state
        self.cue_matcher = CueMatcher(
            codebook
        )  # unfitted: fixed default weights, so features do not leak labels
        self.thresholds_ = np.full(len(self.codes), DEFAULT_THRESHOLD)
        self.coef_: np.ndarray | None = None

    @property
    def thresholds(self) -> np.ndarray:
        return self.thresholds_

    # ------------------------------------------------------------------ features
    def _fit_features(self, texts: list[str], roles: list[str | None]) -> None:
        self.word_ = WordTfidf(min_df=2, max_df=0.9, dtype=np.float32).fit(texts)
        self.char_ = CharTfidf((2, 5), min_df=2, max_features=60000, dtype=np.float32).fit(texts)
        self.roles_ = sorted({role_key(r) for r in roles} | {OTHER})

    def transform_cache(
        self, texts: Sequence[str], roles: Sequence[str | None] | None = None
    ) -> sparse.csr_matrix:
        """The feature matrix of ``texts`` (keep it to rescore with :meth:`score_cached`)."""
        texts, roles = check_texts(texts, roles)
        if self.coef_ is None:
            raise RuntimeError("CodeClassifier is not fitted")
        w = self.word_.transform(texts)
        c = self.char_.transform(texts) * self.char_weight
        q = sparse.csr_matrix(self.cue_matcher.score(texts).astype(np.float32) * self.cue_weight)
        index = {r: i for i, r in enumerate(self.roles_)}
        placed = {r: index[place_role(r, index)] for r in set(roles)}  # every text gets one role column
        cols = [placed[r] for r in roles]
        o = sparse.csr_matrix(
            (np.full(len(texts), self.role_weight, dtype=np.float32), (np.arange(len(texts)), cols)),
            shape=(len(texts), len(self.roles_)),
        )
        return sparse.hstack([w, c, q, o], format="csr", dtype=np.float32)

    def _block_slices(self) -> dict[str, slice]:
        nw, nc = len(self.word_), len(self.char_)
        k = len(self.codes)
        return {
            "word": slice(0, nw),
            "char": slice(nw, nw + nc),
            "cue": slice(nw + nc, nw + nc + k),
            "role": slice(nw + nc + k, nw + nc + k + len(self.roles_)),
        }

    # ------------------------------------------------------------------ fitting
    def _fit_code(self, X, y, sw) -> tuple[np.ndarray, float]:
        # the dual solver: far faster than the primal one with many more features than texts, same optimum
        lr = LogisticRegression(
            C=self.C,
            class_weight="balanced",
            solver="liblinear",
            dual=True,
            max_iter=200,
            random_state=self.random_state,
        )
        lr.fit(X, y, sample_weight=sw)
        return lr.coef_[0].astype(np.float32), float(lr.intercept_[0])

    def fit(self, training: TrainingSet) -> CodeClassifier:
        """Fit vocabularies, one logistic model per code, Platt calibration and thresholds by CV."""
        if training.codes != self.codes:
            raise ValueError("training set codes differ from the codebook's")
        if len(training) == 0:
            raise ValueError("empty training set")
        self._fit_features(training.texts, training.roles)
        self._keep_exemplars(training)
        self.coef_ = np.zeros((1, len(self.codes)), dtype=np.float32)  # marks fitted for transform
        X = self.transform_cache(training.texts, training.roles)
        k = len(self.codes)
        self.coef_ = np.zeros((X.shape[1], k), dtype=np.float32)
        self.intercept_ = np.zeros(k)
        self.platt_ = np.tile([1.0, 0.0], (k, 1))
        self.thresholds_ = np.full(k, DEFAULT_THRESHOLD)
        sw_all = training.sample_weight()
        rng = np.random.RandomState(self.random_state)
        for j in range(k):
            y = training.labels[:, j].astype(int)
            mask = y != UNKNOWN
            Xj, yj, swj = X[mask], y[mask], sw_all[mask]
            npos, nneg = int((yj == 1).sum()), int((yj == 0).sum())
            if npos == 0 or nneg == 0:
                p = np.clip(npos / max(1, npos + nneg), 0.02, 0.98) if (npos + nneg) else 0.02
                self.intercept_[j] = np.log(p / (1 - p))
                continue
            self.coef_[:, j], self.intercept_[j] = self._fit_code(Xj, yj, swj)
            folds = min(self.cv, npos, nneg)
            if self.cv and folds >= 2:
                margin = np.zeros(len(yj))
                skf = StratifiedKFold(folds, shuffle=True, random_state=rng.randint(1 << 30))
                for tr, te in skf.split(Xj, yj):
                    w, b = self._fit_code(Xj[tr], yj[tr], swj[tr])
                    margin[te] = Xj[te] @ w + b
                self._calibrate_code(j, margin, yj)
        self.n_train_ = len(training)
        return self

    def _calibrate_code(self, j: int, margin: np.ndarray, y: np.ndarray) -> None:
        mask = y != UNKNOWN
        margin, y = margin[mask], y[mask].astype(int)
        if len(set(y)) < 2:
            return
        coef, intercept = fit_logistic(margin[:, None], y, C=1e4)
        self.platt_[j] = (coef[0], intercept)
        self.thresholds_[j] = best_f1_threshold(y, sigmoid(self.platt_[j, 0] * margin + self.platt_[j, 1]))

    def uncalibrated(self) -> CodeClassifier:
        """An unfitted copy with ``cv=0``: no cross-validated calibration of its own, for a caller that
        has held-out margins (the ensemble's folds) to :meth:`calibrate` it with."""
        return clone(self, cv=0)

    def calibrate(self, margins: np.ndarray, labels: np.ndarray) -> CodeClassifier:
        """Platt scaling and F1-optimal thresholds from held-out margins ``(n, k)`` and labels (-1
        ignored)."""
        for j in range(len(self.codes)):
            self._calibrate_code(j, margins[:, j], labels[:, j])
        return self

    def partial_update(
        self,
        training: TrainingSet,
        X: sparse.csr_matrix | None = None,
        *,
        epochs: int = 3,
        eta: float = 0.05,
        batch: int = 256,
    ) -> CodeClassifier:
        """Move the linear layer towards new labelled rows (-1 ignored) with warm-started SGD.

        Mini-batch SGD on the log loss (constant rate ``eta``; L2 decay towards the full fit's
        strength; balanced sample weights per code; intercept steps damped as scikit-learn does for
        sparse input): one sparse product a mini-batch updates every code at once; a code with no
        known label in ``training`` keeps its weights exactly. Vocabularies,
        calibration and thresholds are kept; ``X`` is the cached feature matrix of
        ``training.texts`` if the caller has it (else it is computed). Quick, not a full refit.
        """
        if self.coef_ is None:
            raise RuntimeError("CodeClassifier is not fitted")
        if X is None:
            X = self.transform_cache(training.texts, training.roles)
        X = sparse.csr_matrix(X, dtype=np.float64)
        alpha = 1.0 / (self.C * max(self.n_train_ + len(training), 1))
        labels, base = training.labels, training.sample_weight()
        weight = np.zeros(labels.shape)  # 0 where the label is unknown
        for j in range(len(self.codes)):
            known = labels[:, j] != UNKNOWN
            y = labels[known, j]
            weight[known, j] = balanced_weights(y, base[known]) if len(set(y)) == 2 else base[known]
        W, b = self.coef_.astype(np.float64), self.intercept_.astype(float)
        rng = np.random.RandomState(self.random_state)
        rows = np.flatnonzero((labels != UNKNOWN).any(axis=1))
        for _ in range(epochs):
            order = rng.permutation(rows)
            for start in range(0, len(order), batch):
                at = order[start : start + batch]
                Xb = X[at]
                grad = (sigmoid(np.asarray(Xb @ W) + b) - (labels[at] == 1)) * weight[at]
                W *= (1.0 - eta * alpha) ** (labels[at] != UNKNOWN).sum(axis=0)
                W -= eta * np.asarray(Xb.T @ grad)
                b -= eta * 0.01 * grad.sum(axis=0)
        self.coef_ = W.astype(np.float32)
        self.intercept_ = b
        return self

    # ------------------------------------------------------------------ scoring
    def decision_cached(self, X, codes: Codes = ALL) -> np.ndarray:
        """Raw linear margins of a cached feature matrix, or of its :func:`row_blocks`, for
        ``codes`` (default all).

        A large matrix is multiplied in two threads, one block of rows each (scipy's sparse
        product releases the GIL): the app rescores every pending segment after each update.
        """
        blocks = X if isinstance(X, list) else row_blocks(X) if X.shape[0] >= 10_000 else [X.tocsr()]
        coef, intercept = self.coef_[:, codes], self.intercept_[codes]
        if len(blocks) == 1:
            return np.asarray(blocks[0] @ coef) + intercept
        with ThreadPoolExecutor(len(blocks)) as pool:
            return np.vstack(list(pool.map(lambda block: np.asarray(block @ coef), blocks))) + intercept

    def score_cached(self, X) -> np.ndarray:
        """Calibrated probabilities ``(n, k)`` of a cached feature matrix."""
        return self.calibrated(self.decision_cached(X))

    def calibrated(self, margin: np.ndarray, codes: Codes = ALL) -> np.ndarray:
        """Probabilities from raw margins of ``codes`` (default all; per-code Platt scaling)."""
        return sigmoid(margin * self.platt_[codes, 0] + self.platt_[codes, 1])

    def outputs(self, texts: Sequence[str], roles: Sequence[str | None] | None = None) -> Outputs:
        """Margins (raw), calibrated probabilities and word TF-IDF rows (for evidence) of a batch."""
        texts, roles = check_texts(texts, roles)
        if not texts:
            return Outputs(np.zeros((0, len(self.codes))), np.zeros((0, len(self.codes))), None)
        X = self.transform_cache(texts, roles)
        margin = self.decision_cached(X)
        return Outputs(margin, self.calibrated(margin), X[:, self._block_slices()["word"]])

    def score(self, texts: Sequence[str], roles: Sequence[str | None] | None = None) -> np.ndarray:
        """Calibrated probabilities ``(n, k)`` in [0, 1]."""
        return self.outputs(texts, roles).scores

    def evidence(self, text: str, code: str, role: str | None = None, k: int = 5) -> list[Evidence]:
        """Words/bigrams (coef x tf-idf) and cue matches that raised this segment's score most."""
        return self.batch_evidence(
            [text], self.outputs([text], [role]), [(0, code_index(self.codes, code))], k=k
        )[0]

    def batch_evidence(
        self,
        texts: list[str],
        outputs: Outputs,
        pairs: Sequence[tuple[int, int]],
        k: int = 5,
        *,
        prefix: str = "",
    ) -> list[list[Evidence]]:
        """Evidence for each (text index, code index) pair, from the batch's ``outputs``; ``prefix``
        starts each ``why``."""
        blocks = self._block_slices()
        out = term_evidence(
            texts,
            outputs.terms,
            self.coef_[blocks["word"]],
            self.word_,
            pairs,
            k=k,
            label=f"{prefix}learnt term",
        )
        hits = self.cue_matcher.match(texts)
        for (i, j), found in zip(pairs, out):
            mine = [h for h in hits[i] if h.code == j]
            if not mine or float(self.coef_[blocks["cue"].start + j, j]) <= 0:
                continue
            taken = {(e.start, e.end) for e in found}
            found.extend(
                Evidence(h.start, h.end, texts[i][h.start : h.end], f"{prefix}{h.described}")
                for h in mine
                if (h.start, h.end) not in taken
            )
            found.sort(key=lambda e: e.start)
        return out

    # ------------------------------------------------------------------ exemplars
    def _keep_exemplars(self, training: TrainingSet) -> None:
        """The coded texts a suggestion can be compared with: every training text positive for a code."""
        positive = (training.labels == 1).any(axis=1)
        self.exemplar_texts_ = [t for t, keep in zip(training.texts, positive) if keep]
        self.exemplar_sources_ = [s for s, keep in zip(training.sources, positive) if keep]
        self.exemplar_codes_ = (training.labels[positive] == 1).astype(np.int8)
        self._exemplar_matrix = None

    def exemplars(self, text: str, code: str, role: str | None = None, k: int = 3) -> list[Exemplar]:
        """The ``k`` coded texts of ``code`` most similar to ``text`` (cosine of their word and
        character TF-IDF, the classifier's own text features), best first; the text itself is skipped."""
        j = code_index(self.codes, code)
        rows = np.flatnonzero(self.exemplar_codes_[:, j]) if len(self.exemplar_texts_) else np.array([], int)
        if not len(rows) or not text.strip():
            return []
        if self._exemplar_matrix is None:  # built on first use: only explanations need it
            self._exemplar_matrix = self._text_features(self.exemplar_texts_)
        sims = (self._exemplar_matrix[rows] @ self._text_features([text]).T).toarray().ravel()
        out = []
        for i in np.argsort(-sims, kind="stable"):
            row = rows[i]
            if self.exemplar_texts_[row].strip() == text.strip():
                continue
            out.append(Exemplar(self.exemplar_texts_[row], self.exemplar_sources_[row], float(sims[i])))
            if len(out) == k:
                break
        return out

    def _text_features(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """Word and character TF-IDF of ``texts`` (the classifier's text blocks), rows of unit length."""
        X = sparse.hstack(
            [self.word_.transform(list(texts)), self.char_.transform(list(texts)) * self.char_weight],
            format="csr",
        )
        norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1)).ravel())
        return sparse.csr_matrix(X.multiply(1.0 / np.maximum(norms, 1e-12)[:, None]))

    # ------------------------------------------------------------------ persistence
    def get_state(self) -> dict:
        return {
            "word": self.word_.get_state(),
            "char": self.char_.get_state(),
            "roles": list(self.roles_),
            "coef": self.coef_,
            "intercept": self.intercept_,
            "platt": self.platt_,
            "thresholds": self.thresholds_,
            "n_train": int(self.n_train_),
            "exemplar_texts": list(self.exemplar_texts_),
            "exemplar_sources": list(self.exemplar_sources_),
            "exemplar_codes": self.exemplar_codes_,
        }

    def set_state(self, state: dict) -> CodeClassifier:
        self.word_, self.char_ = WordTfidf.from_state(state["word"]), CharTfidf.from_state(state["char"])
        self.roles_ = list(state["roles"])
        self.coef_ = np.asarray(state["coef"], dtype=np.float32)
        self.intercept_ = np.asarray(state["intercept"], dtype=float)
        self.platt_ = np.asarray(state["platt"], dtype=float)
        self.thresholds_ = np.asarray(state["thresholds"], dtype=float)
        self.n_train_ = int(state["n_train"])
        self.exemplar_texts_, self.exemplar_sources_ = (
            list(state["exemplar_texts"]),
            list(state["exemplar_sources"]),
        )
        self.exemplar_codes_ = np.asarray(state["exemplar_codes"], dtype=np.int8).reshape(
            len(self.exemplar_texts_), len(self.codes)
        )
        self._exemplar_matrix = None
        return self
