"""Clustered inference for 2x2 tables of units: case-level tests and case-bootstrap effects.

Units (segments, turns, ...) come in clusters (the cases, i.e. participants; see
``unit_cases``): codes run in streaks within an interview, so its units are not independent,
while different participants are. Every function here takes per-cluster counts of a binary
exposure A and outcome B (``ClusterTables``; arrays of shape ``(..., K)`` for K clusters), so
many tables and many left-out clusters cost one matrix product.

Two designs (chosen per unit kind by ``readings.prepare``):

- ``within``: some cluster holds several units. The statistic is the Mantel-Haenszel score
  T = sum over clusters of d_c = ab_c - a_c b_c / n_c (observed minus expected co-occurrences
  within the cluster; clusters are strata). The test flips the sign of each cluster's d_c at
  random (a sign-flip randomisation test; the wild cluster bootstrap of the score with
  Rademacher weights): exact over all 2^k sign vectors when there are at most as many as
  permutations, otherwise ``permutations`` random sign vectors, p = (1 + hits) / (1 + R).
  Null: each cluster's d_c is symmetric about zero and clusters are independent; nothing is
  assumed about the units within a cluster. One cluster can give at best p = 1/2, k clusters
  2^-k. Effects: Mantel-Haenszel odds ratio and risk difference across clusters.
- ``between``: every cluster is one unit (case units; document units when each case has one
  document). Units are then the independent replicates and Fisher's exact test on the pooled
  table is the clustered test; effects are the pooled odds ratio and risk difference.

Intervals: percentile intervals of the effects over ``n_boot`` bootstrap samples of whole
clusters (drawn with replacement; the same draws for every table of one call).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import ClhsError
from .significance import ALTERNATIVES, fisher_p, hypergeom_tail

DESIGNS = ("within", "between")
TESTS = {
    "within": "case-level sign-flip test of the Mantel-Haenszel score (within-case observed minus "
    "expected co-occurrences)",
    "between": "Fisher exact test (one unit per case: the units are the independent cases)",
}
EFFECTS = {
    "within": "Mantel-Haenszel odds ratio and risk difference across cases, percentile interval over "
    "a bootstrap of cases",
    "between": "pooled odds ratio and risk difference, percentile interval over a bootstrap of cases",
}
EXACT_LIMIT = 16  # at most 2^16 sign vectors are enumerated


@dataclass(frozen=True)
class ClusterTables:
    """Per-cluster counts of one or more 2x2 tables: units ``n``, with A ``a``, with B ``b``, with
    both ``ab``; arrays of shape ``(K,)`` or ``(T, K)`` (T tables over the same K clusters)."""

    n: np.ndarray
    a: np.ndarray
    b: np.ndarray
    ab: np.ndarray

    def totals(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(N, n1, n2, n12) of the pooled table(s)."""
        return tuple(x.sum(axis=-1) for x in (self.n, self.a, self.b, self.ab))  # type: ignore[return-value]

    def informative(self) -> np.ndarray:
        """Clusters whose units differ in both A and B (the only ones a within-cluster test uses)."""
        return (self.a > 0) & (self.a < self.n) & (self.b > 0) & (self.b < self.n)

    def present(self) -> np.ndarray:
        """Clusters with at least one unit in the table."""
        return self.n > 0


def cluster_tables(
    a: np.ndarray, b: np.ndarray, cluster: np.ndarray, n_clusters: int, mask: np.ndarray | None = None
) -> ClusterTables:
    """Per-cluster counts of units (of ``mask``, if given) with A, with B and with both.

    ``a`` and ``b`` are boolean arrays over units, or ``(T, units)`` for T tables at once;
    ``cluster`` gives each unit's cluster (0 .. n_clusters - 1).
    """
    a2, b2 = np.atleast_2d(a).astype(bool), np.atleast_2d(b).astype(bool)
    m = np.ones(a2.shape, dtype=bool) if mask is None else np.broadcast_to(np.atleast_2d(mask), a2.shape)
    offset = (np.arange(a2.shape[0])[:, None] * n_clusters + np.asarray(cluster)[None, :]).ravel()
    size = a2.shape[0] * n_clusters

    def count(x: np.ndarray) -> np.ndarray:
        return np.bincount(offset, weights=(x & m).ravel(), minlength=size).reshape(a2.shape[0], n_clusters)

    out = [count(np.ones(a2.shape, dtype=bool)), count(a2), count(b2), count(a2 & b2)]
    if np.ndim(a) == 1:
        out = [x[0] for x in out]
    return ClusterTables(*out)


def mh_score(t: ClusterTables) -> np.ndarray:
    """d_c = ab_c - a_c b_c / n_c: each cluster's observed minus expected co-occurrences (0 if empty)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(t.n > 0, t.ab - t.a * t.b / t.n, 0.0)


def sign_matrix(n_clusters: int, permutations: int, seed: int) -> np.ndarray:
    """``permutations`` x ``n_clusters`` random signs (+1/-1), the random part of every sign-flip test."""
    if permutations < 1:
        raise ClhsError("the clustered test needs at least one permutation")
    rng = np.random.default_rng(seed)
    return rng.integers(0, 2, size=(permutations, n_clusters), dtype=np.int8) * 2 - 1


def _all_signs(k: int) -> np.ndarray:
    return ((np.arange(2**k)[:, None] >> np.arange(k)[None, :]) & 1).astype(np.float64) * 2 - 1


def _hits(null: np.ndarray, observed: np.ndarray, alternative: str, tol: np.ndarray) -> np.ndarray:
    """How many rows of ``null`` (R x ...) are at least as extreme as ``observed`` (...)."""
    if alternative == "greater":
        return (null >= observed - tol).sum(axis=0)
    if alternative == "less":
        return (null <= observed + tol).sum(axis=0)
    return (np.abs(null) >= np.abs(observed) - tol).sum(axis=0)


def sign_flip_p(
    d: np.ndarray, signs: np.ndarray, alternative: str = "greater", *, leave_out: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Sign-flip p-values of T = sum_c d_c for each row of ``d`` (T x K), and the smallest p-values
    the test could give.

    A row with k non-zero d_c is exact (all 2^k sign vectors) when 2^k is at most the number of
    rows of ``signs`` (R x K random signs), else p = (1 + hits) / (1 + R) over those rows. With
    ``leave_out`` both results are ``(T, K)``: entry c is the test without cluster c (the same
    sign vectors with column c dropped, so every entry costs one comparison).
    """
    if alternative not in ALTERNATIVES:
        raise ClhsError(f"unknown alternative '{alternative}' (use {', '.join(ALTERNATIVES)})")
    d = np.atleast_2d(np.asarray(d, dtype=np.float64))
    shape = d.shape if leave_out else d.shape[:1]
    p, min_p = np.ones(shape), np.ones(shape)
    nonzero = np.abs(d) > 1e-12 * (1.0 + np.abs(d).sum(axis=1, keepdims=True))
    k, R = nonzero.sum(axis=1), signs.shape[0]
    random = (k > 0) & ((k > EXACT_LIMIT) | (2.0**k > R)) & (not leave_out)
    if random.any():  # all random-sign rows in one product
        db = np.where(nonzero[random], d[random], 0.0)
        hits = _hits(
            signs.astype(np.float64) @ db.T, db.sum(axis=1), alternative, 1e-9 * (1 + np.abs(db).sum(1))
        )
        p[random] = (1.0 + hits) / (1.0 + R)
        two = 1 if alternative == "two-sided" else 0
        min_p[random] = np.maximum(np.minimum(1.0, 2.0 ** (two - k[random])), 1 / (R + 1))
    for i in np.flatnonzero((k > 0) & ~random):
        cols = np.flatnonzero(nonzero[i])
        pi, mi = _flip_row(d[i, cols], signs[:, cols], alternative, leave_out)
        p[i], min_p[i] = pi[-1], mi[-1]  # leaving out a cluster with d_c = 0 changes nothing
        if leave_out:
            p[i, cols], min_p[i, cols] = pi[:-1], mi[:-1]
    return np.clip(p, 0.0, 1.0), min_p


def _flip_row(
    d: np.ndarray, signs: np.ndarray, alternative: str, leave_out: bool
) -> tuple[np.ndarray, np.ndarray]:
    """p-values and smallest p-values of one table with non-zero scores ``d``: without each cluster
    (if ``leave_out``), then with all of them (the last entry)."""
    k, R = len(d), signs.shape[0]
    exact = k <= EXACT_LIMIT and 2**k <= R
    S = _all_signs(k) if exact else signs.astype(np.float64)
    null, obs = S @ d, d.sum()
    tol = 1e-9 * (1.0 + np.abs(d).sum())
    nulls, observed, kept = null[:, None], np.array([obs]), np.array([k])
    if leave_out:
        nulls = np.hstack([null[:, None] - S * d[None, :], nulls])
        observed = np.append(obs - d, obs)
        kept = np.append(np.full(k, k - 1), k)
    hits = _hits(nulls, observed, alternative, tol)
    two = 1 if alternative == "two-sided" else 0
    smallest = np.minimum(1.0, 2.0 ** (two - kept.astype(np.float64)))
    if exact:
        return hits / len(S), smallest
    return (1.0 + hits) / (1.0 + R), np.maximum(smallest, 1 / (R + 1))


def fisher_min_p(N: np.ndarray, n1: np.ndarray, n2: np.ndarray, alternative: str) -> np.ndarray:
    """The smallest one-sided Fisher p-value any table with these margins could give (vectorised)."""
    N, n1, n2 = (np.asarray(x, dtype=np.float64) for x in np.broadcast_arrays(N, n1, n2))
    x = np.minimum(n1, n2) if alternative != "less" else np.maximum(0, n1 + n2 - N)
    out = np.ones(N.shape)
    ok = N > 0
    out[ok] = hypergeom_tail(N[ok], n1[ok], n2[ok], x[ok], upper=alternative != "less")
    return out


def clustered_p(
    t: ClusterTables, signs: np.ndarray, alternative: str, design: str, *, leave_out: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """(p, smallest attainable p) of the clustered test of each table (see the module docstring).

    ``t`` holds T tables (arrays ``(T, K)``); with ``leave_out`` both results are ``(T, K)``, entry
    c without cluster c.
    """
    t = ClusterTables(*(np.atleast_2d(x) for x in (t.n, t.a, t.b, t.ab)))
    if design == "within":
        return sign_flip_p(mh_score(t), signs, alternative, leave_out=leave_out)
    if design != "between":
        raise ClhsError(f"unknown design '{design}' (use {', '.join(DESIGNS)})")
    tot = [x[:, None] for x in t.totals()]
    if leave_out:
        tot = [x - y for x, y in zip(tot, (t.n, t.a, t.b, t.ab))]
    p = fisher_p(*tot, alternative=alternative)
    one_sided = alternative if alternative != "two-sided" else "greater"
    min_p = fisher_min_p(tot[0], tot[1], tot[2], one_sided)
    if alternative == "two-sided":
        min_p = np.minimum(1.0, 2 * np.minimum(min_p, fisher_min_p(tot[0], tot[1], tot[2], "less")))
    return (p, min_p) if leave_out else (p[:, 0], min_p[:, 0])


# -- effects -------------------------------------------------------------------------------------


def effect_terms(t: ClusterTables, design: str) -> np.ndarray:
    """Per-cluster additive terms of the effects, shape ``(..., K, 4)``: the Mantel-Haenszel
    odds-ratio numerator and denominator and risk-difference numerator and denominator
    (``within``), or n, a, b, ab (``between``)."""
    if design == "between":
        return np.stack([t.n, t.a, t.b, t.ab], axis=-1).astype(np.float64)
    n = np.where(t.n > 0, t.n, 1.0)
    return np.stack(
        [
            t.ab * (t.n - t.a - t.b + t.ab) / n,
            (t.a - t.ab) * (t.b - t.ab) / n,
            (t.ab * (t.n - t.a) - (t.b - t.ab) * t.a) / n,
            t.a * (t.n - t.a) / n,
        ],
        axis=-1,
    )


def effects_from_terms(q: np.ndarray, design: str) -> tuple[np.ndarray, np.ndarray]:
    """(odds ratio, risk difference) from summed terms ``q`` (``(..., 4)``); NaN where undefined."""
    with np.errstate(divide="ignore", invalid="ignore"):
        if design == "within":
            odds = q[..., 0] / q[..., 1]
            rd = q[..., 2] / q[..., 3]
        else:
            N, a, b, ab = (q[..., i] for i in range(4))
            odds = ab * (N - a - b + ab) / ((a - ab) * (b - ab))
            rd = ab / a - (b - ab) / (N - a)
    return odds, rd


def bootstrap_weights(present: np.ndarray, n_boot: int, seed: int) -> np.ndarray:
    """``n_boot`` x K counts: how often each present cluster is drawn (absent clusters: 0)."""
    idx = np.flatnonzero(present)
    if n_boot < 1 or not len(idx):
        return np.zeros((0, len(present)))
    rng = np.random.default_rng(seed)
    draws = idx[rng.integers(0, len(idx), size=(n_boot, len(idx)))]
    rows = np.repeat(np.arange(n_boot), len(idx))
    return (
        np.bincount(rows * len(present) + draws.ravel(), minlength=n_boot * len(present))
        .reshape(n_boot, len(present))
        .astype(np.float64)
    )


def percentile_interval(samples: np.ndarray, ci: float) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval of each column's defined (non-NaN) bootstrap values; NaN when fewer than
    half the samples are defined. Infinite values count (an odds ratio with an empty cell)."""
    samples = np.atleast_2d(samples)
    s = np.sort(samples, axis=0)  # NaN sorts last
    defined = (~np.isnan(samples)).sum(axis=0)
    lo_i = np.floor((1 - ci) / 2 * defined).astype(np.int64)
    hi_i = np.maximum(np.ceil((1 + ci) / 2 * defined).astype(np.int64) - 1, 0)
    cols = np.arange(samples.shape[1])
    ok = defined * 2 >= max(1, samples.shape[0])
    lo = np.where(ok, s[np.minimum(lo_i, s.shape[0] - 1), cols], np.nan)
    hi = np.where(ok, s[np.minimum(hi_i, s.shape[0] - 1), cols], np.nan)
    return lo, hi


def clustered_effects(
    t: ClusterTables, design: str, *, n_boot: int = 1000, ci: float = 0.95, seed: int = 0
) -> pd.DataFrame:
    """Odds ratio and risk difference of each table with percentile intervals over a bootstrap of
    clusters: columns ``odds_ratio``, ``odds_ratio_low``, ``odds_ratio_high``, ``risk_difference``,
    ``risk_difference_low``, ``risk_difference_high`` (one row per table)."""
    if not 0 < ci < 1:
        raise ClhsError("the interval's coverage must be between 0 and 1 (e.g. 0.95)")
    t = ClusterTables(*(np.atleast_2d(x) for x in (t.n, t.a, t.b, t.ab)))
    terms = effect_terms(t, design)  # (T, K, 4)
    odds, rd = effects_from_terms(terms.sum(axis=1), design)
    out = {"odds_ratio": odds, "risk_difference": rd}
    for name in ("odds_ratio", "risk_difference"):
        out[f"{name}_low"] = out[f"{name}_high"] = np.full(len(odds), np.nan)
    if n_boot > 0:
        W = bootstrap_weights(t.present().any(axis=0), n_boot, seed)
        T, K = terms.shape[:2]
        summed = (W @ terms.transpose(1, 0, 2).reshape(K, T * 4)).reshape(-1, T, 4)
        b_odds, b_rd = effects_from_terms(summed, design)  # (B, T)
        out["odds_ratio_low"], out["odds_ratio_high"] = percentile_interval(b_odds, ci)
        out["risk_difference_low"], out["risk_difference_high"] = percentile_interval(b_rd, ci)
    cols = [f"{n}{s}" for n in ("odds_ratio", "risk_difference") for s in ("", "_low", "_high")]
    return pd.DataFrame({c: out[c] for c in cols})


def leave_one_out_effects(t: ClusterTables, design: str) -> tuple[np.ndarray, np.ndarray]:
    """(odds ratio, risk difference) of each table without each cluster: arrays ``(T, K)``."""
    t = ClusterTables(*(np.atleast_2d(x) for x in (t.n, t.a, t.b, t.ab)))
    terms = effect_terms(t, design)
    return effects_from_terms(terms.sum(axis=1, keepdims=True) - terms, design)


# -- clusters of units ----------------------------------------------------------------------------


def case_of_documents(documents: pd.DataFrame | None, codings: pd.DataFrame) -> dict[str, str]:
    """Document name -> case (participant); a document without a case is its own case."""
    if documents is not None and "case" in documents.columns:
        names = documents["name" if "name" in documents.columns else "document"]
        pairs = zip(names, documents["case"])
    elif "case" in codings.columns:
        first = codings[["document", "case"]].drop_duplicates("document")
        pairs = zip(first["document"], first["case"])
    else:
        return {}
    return {str(d): c if isinstance(c, str) and c else str(d) for d, c in pairs}


def unit_cases(
    unit: str, units: pd.DataFrame, documents: pd.DataFrame | None, codings: pd.DataFrame
) -> np.ndarray:
    """Each unit's case (a document without a case is its own); ``units`` is an incidence's unit
    table, whose ``document`` holds the case for case units."""
    names = pd.Series(np.asarray(units["document"], dtype=object)).astype(str)
    if unit != "case":
        cases = names.map(case_of_documents(documents, codings))
        names = cases.where(cases.notna(), names)
    return names.to_numpy(dtype=object)
