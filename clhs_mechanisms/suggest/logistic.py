"""Small dense logistic regression (calibration and stacking) and its helpers."""

from __future__ import annotations

import numpy as np


def sigmoid(x: np.ndarray) -> np.ndarray:
    """The logistic function, clipped so that large margins neither overflow nor warn."""
    return 1.0 / (1.0 + np.exp(-np.clip(x, -40, 40)))


def balanced_weights(y: np.ndarray, base: np.ndarray) -> np.ndarray:
    """``base`` sample weights scaled as scikit-learn's ``class_weight="balanced"`` does for labels
    0/1: each class weighs ``len(y) / (2 * its count)``."""
    w = base.astype(float).copy()
    for v in (0, 1):
        n = (y == v).sum()
        if n:
            w[y == v] *= len(y) / (2.0 * n)
    return w


def fit_logistic(
    X: np.ndarray,
    y: np.ndarray,
    *,
    C: float = 1.0,
    balanced: bool = False,
    max_iter: int = 100,
    offset: np.ndarray | None = None,
) -> tuple[np.ndarray, float]:
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
