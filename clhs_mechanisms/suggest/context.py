"""A segment's codes depend on its neighbours: a second stage over the scores around each segment.

Codes run in topical streaks through an interview: in the shipped gold data a code present in one
segment is in the next one a third of the time, against a base rate of 4 %. :class:`ContextStage`
rescores every (segment, code) from the first stage's margins (score against threshold, in logits)
of the segment itself, the two segments before and after it in the same document, and the
document's mean margin for that code. One logistic model is shared by all codes (with a per-code
intercept): per-code models overfit on 30-100 positives a code. One threshold for all codes is
chosen by cross-validation grouped by document, maximising micro-F1 plus mean kappa.

Texts carry their document in ``groups`` (``None``: a text on its own), in reading order within a
document. Training uses only grouped rows with known labels (fully coded documents, such as the
gold files); with fewer than two such documents the stage stays off and passes scores through.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from scipy import sparse
from sklearn.model_selection import GroupKFold

from .base import ALL, UNKNOWN, Codes, fit_logistic, sigmoid

SHIFTS = (-1, 1, -2, 2)
N_FEATURES = 2 + len(SHIFTS)  # own margin, neighbours' margins, document mean
MIN_GROUPS = 2
GRID = np.linspace(50, 99.9, 60)  # candidate thresholds: percentiles of held-out decision values


LIMIT = 1e-4  # scores are clipped to [LIMIT, 1 - LIMIT] before taking logits


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, LIMIT, 1 - LIMIT)
    return np.log(p / (1 - p))


def group_ids(groups: Sequence[str | None] | None, n: int) -> np.ndarray:
    """An integer per text: texts of one document share it, a text without one gets its own."""
    if groups is None:
        return np.arange(n)
    if len(groups) != n:
        raise ValueError(f"{len(groups)} groups for {n} texts")
    ids: dict[str, int] = {}
    return np.array([n + ids.setdefault(g, len(ids)) if g is not None else i for i, g in enumerate(groups)],
                    dtype=np.int64)


def neighbour(gid: np.ndarray, shift: int) -> np.ndarray:
    """Index of the text ``shift`` places away in the same group (texts in reading order), else -1."""
    n = len(gid)
    idx = np.arange(n) + shift
    ok = (idx >= 0) & (idx < n)
    ok[ok] &= gid[idx[ok]] == gid[ok]
    return np.where(ok, idx, -1)


class Layout:
    """Where each text's neighbours and document are, worked out once for a fixed list of texts
    (live rescoring transforms the same segments after every decision)."""

    def __init__(self, groups: Sequence[str | None] | None, n: int) -> None:
        self.gid = group_ids(groups, n)
        at = {shift: neighbour(self.gid, shift) for shift in SHIFTS}
        self.missing = {shift: np.flatnonzero(i < 0) for shift, i in at.items()}  # texts without that neighbour
        self.safe = {shift: np.maximum(i, 0) for shift, i in at.items()}
        _, self.inverse, counts = np.unique(self.gid, return_inverse=True, return_counts=True)
        self.mean = sparse.csr_matrix((1.0 / counts[self.inverse], (self.inverse, np.arange(n))),
                                      shape=(len(counts), n))  # document means of a column: mean @ x

    @classmethod
    def of(cls, groups, n: int) -> "Layout":
        return groups if isinstance(groups, Layout) else cls(groups, n)


def kappa_f1(y: np.ndarray, pred: np.ndarray) -> tuple[float, float]:
    """Micro-F1 and mean Cohen's kappa over codes with positives, for 0/1 matrices ``(n, k)``
    (the figures of :func:`clhs_mechanisms.suggest.metrics`, vectorised for threshold search)."""
    y, pred = y.astype(bool), pred.astype(bool)
    tp = (y & pred).sum(0).astype(float)
    fp = (~y & pred).sum(0).astype(float)
    fn = (y & ~pred).sum(0).astype(float)
    n = len(y)
    tn = n - tp - fp - fn
    micro = 2 * tp.sum() / max(1.0, 2 * tp.sum() + fp.sum() + fn.sum())
    po = (tp + tn) / n
    pe = ((tp + fp) * (tp + fn) + (fn + tn) * (fp + tn)) / n ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        kappa = np.where(pe < 1, (po - pe) / (1 - pe), (po == 1).astype(float))
    support = (tp + fn) > 0
    return float(micro), float(kappa[support].mean()) if support.any() else 0.0


class ContextStage:
    """Rescore (segment, code) pairs from the margins around each segment; see the module docstring.

    ``active`` marks the codes the stage rescores (the others pass through, e.g. codes the first
    stage could not fit). After :meth:`fit`, :meth:`transform` maps first-stage scores to context
    scores whose threshold is 0.5 for every active code.
    """

    def __init__(self, *, C: float = 0.1, folds: int = 5) -> None:
        self.C, self.folds = C, folds
        self.coef_: np.ndarray | None = None  # N_FEATURES margins, then one intercept per code
        self.intercept_ = 0.0
        self.threshold_ = 0.0  # on the decision value
        self.fill_: np.ndarray | None = None  # margin used for a missing neighbour, per code
        self.active_: np.ndarray | None = None

    @property
    def fitted(self) -> bool:
        return self.coef_ is not None

    def _columns(self, margins: np.ndarray, layout: Layout, codes: Codes = ALL):
        """The ``N_FEATURES`` inputs, each ``(n, k)``: own margin, the neighbours', the document mean."""
        yield margins
        for shift in SHIFTS:
            column = margins[layout.safe[shift]]
            column[layout.missing[shift]] = self.fill_[codes]
            yield column
        yield (layout.mean @ margins)[layout.inverse]

    def _decision(self, margins: np.ndarray, layout: Layout, codes: Codes = ALL) -> np.ndarray:
        """The shared model's decision value ``(n, k)``, one input at a time (no ``(n, k, f)`` array)."""
        columns = self._columns(margins, layout, codes)
        out = next(columns) * self.coef_[0] + (self.coef_[N_FEATURES:][codes] + self.intercept_)[None, :]
        for c, column in zip(self.coef_[1:N_FEATURES], columns):
            column *= c  # every column but the first is a fresh array: scaled in place
            out += column
        return out

    def fit(self, scores: np.ndarray, thresholds: np.ndarray, labels: np.ndarray,
            groups: Sequence[str | None] | None, active: np.ndarray) -> "ContextStage":
        """Fit on first-stage held-out ``scores`` ``(n, k)`` of texts whose documents are ``groups``."""
        n, k = scores.shape
        self.coef_, self.active_ = None, np.asarray(active, dtype=bool)
        if groups is None or n == 0:
            return self
        grouped = np.array([g is not None for g in groups])
        layout = Layout(groups, n)
        gid = layout.gid
        if len(np.unique(gid[grouped])) < MIN_GROUPS or not self.active_.any():
            return self
        margins = logit(scores) - logit(thresholds)[None, :]
        self.fill_ = np.percentile(margins[grouped], 5, axis=0)
        keep = grouped[:, None] & self.active_[None, :] & (labels != UNKNOWN)
        rows, cols = np.nonzero(keep)
        Xk = np.column_stack([column[rows, cols] for column in self._columns(margins, layout)] + [np.eye(k)[cols]])
        yk = labels[rows, cols].astype(float)
        if yk.sum() < 1 or yk.sum() == len(yk):
            return self
        held = np.zeros(len(yk))
        seg_groups = gid[rows]
        for train, test in GroupKFold(min(self.folds, len(np.unique(seg_groups)))).split(Xk, yk, seg_groups):
            coef, intercept = fit_logistic(Xk[train], yk[train], C=self.C)
            held[test] = Xk[test] @ coef + intercept
        coef, intercept = fit_logistic(Xk, yk, C=self.C)
        y_mat = np.zeros((n, k), dtype=bool)
        y_mat[rows, cols] = yk.astype(bool)
        segs = np.unique(rows)
        y_kept = y_mat[segs][:, self.active_]  # the same for every candidate threshold

        def quality(t: float) -> float:
            pred = np.zeros((n, k), dtype=bool)
            pred[rows, cols] = held >= t
            return sum(kappa_f1(y_kept, pred[segs][:, self.active_]))

        self.threshold_ = float(max(np.percentile(held, GRID), key=quality))
        self.coef_, self.intercept_ = coef, float(intercept)
        return self

    def transform(self, scores: np.ndarray, thresholds: np.ndarray,
                  groups: Sequence[str | None] | Layout | None) -> np.ndarray:
        """Context scores ``(n, k)`` (threshold 0.5 on active codes); ``scores`` as they are if unfitted.
        ``groups`` may be a :class:`Layout` of them, to rescore the same texts again cheaply."""
        if not self.fitted or len(scores) == 0:
            return scores
        out = self.rescore(logit(scores) - logit(thresholds)[None, :], groups)
        return np.where(self.active_[None, :], out, scores)

    def rescore(self, margins: np.ndarray, groups: Sequence[str | None] | Layout | None,
                codes: Codes = ALL) -> np.ndarray:
        """Context scores from first-stage margins (logit of score minus logit of threshold, within
        +-9.2) of ``codes`` (default all; the columns of ``margins``); meaningful on active codes.
        :meth:`transform` for scores in [0, 1]."""
        return sigmoid(self._decision(margins, Layout.of(groups, len(margins)), codes) - self.threshold_)

    def thresholds(self, first_stage: np.ndarray) -> np.ndarray:
        """Per-code thresholds of :meth:`transform`'s scores."""
        return np.where(self.active_, 0.5, first_stage) if self.fitted else first_stage

    def get_state(self) -> dict:
        if not self.fitted:
            return {"fitted": False}
        return {"fitted": True, "coef": self.coef_, "intercept": self.intercept_, "threshold": self.threshold_,
                "fill": self.fill_, "active": self.active_.astype(np.int64)}

    def set_state(self, state: dict) -> "ContextStage":
        if not state.get("fitted"):
            self.coef_ = None
            return self
        self.coef_ = np.asarray(state["coef"], dtype=float)
        self.intercept_, self.threshold_ = float(state["intercept"]), float(state["threshold"])
        self.fill_ = np.asarray(state["fill"], dtype=float)
        self.active_ = np.asarray(state["active"]).astype(bool)
        return self
