"""Reliability coefficients on rating matrices: pure functions, no project, no pandas tables.

Reliability data is a coders x units array (rows are coders, columns are units; ``None``/NaN
is a missing rating; values are any categories), the layout the ``krippendorff`` package uses.
Each coefficient function returns one float and names its formula in ``STATISTICS``. Cohen's
kappa is scikit-learn's ``cohen_kappa_score`` and Krippendorff's alpha the ``krippendorff``
package's ``alpha`` (for weighted units, where that package has no weights, our own
coincidence-matrix implementation, checked against it in the tests).

Every statistic is a function of sums over units of per-unit terms (``pair_features`` for two
coders' contingency table, ``group_features`` for any number of coders), so ``agreement`` can
compute a whole bootstrap as one matrix product of replicate weights and these features, then
turn each replicate's sums into statistics with ``pair_stats`` and ``group_stats``.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ClhsError

LEVELS = ("nominal", "ordinal", "interval", "ratio")

# statistic -> (name and reference, formula)
STATISTICS: dict[str, tuple[str, str]] = {
    "percent_agreement": (
        "Percent agreement",
        (
            "Po = share of paired ratings that agree; for m coders the mean over units of "
            "sum_k n_uk (n_uk - 1) / (m_u (m_u - 1))"
        ),
    ),
    "cohen_kappa": (
        "Cohen's kappa (Cohen 1960)",
        "(Po - Pe) / (1 - Pe), Pe = sum_k pA_k pB_k from each coder's own marginal shares",
    ),
    "scott_pi": (
        "Scott's pi (Scott 1955)",
        "(Po - Pe) / (1 - Pe), Pe = sum_k ((pA_k + pB_k) / 2)^2 from the pooled marginal shares",
    ),
    "fleiss_kappa": (
        "Fleiss' kappa (Fleiss 1971)",
        (
            "(Pa - Pe) / (1 - Pe), Pa = mean over units with m_u >= 2 ratings of "
            "sum_k n_uk (n_uk - 1) / (m_u (m_u - 1)), Pe = sum_k pi_k^2, pi_k = mean over units with "
            "m_u >= 1 of n_uk / m_u (Gwet 2014, Handbook of Inter-Rater Reliability 4th ed., as irrCAC)"
        ),
    ),
    "krippendorff_alpha": (
        "Krippendorff's alpha (Krippendorff 2011)",
        (
            "1 - Do / De = 1 - (n - 1) sum_ck o_ck d_ck / sum_ck n_c n_k d_ck, o = coincidence matrix of "
            "pairable values, d = nominal/ordinal/interval/ratio metric"
        ),
    ),
    "brennan_prediger": (
        "Brennan-Prediger kappa (Brennan & Prediger 1981; Bennett et al. 1954 S; Randolph 2005 for m coders)",
        (
            "(Pa - 1/q) / (1 - 1/q), Pa as for Fleiss, q = number of categories (2 for present/absent; "
            "at least 2: with every rating in one category Pa = 1 and the value is 1 for any q)"
        ),
    ),
    "gwet_ac1": (
        "Gwet's AC1 (Gwet 2008)",
        (
            "(Pa - Pe) / (1 - Pe), Pa as for Fleiss, Pe = sum_k pi_k (1 - pi_k) / (q - 1), pi_k = mean over "
            "units with m_u >= 1 of n_uk / m_u (Gwet 2014, as irrCAC), q >= 2 as for Brennan-Prediger"
        ),
    ),
    "pooled_kappa": (
        "Pooled kappa (De Vries et al. 2008; as in Dedoose)",
        "(mean Po - mean Pe) / (1 - mean Pe), means over codes of each code's Cohen Po and Pe",
    ),
}
# statistic -> short column heading (the CLI's wide table)
SHORT_NAMES: dict[str, str] = {
    "percent_agreement": "percent",
    "cohen_kappa": "cohen",
    "scott_pi": "scott",
    "fleiss_kappa": "fleiss",
    "krippendorff_alpha": "alpha",
    "brennan_prediger": "brennan_pred",
    "gwet_ac1": "gwet_ac1",
    "pooled_kappa": "pooled_kappa",
}
# statistic -> its name for a reader (the app's tables; ``STATISTICS`` has the full name with references)
PLAIN_NAMES: dict[str, str] = {
    "percent_agreement": "Percent agreement",
    "cohen_kappa": "Cohen's kappa",
    "scott_pi": "Scott's pi",
    "fleiss_kappa": "Fleiss' kappa",
    "krippendorff_alpha": "Krippendorff's alpha",
    "brennan_prediger": "Brennan-Prediger kappa",
    "gwet_ac1": "Gwet's AC1",
    "pooled_kappa": "Pooled kappa (De Vries)",
}
# what ``agreement`` reports for two coders, and for the group when there are three or more
PAIR_STATISTICS = (
    "percent_agreement",
    "cohen_kappa",
    "scott_pi",
    "brennan_prediger",
    "gwet_ac1",
    "krippendorff_alpha",
)
GROUP_STATISTICS = ("percent_agreement", "fleiss_kappa", "brennan_prediger", "gwet_ac1", "krippendorff_alpha")


# -- encoding --------------------------------------------------------------------------------------


def _encode(data: Any, categories: Sequence[Any] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(codes, categories): coders x units integer codes (-1 = missing) and the sorted categories."""
    arr = np.asarray(data, dtype=object)
    if arr.ndim != 2:
        raise ClhsError("reliability data must be a coders x units table")
    missing = pd.isna(arr)
    values = arr[~missing]
    if categories is None:
        try:
            cats = np.array(sorted(set(values.tolist())), dtype=object)
        except TypeError:
            raise ClhsError("ratings mix values that cannot be ordered (e.g. numbers and text)") from None
    else:
        cats = np.asarray(list(categories), dtype=object)
    codes = np.full(arr.shape, -1, dtype=np.int64)
    idx = (
        pd.Index(cats).get_indexer(pd.Index(values.tolist(), dtype=object))
        if len(values)
        else np.zeros(0, int)
    )
    if np.any(idx < 0):
        raise ClhsError(f"a rating is not among the categories {list(cats)}")
    codes[~missing] = idx
    return codes, cats


def from_contingency(table: Any) -> np.ndarray:
    """Reliability data (2 x n) from a two-coder contingency table (rows: coder 1's category)."""
    t = np.asarray(table, dtype=np.int64)
    if t.ndim != 2 or t.shape[0] != t.shape[1] or np.any(t < 0):
        raise ClhsError("a contingency table must be square with non-negative counts")
    rows, cols = np.nonzero(t)
    reps = t[rows, cols]
    return np.vstack([np.repeat(rows, reps), np.repeat(cols, reps)])


def from_category_counts(counts: Any) -> np.ndarray:
    """Reliability data from a units x categories table of how many coders chose each category.

    Coder identity is not known, so rating j of a unit is put in row j (unequal numbers of
    ratings leave NaN). Only statistics that ignore coder identity (Fleiss, Brennan-Prediger
    /Randolph, Gwet, Krippendorff, percent agreement) are meaningful on the result.
    """
    c = np.asarray(counts, dtype=np.int64)
    if c.ndim != 2 or np.any(c < 0):
        raise ClhsError("category counts must be a units x categories table of non-negative counts")
    m = c.sum(axis=1)
    out = np.full((int(m.max(initial=0)), len(c)), np.nan)
    for u, row in enumerate(c):
        ratings = np.repeat(np.arange(c.shape[1]), row)
        out[: len(ratings), u] = ratings
    return out


# -- per-unit features and statistics from their sums ---------------------------------------------


def pair_features(vi: np.ndarray, vj: np.ndarray, q: int, w: np.ndarray) -> np.ndarray:
    """units x q*q: weight w in cell (category of i, category of j) where both rated."""
    both = (vi >= 0) & (vj >= 0)
    out = np.zeros((len(vi), q * q))
    rows = np.flatnonzero(both)
    out[rows, vi[rows] * q + vj[rows]] = w[rows]
    return out


def group_features(V: np.ndarray, q: int, w: np.ndarray) -> np.ndarray:
    """units x (3 + q + q*q), times w: [P_u, 1 (m_u >= 2), 1 (m_u >= 1), n_uk / m_u (q), coincidences (q*q)].

    Agreement (P_u) and coincidences come from units with at least two ratings, the category
    shares from every unit rated at least once (Gwet 2014; irrCAC)."""
    n = np.stack([(V == k).sum(axis=0) for k in range(q)], axis=1).astype(np.float64)  # units x q
    m = n.sum(axis=1)
    pair = m >= 2
    rated = m >= 1
    mm = np.where(pair, m, 2.0)
    P = ((n * (n - 1)).sum(axis=1)) / (mm * (mm - 1))
    coinc = (n[:, :, None] * n[:, None, :] - np.eye(q)[None] * n[:, :, None]) / (mm - 1)[:, None, None]
    shares = n / np.where(rated, m, 1.0)[:, None]
    feats = np.concatenate(
        [
            (P * pair)[:, None],
            pair[:, None],
            rated[:, None],
            shares,
            coinc.reshape(len(m), q * q) * pair[:, None],
        ],
        axis=1,
    )
    return feats * w[:, None]


def chance_corrected(po: np.ndarray, pe: np.ndarray | float) -> np.ndarray:
    """(Po - Pe) / (1 - Pe) elementwise; NaN where Pe is 1 (the statistic is undefined)."""
    pe = np.broadcast_to(np.asarray(pe, dtype=np.float64), np.shape(po))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(np.isclose(pe, 1.0, rtol=0, atol=1e-12), np.nan, (po - pe) / (1 - pe))


def pair_stats(T: np.ndarray, q: int, weighting: str | None = None) -> dict[str, np.ndarray]:
    """Cohen's kappa, Scott's pi and Cohen's Po and Pe from R contingency tables (R x q x q) of the
    units both coders rated."""
    with np.errstate(divide="ignore", invalid="ignore"):
        n = T.sum(axis=(1, 2))
        P = T / n[:, None, None]
        po = np.trace(P, axis1=1, axis2=2)
        pa, pb = P.sum(axis=2), P.sum(axis=1)
        pi = (pa + pb) / 2
        out = {
            "cohen_kappa": chance_corrected(po, (pa * pb).sum(axis=1)),
            "scott_pi": chance_corrected(po, (pi**2).sum(axis=1)),
            "_po": po,
            "_pe": (pa * pb).sum(axis=1),
        }
        if weighting:
            i, j = np.meshgrid(np.arange(q), np.arange(q), indexing="ij")
            wm = np.abs(i - j) / (q - 1) if weighting == "linear" else ((i - j) / (q - 1)) ** 2
            expected = pa[:, :, None] * pb[:, None, :]
            denom = (wm * expected).sum(axis=(1, 2))
            out["cohen_kappa"] = np.where(denom == 0, np.nan, 1 - (wm * P).sum(axis=(1, 2)) / denom)
    return out


def _metric(level: str, values: np.ndarray, nc: np.ndarray) -> np.ndarray:
    """R x q x q squared distances between categories (ordinal needs each replicate's n_c)."""
    q = len(values)
    if level == "nominal":
        return np.broadcast_to(1.0 - np.eye(q), (len(nc), q, q))
    if level == "ordinal":
        cum = np.cumsum(nc, axis=1)
        c, k = np.meshgrid(np.arange(q), np.arange(q), indexing="ij")
        lo, hi = np.minimum(c, k), np.maximum(c, k)
        below = np.where(lo > 0, cum[:, np.maximum(lo - 1, 0)], 0.0)
        between = cum[:, hi] - below  # sum_{g=lo}^{hi} n_g
        return (between - (nc[:, c] + nc[:, k]) / 2) ** 2
    try:
        v = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ClhsError(f"{level} alpha needs numeric ratings") from None
    if level == "interval":
        d = (v[:, None] - v[None, :]) ** 2
    elif level == "ratio":
        with np.errstate(divide="ignore", invalid="ignore"):
            d = np.nan_to_num(((v[:, None] - v[None, :]) / (v[:, None] + v[None, :])) ** 2)
    else:
        raise ClhsError(f"unknown level of measurement '{level}' (use {', '.join(LEVELS)})")
    return np.broadcast_to(d, (len(nc), q, q))


def group_stats(G: np.ndarray, q: int, values: np.ndarray, level: str = "nominal") -> dict[str, np.ndarray]:
    """Statistics for any number of coders from R sums of ``group_features``."""
    sumP, n_pair, n_rated = G[:, 0], G[:, 1], G[:, 2]
    o = G[:, 3 + q :].reshape(len(G), q, q)
    # a scale has two categories at least; with one observed, Pa = 1 and AC1 = B-P = 1 for any q
    qe = max(q, 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        pa = sumP / n_pair
        pi = G[:, 3 : 3 + q] / n_rated[:, None]
        nc = o.sum(axis=2)
        n = nc.sum(axis=1)
        d = _metric(level, values, nc)
        do = (o * d).sum(axis=(1, 2))
        de = (nc[:, :, None] * nc[:, None, :] * d).sum(axis=(1, 2))
        alpha = np.where(de == 0, np.nan, 1 - (n - 1) * do / de)
        return {
            "percent_agreement": pa,
            "fleiss_kappa": chance_corrected(pa, (pi**2).sum(axis=1)),
            "brennan_prediger": chance_corrected(pa, 1.0 / qe),
            "gwet_ac1": chance_corrected(pa, (pi * (1 - pi)).sum(axis=1) / (qe - 1)),
            "krippendorff_alpha": alpha,
        }


def _prepare(
    data: Any, weights: Any, categories: Sequence[Any] | None, coders: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(V, categories, weights) checked for every coefficient: coders x units category indices
    (-1 missing) and at least one pairable unit."""
    V, cats = _encode(data, categories)
    if coders is not None and V.shape[0] != coders:
        raise ClhsError(f"this statistic compares exactly {coders} coders; got {V.shape[0]}")
    if V.shape[0] < 2:
        raise ClhsError(f"agreement needs at least two coders; got {V.shape[0]}")
    w = np.ones(V.shape[1]) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != (V.shape[1],) or np.any(w < 0):
        raise ClhsError("weights must be one non-negative number per unit")
    pairable = ((V >= 0).sum(axis=0) >= 2) & (w > 0)
    if not pairable.any():
        raise ClhsError(
            "no unit has ratings from two or more coders (all-missing or single-coder units only)"
        )
    return V, cats, w


def _group_value(
    name: str, data: Any, weights: Any, categories: Sequence[Any] | None, level: str = "nominal"
) -> float:
    """One statistic of ``group_stats`` on the whole data (no bootstrap)."""
    V, cats, w = _prepare(data, weights, categories)
    q = len(cats)
    return float(group_stats(group_features(V, q, w).sum(axis=0, keepdims=True), q, cats, level)[name][0])


def _pair_table(data: Any, weights: Any, categories: Sequence[Any] | None) -> tuple[np.ndarray, int]:
    """Two coders' weighted contingency table (1 x q x q) and q."""
    V, cats, w = _prepare(data, weights, categories, coders=2)
    q = len(cats)
    return pair_features(V[0], V[1], q, w).sum(axis=0).reshape(1, q, q), q


def percent_agreement(data: Any, *, weights: Any = None) -> float:
    """Share of agreeing pairs of ratings (two coders: share of units on which they agree)."""
    return _group_value("percent_agreement", data, weights, None)


def cohen_kappa(
    data: Any, *, weights: Any = None, weighting: str | None = None, categories: Sequence[Any] | None = None
) -> float:
    """Cohen's kappa of two coders (scikit-learn); ``weighting`` ``linear``/``quadratic`` for ordinal data.

    Units that either coder left missing are dropped. NaN when undefined (Pe = 1).
    """
    from sklearn.metrics import cohen_kappa_score

    if weighting not in (None, "linear", "quadratic"):
        raise ClhsError(f"unknown kappa weighting '{weighting}' (use linear or quadratic)")
    V, cats, w = _prepare(data, weights, categories, coders=2)
    q = len(cats)
    table = pair_features(V[0], V[1], q, w).sum(axis=0).reshape(1, q, q)
    if np.isnan(pair_stats(table, q, weighting)["cohen_kappa"][0]):
        return float("nan")
    both = (V[0] >= 0) & (V[1] >= 0) & (w > 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(
            cohen_kappa_score(
                V[0][both], V[1][both], labels=np.arange(q), weights=weighting, sample_weight=w[both]
            )
        )


def scott_pi(data: Any, *, weights: Any = None, categories: Sequence[Any] | None = None) -> float:
    """Scott's pi of two coders."""
    table, q = _pair_table(data, weights, categories)
    return float(pair_stats(table, q)["scott_pi"][0])


def fleiss_kappa(data: Any, *, weights: Any = None, categories: Sequence[Any] | None = None) -> float:
    """Fleiss' kappa of two or more coders; units may have different numbers of ratings.

    With missing ratings it follows Gwet (2014) and irrCAC: Pa from units with two or more
    ratings, the category shares pi_k from every unit rated at least once (see ``STATISTICS``).
    """
    return _group_value("fleiss_kappa", data, weights, categories)


def brennan_prediger(data: Any, *, weights: Any = None, categories: Sequence[Any] | None = None) -> float:
    """Brennan-Prediger kappa (Bennett's S for two coders, Randolph's free-marginal kappa for more).

    q is the number of ``categories`` (default: the categories observed, and at least 2); pass
    e.g. ``[0, 1, 2]`` when a category could have been chosen but was not.
    """
    return _group_value("brennan_prediger", data, weights, categories)


def gwet_ac1(data: Any, *, weights: Any = None, categories: Sequence[Any] | None = None) -> float:
    """Gwet's AC1 of two or more coders (missing ratings as in ``fleiss_kappa``: Gwet 2014, irrCAC).

    With every rating in one category it is 1, as ``agreement`` gives for present/absent codes.
    """
    return _group_value("gwet_ac1", data, weights, categories)


def krippendorff_alpha(
    data: Any, *, level: str = "nominal", weights: Any = None, value_domain: Sequence[Any] | None = None
) -> float:
    """Krippendorff's alpha with missing data; ``level`` nominal, ordinal, interval or ratio.

    Unweighted: the ``krippendorff`` package. Weighted units (e.g. character runs), or
    without that package: our own coincidence-matrix computation (the same formula; each
    unit's coincidences times its weight), tested to agree with the package.
    """
    if level not in LEVELS:
        raise ClhsError(f"unknown level of measurement '{level}' (use {', '.join(LEVELS)})")
    V, cats, w = _prepare(data, weights, value_domain)
    if len(cats) < 2:
        return float("nan")
    try:
        import krippendorff
    except ImportError:  # the package is a declared dependency; without it our own implementation answers
        krippendorff = None
    if weights is None and krippendorff is not None:
        numeric = np.where(V >= 0, V, np.nan).astype(np.float64)
        domain = np.arange(len(cats), dtype=np.float64)
        if level in ("interval", "ratio"):
            try:
                numeric = np.where(V >= 0, np.asarray(cats, dtype=np.float64)[np.maximum(V, 0)], np.nan)
            except (TypeError, ValueError):
                raise ClhsError(f"{level} alpha needs numeric ratings") from None
            domain = np.asarray(cats, dtype=np.float64)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return float(
                krippendorff.alpha(reliability_data=numeric, level_of_measurement=level, value_domain=domain)
            )
    return _group_value("krippendorff_alpha", data, weights, value_domain, level)


def pooled_kappa(datasets: Iterable[Any], *, categories: Sequence[Any] | None = (0, 1)) -> float:
    """De Vries et al. (2008) pooled kappa over several two-coder items (e.g. one per code)."""
    po, pe = [], []
    for data in datasets:
        s = pair_stats(*_pair_table(data, None, categories))
        po.append(s["_po"][0])
        pe.append(s["_pe"][0])
    if not po:
        raise ClhsError("pooled kappa needs at least one code")
    return float(chance_corrected(np.array([np.mean(po)]), np.mean(pe))[0])
