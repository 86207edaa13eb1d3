"""Per-code thresholds: the F1-optimal cut of a code's scores, and the (text, code) pairs a
suggestion pass keeps."""

from __future__ import annotations

import numpy as np

from .types import DEFAULT_THRESHOLD, MIN_POSITIVES, UNKNOWN


def best_f1_threshold(
    y: np.ndarray, s: np.ndarray, *, min_positives: int = MIN_POSITIVES, default: float = DEFAULT_THRESHOLD
) -> float:
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


def ranked_pairs(scores: np.ndarray, thresholds: np.ndarray, floor: float) -> list[tuple[int, int]]:
    """(text index, code index) of every score reaching ``floor * threshold``, each text's best first."""
    rank = np.argsort(-scores, axis=1, kind="mergesort")
    ok = np.take_along_axis(scores >= floor * thresholds, rank, axis=1)
    return [(i, j) for i, row in enumerate(rank.tolist()) for j, good in zip(row, ok[i].tolist()) if good]
