"""Association measures and tests on unit-level 2x2 tables, vectorised over code pairs.

For a pair of codes A and B counted over N units: n1 units carry A, n2 carry B and n12
carry both. Every function takes arrays of these counts (one entry per pair) and returns
arrays, so 4,950 pairs cost about as much as one.

The 2x2 table of a pair::

                 B present      B absent
    A present    n12            n1 - n12
    A absent     n2 - n12       N - n1 - n2 + n12
"""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import ClhsError

# Each measure and the formula it computes (shown in outputs and docs).
FORMULAS: dict[str, str] = {
    "N": "number of units (segments, turns, windows, documents or cases) in scope",
    "n1": "units with code A",
    "n2": "units with code B",
    "n12": "units with both codes",
    "count": "n12 (units with both codes)",
    "jaccard": "n12 / (n1 + n2 - n12) (Jaccard; ATLAS.ti's c-coefficient)",
    "overlap": "n12 / min(n1, n2) (overlap coefficient, Szymkiewicz-Simpson)",
    "p_b_given_a": "P(B|A) = n12 / n1",
    "p_a_given_b": "P(A|B) = n12 / n2",
    "lift": "n12 * N / (n1 * n2) (observed over expected under independence)",
    "pmi": "log2(n12 * N / (n1 * n2)) (pointwise mutual information, bits; -inf when n12 = 0)",
    "npmi": "PMI / -log2(n12 / N) (normalised PMI in [-1, 1]; -1 when n12 = 0, 1 when n12 = N)",
    "odds_ratio": "n12 * (N - n1 - n2 + n12) / ((n1 - n12) * (n2 - n12)) (sample odds ratio)",
    "expected": "n1 * n2 / N (n12 expected under independence)",
    "fisher_p": "Fisher's exact test on the unit-level 2x2 table (hypergeometric; two-sided as R's "
    "fisher.test)",
    "perm_p": "(1 + #{n12* >= n12}) / (1 + R): each code's units shuffled within each document, R times",
    "fisher_q": "Benjamini-Hochberg q-value of fisher_p across all pairs in the table",
    "perm_q": "Benjamini-Hochberg q-value of perm_p across all pairs in the table",
    "too_small": "min(n1, n2) < min_count, or even n12 = min(n1, n2) could not give one-sided Fisher "
    "p < alpha",
}
MEASURES = ("count", "jaccard", "overlap", "p_b_given_a", "p_a_given_b", "lift", "pmi", "npmi", "odds_ratio")
ALTERNATIVES = ("two-sided", "greater", "less")


def _arrays(*xs: object) -> list[np.ndarray]:
    return [np.asarray(x, dtype=np.float64) for x in xs]


def measure(name: str, N: object, n1: object, n2: object, n12: object) -> np.ndarray:
    """One measure (a key of ``FORMULAS`` in ``MEASURES`` or ``expected``) on arrays of any shape."""
    N, n1, n2, n12 = np.broadcast_arrays(*_arrays(N, n1, n2, n12))
    with np.errstate(divide="ignore", invalid="ignore"):
        if name == "count":
            return n12.copy()
        if name == "jaccard":
            return n12 / (n1 + n2 - n12)
        if name == "overlap":
            return n12 / np.minimum(n1, n2)
        if name == "p_b_given_a":
            return n12 / n1
        if name == "p_a_given_b":
            return n12 / n2
        if name == "lift":
            return n12 * N / (n1 * n2)
        if name == "pmi":
            return np.log2(n12 * N / (n1 * n2))
        if name == "npmi":
            lift = n12 * N / (n1 * n2)
            p12 = n12 / N
            npmi = np.where(n12 == 0, -1.0, np.where(p12 >= 1.0, 1.0, np.log2(lift) / -np.log2(p12)))
            return np.where(np.isnan(lift), np.nan, npmi)
        if name == "odds_ratio":
            return n12 * (N - n1 - n2 + n12) / ((n1 - n12) * (n2 - n12))
        if name == "expected":
            return n1 * n2 / N
    raise ClhsError(f"unknown measure '{name}' (use {', '.join(MEASURES)})")


def pair_measures(N: object, n1: object, n2: object, n12: object) -> pd.DataFrame:
    """Every co-occurrence measure from the counts (see ``FORMULAS``); NaN where undefined."""
    return pd.DataFrame({name: np.ravel(measure(name, N, n1, n2, n12)) for name in MEASURES + ("expected",)})


def fisher_p(N: object, n1: object, n2: object, n12: object, alternative: str = "two-sided") -> np.ndarray:
    """Fisher's exact test p-value of each 2x2 table.

    X is hypergeometric (N units, n1 with A, n2 drawn). One-sided tests are its tails
    (``greater``: P(X >= n12), ``less``: P(X <= n12)); the two-sided p sums the probability of
    every table no more likely than the observed one, within a relative tolerance of 1e-7 (R's
    ``fisher.test``; scipy's ``fisher_exact`` uses 1e-14, so the two differ by one table's
    probability when a table is between 1 + 1e-14 and 1 + 1e-7 times as likely as the observed
    one). All pairs are computed at once: the far tail's boundary is found by a vectorised
    binary search on the unimodal probability function.
    """
    if alternative not in ALTERNATIVES:
        raise ClhsError(f"unknown alternative '{alternative}' (use {', '.join(ALTERNATIVES)})")
    N, n1, n2, n12 = (np.asarray(x, dtype=np.int64) for x in np.broadcast_arrays(N, n1, n2, n12))
    out = np.full(N.shape, np.nan)
    ok = (N > 0) & (n1 >= n12) & (n2 >= n12) & (N - n1 - n2 + n12 >= 0)
    if alternative == "greater":
        out[ok] = hypergeom_tail(N[ok], n1[ok], n2[ok], n12[ok], upper=True)
    elif alternative == "less":
        out[ok] = hypergeom_tail(N[ok], n1[ok], n2[ok], n12[ok], upper=False)
    else:
        out[ok] = _fisher_two_sided(N[ok], n1[ok], n2[ok], n12[ok])
    return np.clip(out, 0.0, 1.0)


def hypergeom_tail(
    N: np.ndarray, n1: np.ndarray, n2: np.ndarray, x: np.ndarray, *, upper: bool
) -> np.ndarray:
    """P(X >= x) (``upper``) or P(X <= x) of the hypergeometric X, for arrays of tables.

    Only tails that lie beyond the mode are summed: from their first term outward by the
    term ratio pmf(y + 1) / pmf(y) = (n1 - y)(n2 - y) / ((y + 1)(N - n1 - n2 + y + 1)), which
    only shrinks there, so the sum stops when a term no longer changes it. A tail that holds
    the mode is 1 minus the opposite one (P(X >= x) = 1 - P(X <= x - 1)): summing it from x
    would start from a term that may underflow to 0 far from the mode (giving p = 0 where
    the answer is about 1). scipy's hypergeom.sf/cdf give the same values but take about a
    millisecond per table when N is large.
    """
    N, n1, n2, x = (np.asarray(v, dtype=np.float64).ravel() for v in (N, n1, n2, x))
    mode = np.floor((n1 + 1) * (n2 + 1) / (N + 2))
    beyond = x > mode if upper else x < mode
    start = np.where(beyond, x, x - 1 if upper else x + 1)
    far_upper = beyond == upper  # the tail actually summed lies above the mode
    far = _tail_beyond_mode(N, n1, n2, start, far_upper)
    return np.clip(np.where(beyond, far, 1.0 - far), 0.0, 1.0)


def _tail_beyond_mode(
    N: np.ndarray, n1: np.ndarray, n2: np.ndarray, x: np.ndarray, upper: np.ndarray
) -> np.ndarray:
    """P(X >= x) where ``upper`` else P(X <= x), for x on the far side of the mode (terms falling outward)."""
    lo = np.maximum(0.0, n1 + n2 - N)
    hi = np.minimum(n1, n2)
    y = np.clip(x, lo, hi)
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.exp(stats.hypergeom.logpmf(y, N, n1, n2))
    term[np.where(upper, x > hi, x < lo) | np.isnan(term)] = 0.0
    total = term.copy()
    idx = np.flatnonzero((term > 0) & np.where(upper, y < hi, y > lo))
    y, term = y[idx], term[idx]
    while len(idx):
        up = upper[idx]
        n1i, n2i, rest = n1[idx], n2[idx], N[idx] - n1[idx] - n2[idx]
        term = np.where(
            up,
            term * (n1i - y) * (n2i - y) / ((y + 1) * (rest + y + 1)),
            term * y * (rest + y) / ((n1i - y + 1) * (n2i - y + 1)),
        )
        y = np.where(up, y + 1, y - 1)
        total[idx] += term
        more = (term > total[idx] * 1e-17) & np.where(up, y < hi[idx], y > lo[idx])
        idx, y, term = idx[more], y[more], term[more]
    return total


def _fisher_two_sided(N: np.ndarray, n1: np.ndarray, n2: np.ndarray, x: np.ndarray) -> np.ndarray:
    dist = stats.hypergeom(N, n1, n2)
    lo = np.maximum(0, n1 + n2 - N)
    hi = np.minimum(n1, n2)
    mode = np.floor((n1 + 1) * (n2 + 1) / (N + 2)).astype(np.int64)
    limit = dist.logpmf(x) + np.log1p(1e-7)
    left = x <= mode  # observed on the rising side: its own tail is P(X <= x), the far tail lies right
    # far tail on the right: smallest y in [max(mode, x + 1), hi] with logpmf(y) <= limit (falling there)
    a = np.where(left, np.maximum(mode, x + 1), lo)
    b = np.where(left, hi + 1, np.minimum(mode, x - 1) + 1)
    # on the left side search the first y in [lo, min(mode, x - 1)] with logpmf(y) > limit (rising there)
    while np.any(a < b):
        mid = (a + b) // 2
        active = a < b
        below = dist.logpmf(mid) <= limit
        go_left = np.where(left, below, ~below) & active
        b = np.where(go_left, mid, b)
        a = np.where(active & ~go_left, mid + 1, a)
    own = np.where(left, hypergeom_tail(N, n1, n2, x, upper=False), hypergeom_tail(N, n1, n2, x, upper=True))
    far = np.where(
        left, hypergeom_tail(N, n1, n2, a, upper=True), hypergeom_tail(N, n1, n2, a - 1, upper=False)
    )
    return own + far


def min_attainable_p(N: object, n1: object, n2: object) -> np.ndarray:
    """The smallest one-sided (greater) Fisher p any n12 could give: P(X = min(n1, n2))."""
    N, n1, n2 = (np.asarray(x, dtype=np.int64) for x in np.broadcast_arrays(N, n1, n2))
    top = np.minimum(n1, n2)
    with np.errstate(all="ignore"):
        return np.exp(stats.hypergeom.logpmf(top, N, n1, n2))


def too_small(N: object, n1: object, n2: object, *, min_count: int = 5, alpha: float = 0.05) -> np.ndarray:
    """Pairs whose counts are too small to say anything (see ``FORMULAS['too_small']``)."""
    n1, n2 = _arrays(n1, n2)
    return (np.minimum(n1, n2) < min_count) | ~(min_attainable_p(N, n1, n2) < alpha)


def odds_ratio_interval(
    N: object, n1: object, n2: object, n12: object, ci: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Woolf's interval of the sample odds ratio: exp(log OR -/+ z * sqrt(sum of 1 / cell)).

    It treats the units as independent (as scipy's ``odds_ratio(kind="sample")`` does); a table
    with an empty cell gets (0, inf).
    """
    if not 0 < ci < 1:
        raise ClhsError("the interval's coverage must be between 0 and 1 (e.g. 0.95)")
    N, n1, n2, n12 = np.broadcast_arrays(*_arrays(N, n1, n2, n12))
    cells = np.stack([n12, n1 - n12, n2 - n12, N - n1 - n2 + n12])
    z = NormalDist().inv_cdf(0.5 + ci / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_or = np.log(cells[0]) + np.log(cells[3]) - np.log(cells[1]) - np.log(cells[2])
        se = np.sqrt((1.0 / cells).sum(axis=0))
        low, high = np.exp(log_or - z * se), np.exp(log_or + z * se)
    empty = (cells <= 0).any(axis=0)
    return np.where(empty, 0.0, low), np.where(empty, np.inf, high)


def bh_adjust(p: object) -> np.ndarray:
    """Benjamini-Hochberg (1995) false-discovery-rate q-values; NaN entries stay NaN and are not counted.

    q_(i) = min over j >= i of p_(j) * m / j, for p sorted ascending, capped at 1.
    """
    p = np.asarray(p, dtype=np.float64)
    q = np.full(p.shape, np.nan)
    mask = ~np.isnan(p)
    m = int(mask.sum())
    if m == 0:
        return q
    values = p[mask]
    order = np.argsort(values, kind="mergesort")
    ranked = values[order] * m / np.arange(1, m + 1)
    ranked = np.minimum.accumulate(ranked[::-1])[::-1]
    adjusted = np.empty(m)
    adjusted[order] = np.minimum(ranked, 1.0)
    q[mask] = adjusted
    return q


def permutation_p(
    unit_counts: np.ndarray,
    code_counts: np.ndarray,
    pairs: np.ndarray,
    observed: np.ndarray,
    *,
    permutations: int = 1000,
    alternative: str = "two-sided",
    seed: int = 0,
) -> np.ndarray:
    """Permutation test of n12 that keeps each code's frequency within each stratum (document).

    ``unit_counts[d]`` is the number of units of stratum d, ``code_counts[d, k]`` the units
    of d that carry code k, ``pairs`` an (P, 2) array of code indexes and ``observed`` their
    n12. Shuffling the units of code A and of code B independently within a stratum makes
    the stratum's joint count hypergeometric (``m_d`` units, ``a_d`` with A, ``b_d`` drawn),
    and the strata are independent; so each permuted n12* is drawn directly as a sum of
    per-stratum hypergeometric draws, which is the shuffle's exact distribution without
    building the shuffled matrices. p = (1 + #{extreme n12*}) / (1 + R), where extreme is
    ``>=`` (greater), ``<=`` (less) or at least as far from the expected count (two-sided).
    """
    if alternative not in ALTERNATIVES:
        raise ClhsError(f"unknown alternative '{alternative}' (use {', '.join(ALTERNATIVES)})")
    if permutations < 1:
        raise ClhsError("the permutation test needs at least one permutation")
    rng = np.random.default_rng(seed)
    m = np.asarray(unit_counts, dtype=np.int64)
    counts = np.asarray(code_counts, dtype=np.int64)
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    observed = np.asarray(observed, dtype=np.float64)
    a = counts[:, pairs[:, 0]]  # strata x pairs
    b = counts[:, pairs[:, 1]]
    expected = (a * b / np.maximum(m, 1)[:, None]).sum(axis=0)
    live = (a > 0) & (b > 0)
    pair_of, stratum_of = np.nonzero(live.T)  # entries sorted by pair
    good = a[stratum_of, pair_of]
    bad = m[stratum_of] - good
    draw = b[stratum_of, pair_of]
    n_pairs = len(pairs)
    hits = np.zeros(n_pairs)
    has_entries = np.bincount(pair_of, minlength=n_pairs) > 0
    starts = np.searchsorted(pair_of, np.arange(n_pairs))
    chunk = max(1, min(permutations, 20_000_000 // max(1, len(good))))
    done = 0
    while done < permutations:
        size = min(chunk, permutations - done)
        if len(good):
            sample = rng.hypergeometric(good, bad, draw, size=(size, len(good)))
            sums = np.add.reduceat(sample, starts[has_entries], axis=1).astype(np.float64)
            totals = np.zeros((size, n_pairs))
            totals[:, has_entries] = sums
        else:
            totals = np.zeros((size, n_pairs))
        if alternative == "greater":
            hits += (totals >= observed - 1e-9).sum(axis=0)
        elif alternative == "less":
            hits += (totals <= observed + 1e-9).sum(axis=0)
        else:
            hits += (np.abs(totals - expected) >= np.abs(observed - expected) - 1e-9).sum(axis=0)
        done += size
    return (1.0 + hits) / (1.0 + permutations)
