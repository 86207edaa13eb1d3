"""A segment's codes depend on its neighbours: a second stage over the scores around each segment.

Codes run in topical streaks through an interview: in the shipped gold data a code present in one
segment is in the next one a third of the time, against a base rate of 4 %. :class:`ContextStage`
rescores every (segment, code) from the first stage's margins (score against threshold, in logits)
of the segment itself, the two segments before and after it in the same document, and the mean
margin of the document's other segments for that code. A neighbour in the same stretch of talk
(nothing but a paragraph break between the two, so the same turn) says much more than one across
another speaker's turn (in the shipped gold data a code carries over to the next segment 45 % of
the time within a turn, 14 % across one), so each neighbour enters twice: as a same-turn and as an
other-turn neighbour, the one it is not being zero.

The model is a correction added to the segment's own margin, built only from what exists: each
neighbour enters with its margin and an indicator that it is there, so a segment with neighbours on
one side uses that side alone, and a segment with no neighbour at all (a lone text, a literature
excerpt, a gold row without a document) keeps exactly its first-stage margin: its context score is
the context-free stacked score on the same threshold. One logistic model (with the own margin as an
offset) is shared by all codes, with a per-code intercept: per-code models overfit on 30-100
positives a code. It is fitted on segments that have neighbours, and one threshold for them is
chosen by cross-validation grouped by document, maximising micro-F1 plus mean kappa.

Texts carry their place in ``groups``: a :class:`Place` (document and span), a document name
(offsets unknown: neighbours count as the same turn) or ``None`` (a text on its own), in reading
order within a document. Training uses only grouped rows with known labels (fully coded documents, such as the
gold files); with fewer than two such documents the stage stays off and passes scores through.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from scipy import sparse
from sklearn.model_selection import GroupKFold

from .logistic import fit_logistic, sigmoid
from .types import ALL, UNKNOWN, Codes

SHIFTS = (-1, 1, -2, 2)
# own margin; per neighbour, in the same turn and across a turn, its margin and a presence
# indicator; the other segments' mean margin
N_FEATURES = 1 + 4 * len(SHIFTS) + 1
TURN_GAP = 3  # characters between two segments of one turn: a space or a paragraph break
MIN_GROUPS = 2
GRID = np.linspace(50, 99.9, 60)  # candidate thresholds: percentiles of held-out decision values


LIMIT = 1e-4  # scores are clipped to [LIMIT, 1 - LIMIT] before taking logits


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, LIMIT, 1 - LIMIT)
    return np.log(p / (1 - p))


class Place(NamedTuple):
    """Where a text stands: its document and its span there (``start``/``end`` in code points), so
    that a break between turns is visible between neighbours."""

    document: str
    start: int
    end: int


Group = Place | str | None


def document_of(group: Group) -> str | None:
    return group.document if isinstance(group, Place) else group


def group_ids(groups: Sequence[Group] | None, n: int) -> np.ndarray:
    """An integer per text: texts of one document share it, a text without one gets its own."""
    if groups is None:
        return np.arange(n)
    if len(groups) != n:
        raise ValueError(f"{len(groups)} groups for {n} texts")
    ids: dict[str, int] = {}
    docs = (document_of(g) for g in groups)
    return np.array(
        [n + ids.setdefault(d, len(ids)) if d is not None else i for i, d in enumerate(docs)], dtype=np.int64
    )


def turn_ids(groups: Sequence[Group] | None, gid: np.ndarray) -> np.ndarray:
    """An integer per text: consecutive texts of one document share it unless more than
    ``TURN_GAP`` characters lie between them (another speaker's turn, a heading, a question)."""
    n = len(gid)
    new = np.ones(n, dtype=bool)
    if groups is not None and n:
        new[1:] = gid[1:] != gid[:-1]
        for i in np.flatnonzero(~new):
            a, b = groups[i - 1], groups[i]
            if isinstance(a, Place) and isinstance(b, Place) and b.start - a.end > TURN_GAP:
                new[i] = True
    return np.cumsum(new)


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

    def __init__(self, groups: Sequence[Group] | None, n: int) -> None:
        self.gid = group_ids(groups, n)
        turn = turn_ids(groups, self.gid)
        at = {shift: neighbour(self.gid, shift) for shift in SHIFTS}
        self.safe = {shift: np.maximum(i, 0) for shift, i in at.items()}
        self.same = {
            shift: ((i >= 0) & (turn[self.safe[shift]] == turn)).astype(float) for shift, i in at.items()
        }
        self.across = {
            shift: ((i >= 0) & (turn[self.safe[shift]] != turn)).astype(float) for shift, i in at.items()
        }
        _, self.inverse, counts = np.unique(self.gid, return_inverse=True, return_counts=True)
        size = counts[self.inverse]
        self.context = np.flatnonzero(size > 1)  # texts with at least one other text in their document
        self.sum = sparse.csr_matrix((np.ones(n), (self.inverse, np.arange(n))), shape=(len(counts), n))
        self.others = np.where(size > 1, 1.0 / np.maximum(size - 1, 1), 0.0)  # 1 / (number of other texts)

    @classmethod
    def of(cls, groups, n: int) -> Layout:
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
    pe = ((tp + fp) * (tp + fn) + (fn + tn) * (fp + tn)) / n**2
    with np.errstate(divide="ignore", invalid="ignore"):
        kappa = np.where(pe < 1, (po - pe) / (1 - pe), (po == 1).astype(float))
    support = (tp + fn) > 0
    return float(micro), float(kappa[support].mean()) if support.any() else 0.0


class ContextStage:
    """Rescore (segment, code) pairs from the margins around each segment; see the module docstring.

    ``active`` marks the codes the stage rescores (the others pass through, e.g. codes the first
    stage could not fit). After :meth:`fit`, :meth:`transform` maps first-stage scores to context
    scores whose threshold is 0.5 for every active code; a text without neighbours gets the
    sigmoid of its own margin, on the same side of 0.5 as its first-stage score of its threshold.
    """

    def __init__(self, *, C: float = 0.1, folds: int = 5) -> None:
        self.C, self.folds = C, folds
        self.coef_: np.ndarray | None = None  # N_FEATURES inputs, then one intercept per code
        self.intercept_ = 0.0
        self.threshold_ = 0.0  # on the decision value of texts with neighbours
        self.active_: np.ndarray | None = None

    @property
    def fitted(self) -> bool:
        return self.coef_ is not None

    @staticmethod
    def _columns(margins: np.ndarray, layout: Layout):
        """The ``N_FEATURES`` inputs of the texts with neighbours (``layout.context``), each
        ``(len(layout.context), k)``: own margin, each neighbour's margin and presence in the same
        turn and across a turn, the mean margin of the document's other texts."""
        rows = layout.context
        yield margins[rows]
        for shift in SHIFTS:
            theirs = margins[layout.safe[shift][rows]]
            for where in (layout.same, layout.across):
                present = where[shift][rows, None]
                yield theirs * present
                yield np.broadcast_to(present, (len(rows), margins.shape[1]))
        doc_sum = (layout.sum @ margins)[layout.inverse[rows]]
        yield (doc_sum - margins[rows]) * layout.others[rows, None]

    def _decision(self, margins: np.ndarray, layout: Layout, codes: Codes = ALL) -> np.ndarray:
        """The decision value ``(n, k)`` against this stage's threshold: the own margin, plus the
        model's correction for texts with neighbours, one input at a time (no ``(n, k, f)`` array)."""
        out = margins.copy()
        rows = layout.context
        if len(rows):
            corr = (self.coef_[N_FEATURES:][codes] + self.intercept_ - self.threshold_)[None, :]
            corr = np.repeat(corr, len(rows), axis=0)
            for c, column in zip(self.coef_[:N_FEATURES], self._columns(margins, layout)):
                corr += c * column
            out[rows] += corr
        return out

    def fit(
        self,
        scores: np.ndarray,
        thresholds: np.ndarray,
        labels: np.ndarray,
        groups: Sequence[Group] | None,
        active: np.ndarray,
    ) -> ContextStage:
        """Fit on first-stage held-out ``scores`` ``(n, k)`` of texts whose documents are ``groups``."""
        n, k = scores.shape
        self.coef_, self.active_ = None, np.asarray(active, dtype=bool)
        if groups is None or n == 0:
            return self
        layout = Layout(groups, n)
        rows_ctx = layout.context  # only texts with neighbours: the others keep their own margin
        if len(np.unique(layout.gid[rows_ctx])) < MIN_GROUPS or not self.active_.any():
            return self
        margins = logit(scores) - logit(thresholds)[None, :]
        known = (labels[rows_ctx] != UNKNOWN) & self.active_[None, :]
        local, cols = np.nonzero(known)
        Xk = np.column_stack(
            [column[local, cols] for column in self._columns(margins, layout)] + [np.eye(k)[cols]]
        )
        yk = labels[rows_ctx][local, cols].astype(float)
        if yk.sum() < 1 or yk.sum() == len(yk):
            return self
        offset = Xk[:, 0]
        held = np.zeros(len(yk))
        seg_groups = layout.gid[rows_ctx][local]
        for train, test in GroupKFold(min(self.folds, len(np.unique(seg_groups)))).split(Xk, yk, seg_groups):
            coef, intercept = fit_logistic(Xk[train], yk[train], C=self.C, offset=offset[train])
            held[test] = Xk[test] @ coef + intercept + offset[test]
        coef, intercept = fit_logistic(Xk, yk, C=self.C, offset=offset)
        m = len(rows_ctx)
        y_mat = np.zeros((m, k), dtype=bool)
        y_mat[local, cols] = yk.astype(bool)
        segs = np.unique(local)
        y_kept = y_mat[segs][:, self.active_]  # the same for every candidate threshold

        def quality(t: float) -> float:
            pred = np.zeros((m, k), dtype=bool)
            pred[local, cols] = held >= t
            return sum(kappa_f1(y_kept, pred[segs][:, self.active_]))

        self.threshold_ = float(max(np.percentile(held, GRID), key=quality))
        self.coef_, self.intercept_ = coef, float(intercept)
        return self

    def transform(
        self, scores: np.ndarray, thresholds: np.ndarray, groups: Sequence[Group] | Layout | None
    ) -> np.ndarray:
        """Context scores ``(n, k)`` (threshold 0.5 on active codes); ``scores`` as they are if unfitted.
        ``groups`` may be a :class:`Layout` of them, to rescore the same texts again cheaply."""
        if not self.fitted or len(scores) == 0:
            return scores
        out = self.rescore(logit(scores) - logit(thresholds)[None, :], groups)
        return np.where(self.active_[None, :], out, scores)

    def rescore(
        self, margins: np.ndarray, groups: Sequence[Group] | Layout | None, codes: Codes = ALL
    ) -> np.ndarray:
        """Context scores from first-stage margins (logit of score minus logit of threshold, within
        +-9.2) of ``codes`` (default all; the columns of ``margins``); meaningful on active codes.
        :meth:`transform` for scores in [0, 1]."""
        return sigmoid(self._decision(margins, Layout.of(groups, len(margins)), codes))

    def thresholds(self, first_stage: np.ndarray) -> np.ndarray:
        """Per-code thresholds of :meth:`transform`'s scores."""
        return np.where(self.active_, 0.5, first_stage) if self.fitted else first_stage

    def get_state(self) -> dict:
        if not self.fitted:
            return {"fitted": False}
        return {
            "fitted": True,
            "coef": self.coef_,
            "intercept": self.intercept_,
            "threshold": self.threshold_,
            "active": self.active_.astype(np.int64),
        }

    def set_state(self, state: dict) -> ContextStage:
        if not state.get("fitted"):
            self.coef_ = None
            return self
        self.coef_ = np.asarray(state["coef"], dtype=float)
        self.intercept_, self.threshold_ = float(state["intercept"]), float(state["threshold"])
        self.active_ = np.asarray(state["active"]).astype(bool)
        return self
