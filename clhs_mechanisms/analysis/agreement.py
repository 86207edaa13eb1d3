"""Inter-coder agreement: per code (present/absent) and pooled, with bootstrap confidence intervals.

Two layers:

1. **Statistics on reliability data**: a coders x units array (rows are coders, columns are
   units; ``None``/NaN is a missing rating; values are any categories), the layout the
   ``krippendorff`` package uses. Each function returns one float and names its formula in
   ``STATISTICS``. Cohen's kappa is scikit-learn's ``cohen_kappa_score`` and Krippendorff's
   alpha the ``krippendorff`` package's ``alpha`` (for weighted units, where that package has
   no weights, our own coincidence-matrix implementation, checked against it in the tests).
2. **Coding agreement in a project**: ``rating_table`` turns codings into one row per
   (code, unit) with a 1/0/NaN column per coder (NaN: the coder did not code that document),
   ``agreement`` computes every statistic per code and pooled over codes, for the group of
   coders and for each pair, with percentile bootstrap intervals; ``disagreements`` lists
   where coders differ (for adjudication) and ``machine_agreement`` treats the assisted-coding
   suggestions at their thresholds as one more coder.

Units (``unit=``): ``segment``, ``turn``, ``document`` (a code is present for a coder when one
of the coder's codings of it touches the unit) or ``character`` (as NVivo does: every character
of a document is a unit; stored as runs of characters with equal ratings, each weighted by
its length, so a 10,000-character document costs a handful of rows, not 10,000).

Bootstrap: the units (or, with ``resample="document"``, whole documents: the default for
character units, whose runs are not independent) are drawn with replacement ``n_boot``
times and every statistic recomputed; the interval is the percentile interval. All statistics
are sums over units of per-unit terms, so each replicate is one matrix product.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..errors import ClhsError
from .units import assign_units, check_codes, require_codings, select_coders

AGREEMENT_UNITS = ("segment", "turn", "document", "character")
LEVELS = ("nominal", "ordinal", "interval", "ratio")
ALL_CODES = "(all codes)"

# statistic -> (name and reference, formula)
STATISTICS: dict[str, tuple[str, str]] = {
    "percent_agreement": (
        "Percent agreement",
        ("Po = share of paired ratings that agree; for m coders the mean over units of "
         "sum_k n_uk (n_uk - 1) / (m_u (m_u - 1))")),
    "cohen_kappa": (
        "Cohen's kappa (Cohen 1960)",
        "(Po - Pe) / (1 - Pe), Pe = sum_k pA_k pB_k from each coder's own marginal shares"),
    "scott_pi": (
        "Scott's pi (Scott 1955)",
        "(Po - Pe) / (1 - Pe), Pe = sum_k ((pA_k + pB_k) / 2)^2 from the pooled marginal shares"),
    "fleiss_kappa": (
        "Fleiss' kappa (Fleiss 1971)",
        ("(Pa - Pe) / (1 - Pe), Pa = mean over units with m_u >= 2 ratings of "
         "sum_k n_uk (n_uk - 1) / (m_u (m_u - 1)), Pe = sum_k pi_k^2, pi_k = mean over units with "
         "m_u >= 1 of n_uk / m_u (Gwet 2014, Handbook of Inter-Rater Reliability 4th ed., as irrCAC)")),
    "krippendorff_alpha": (
        "Krippendorff's alpha (Krippendorff 2011)",
        ("1 - Do / De = 1 - (n - 1) sum_ck o_ck d_ck / sum_ck n_c n_k d_ck, o = coincidence matrix of "
         "pairable values, d = nominal/ordinal/interval/ratio metric")),
    "brennan_prediger": (
        "Brennan-Prediger kappa (Brennan & Prediger 1981; Bennett et al. 1954 S; Randolph 2005 for m coders)",
        ("(Pa - 1/q) / (1 - 1/q), Pa as for Fleiss, q = number of categories (2 for present/absent; "
         "at least 2: with every rating in one category Pa = 1 and the value is 1 for any q)")),
    "gwet_ac1": (
        "Gwet's AC1 (Gwet 2008)",
        ("(Pa - Pe) / (1 - Pe), Pa as for Fleiss, Pe = sum_k pi_k (1 - pi_k) / (q - 1), pi_k = mean over "
         "units with m_u >= 1 of n_uk / m_u (Gwet 2014, as irrCAC), q >= 2 as for Brennan-Prediger")),
    "pooled_kappa": (
        "Pooled kappa (De Vries et al. 2008; as in Dedoose)",
        "(mean Po - mean Pe) / (1 - mean Pe), means over codes of each code's Cohen Po and Pe"),
}
PAIR_STATISTICS = ("percent_agreement", "cohen_kappa", "scott_pi", "brennan_prediger", "gwet_ac1",
                   "krippendorff_alpha")
GROUP_STATISTICS = ("percent_agreement", "fleiss_kappa", "brennan_prediger", "gwet_ac1", "krippendorff_alpha")
UNDEFINED = "undefined: expected agreement is 1 (every rating in one category)"


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
    idx = pd.Index(cats).get_indexer(pd.Index(values.tolist(), dtype=object)) if len(values) else np.zeros(0, int)
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
        out[:len(ratings), u] = ratings
    return out


# -- per-unit features and statistics from their sums ---------------------------------------------


def _pair_features(vi: np.ndarray, vj: np.ndarray, q: int, w: np.ndarray) -> np.ndarray:
    """units x q*q: weight w in cell (category of i, category of j) where both rated."""
    both = (vi >= 0) & (vj >= 0)
    out = np.zeros((len(vi), q * q))
    rows = np.flatnonzero(both)
    out[rows, vi[rows] * q + vj[rows]] = w[rows]
    return out


def _group_features(V: np.ndarray, q: int, w: np.ndarray) -> np.ndarray:
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
    feats = np.concatenate([(P * pair)[:, None], pair[:, None], rated[:, None], shares,
                            coinc.reshape(len(m), q * q) * pair[:, None]], axis=1)
    return feats * w[:, None]


def _kappa(po: np.ndarray, pe: np.ndarray | float) -> np.ndarray:
    pe = np.broadcast_to(np.asarray(pe, dtype=np.float64), np.shape(po))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(np.isclose(pe, 1.0, rtol=0, atol=1e-12), np.nan, (po - pe) / (1 - pe))


def _pair_stats(T: np.ndarray, q: int, weighting: str | None = None) -> dict[str, np.ndarray]:
    """Cohen's kappa, Scott's pi and Cohen's Po and Pe from R contingency tables (R x q x q): units both coders rated."""
    with np.errstate(divide="ignore", invalid="ignore"):
        n = T.sum(axis=(1, 2))
        P = T / n[:, None, None]
        po = np.trace(P, axis1=1, axis2=2)
        pa, pb = P.sum(axis=2), P.sum(axis=1)
        pi = (pa + pb) / 2
        out = {
            "cohen_kappa": _kappa(po, (pa * pb).sum(axis=1)),
            "scott_pi": _kappa(po, (pi ** 2).sum(axis=1)),
            "_po": po, "_pe": (pa * pb).sum(axis=1),
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


def _group_stats(G: np.ndarray, q: int, values: np.ndarray, level: str = "nominal") -> dict[str, np.ndarray]:
    """Statistics for any number of coders from R sums of ``_group_features``."""
    sumP, n_pair, n_rated = G[:, 0], G[:, 1], G[:, 2]
    o = G[:, 3 + q:].reshape(len(G), q, q)
    qe = max(q, 2)  # a scale has two categories at least; with one observed, Pa = 1 and AC1 = B-P = 1 for any q
    with np.errstate(divide="ignore", invalid="ignore"):
        pa = sumP / n_pair
        pi = G[:, 3:3 + q] / n_rated[:, None]
        nc = o.sum(axis=2)
        n = nc.sum(axis=1)
        d = _metric(level, values, nc)
        do = (o * d).sum(axis=(1, 2))
        de = (nc[:, :, None] * nc[:, None, :] * d).sum(axis=(1, 2))
        alpha = np.where(de == 0, np.nan, 1 - (n - 1) * do / de)
        return {
            "percent_agreement": pa,
            "fleiss_kappa": _kappa(pa, (pi ** 2).sum(axis=1)),
            "brennan_prediger": _kappa(pa, 1.0 / qe),
            "gwet_ac1": _kappa(pa, (pi * (1 - pi)).sum(axis=1) / (qe - 1)),
            "krippendorff_alpha": alpha,
        }


def _prepare(data: Any, weights: Any, categories: Sequence[Any] | None,
             coders: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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
        raise ClhsError("no unit has ratings from two or more coders (all-missing or single-coder units only)")
    return V, cats, w


def _one(stats: dict[str, np.ndarray], name: str) -> float:
    return float(stats[name][0])


def percent_agreement(data: Any, *, weights: Any = None) -> float:
    """Share of agreeing pairs of ratings (two coders: share of units on which they agree)."""
    V, cats, w = _prepare(data, weights, None)
    return _one(_group_stats(_group_features(V, len(cats), w).sum(axis=0, keepdims=True), len(cats), cats),
                "percent_agreement")


def cohen_kappa(data: Any, *, weights: Any = None, weighting: str | None = None,
                categories: Sequence[Any] | None = None) -> float:
    """Cohen's kappa of two coders (scikit-learn); ``weighting`` ``linear``/``quadratic`` for ordinal data.

    Units that either coder left missing are dropped. NaN when undefined (Pe = 1).
    """
    from sklearn.metrics import cohen_kappa_score

    if weighting not in (None, "linear", "quadratic"):
        raise ClhsError(f"unknown kappa weighting '{weighting}' (use linear or quadratic)")
    V, cats, w = _prepare(data, weights, categories, coders=2)
    q = len(cats)
    table = _pair_features(V[0], V[1], q, w).sum(axis=0).reshape(1, q, q)
    if np.isnan(_pair_stats(table, q, weighting)["cohen_kappa"][0]):
        return float("nan")
    both = (V[0] >= 0) & (V[1] >= 0) & (w > 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(cohen_kappa_score(V[0][both], V[1][both], labels=np.arange(q), weights=weighting,
                                       sample_weight=w[both]))


def scott_pi(data: Any, *, weights: Any = None, categories: Sequence[Any] | None = None) -> float:
    """Scott's pi of two coders."""
    V, cats, w = _prepare(data, weights, categories, coders=2)
    q = len(cats)
    return _one(_pair_stats(_pair_features(V[0], V[1], q, w).sum(axis=0).reshape(1, q, q), q), "scott_pi")


def fleiss_kappa(data: Any, *, weights: Any = None, categories: Sequence[Any] | None = None) -> float:
    """Fleiss' kappa of two or more coders; units may have different numbers of ratings.

    With missing ratings it follows Gwet (2014) and irrCAC: Pa from units with two or more
    ratings, the category shares pi_k from every unit rated at least once (see ``STATISTICS``).
    """
    V, cats, w = _prepare(data, weights, categories)
    q = len(cats)
    return _one(_group_stats(_group_features(V, q, w).sum(axis=0, keepdims=True), q, cats), "fleiss_kappa")


def brennan_prediger(data: Any, *, weights: Any = None, categories: Sequence[Any] | None = None) -> float:
    """Brennan-Prediger kappa (Bennett's S for two coders, Randolph's free-marginal kappa for more).

    q is the number of ``categories`` (default: the categories observed, and at least 2); pass
    e.g. ``[0, 1, 2]`` when a category could have been chosen but was not.
    """
    V, cats, w = _prepare(data, weights, categories)
    q = len(cats)
    return _one(_group_stats(_group_features(V, q, w).sum(axis=0, keepdims=True), q, cats), "brennan_prediger")


def gwet_ac1(data: Any, *, weights: Any = None, categories: Sequence[Any] | None = None) -> float:
    """Gwet's AC1 of two or more coders (missing ratings as in ``fleiss_kappa``: Gwet 2014, irrCAC).

    With every rating in one category it is 1, as ``agreement`` gives for present/absent codes.
    """
    V, cats, w = _prepare(data, weights, categories)
    q = len(cats)
    return _one(_group_stats(_group_features(V, q, w).sum(axis=0, keepdims=True), q, cats), "gwet_ac1")


def krippendorff_alpha(data: Any, *, level: str = "nominal", weights: Any = None,
                       value_domain: Sequence[Any] | None = None) -> float:
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
            return float(krippendorff.alpha(reliability_data=numeric, level_of_measurement=level,
                                            value_domain=domain))
    q = len(cats)
    return _one(_group_stats(_group_features(V, q, w).sum(axis=0, keepdims=True), q, cats, level),
                "krippendorff_alpha")


def pooled_kappa(datasets: Iterable[Any], *, categories: Sequence[Any] | None = (0, 1)) -> float:
    """De Vries et al. (2008) pooled kappa over several two-coder items (e.g. one per code)."""
    po, pe = [], []
    for data in datasets:
        V, cats, w = _prepare(data, None, categories, coders=2)
        q = len(cats)
        s = _pair_stats(_pair_features(V[0], V[1], q, w).sum(axis=0).reshape(1, q, q), q)
        po.append(s["_po"][0])
        pe.append(s["_pe"][0])
    if not po:
        raise ClhsError("pooled kappa needs at least one code")
    return float(_kappa(np.array([np.mean(po)]), np.mean(pe))[0])


# -- ratings from codings --------------------------------------------------------------------------


def coverage_of(codings: pd.DataFrame, coders: Sequence[str], how: str | Mapping[str, Iterable[str]] = "coded"
                ) -> dict[str, set[str]]:
    """Which documents each coder rated: ``coded`` (those with any coding by the coder), ``all``
    (every document any of them coded), or an explicit mapping coder -> documents."""
    if isinstance(how, Mapping):
        out = {c: set(how.get(c, ())) for c in coders}
    elif how == "coded":
        out = {c: set(pd.unique(codings.loc[codings["coder"] == c, "document"])) for c in coders}
    elif how == "all":
        docs = set(pd.unique(codings["document"]))
        out = {c: set(docs) for c in coders}
    else:
        raise ClhsError(f"unknown coverage '{how}' (use coded, all or a mapping coder -> documents)")
    for c, docs in out.items():
        if not docs:
            raise ClhsError(f"coder '{c}' rated no document")
    return out


def rating_table(codings: pd.DataFrame, segments: pd.DataFrame | None = None, *, coders: Sequence[str],
                 unit: str = "segment", codes: Sequence[str] | None = None,
                 coverage: str | Mapping[str, Iterable[str]] = "coded",
                 texts: Mapping[str, str] | None = None) -> pd.DataFrame:
    """One row per (code, unit) with each coder's rating: 1 coded, 0 not coded, NaN not rated.

    Columns: ``code``, ``document``, ``unit`` (label), ``start``, ``end``, ``weight`` (1, or the
    number of characters for character units), then one column per coder. Units are those of
    every document at least one coder rated; a coder rated the documents in ``coverage``.
    Character units need ``texts`` (document -> text) for the document lengths.
    """
    require_codings(codings)
    coders = list(dict.fromkeys(coders))
    if len(coders) < 2:
        raise ClhsError(f"agreement needs at least two coders; got {len(coders)}"
                        + (f" ({coders[0]})" if coders else ""))
    if unit not in AGREEMENT_UNITS:
        raise ClhsError(f"unknown agreement unit '{unit}' (use {', '.join(AGREEMENT_UNITS)})")
    codings = select_coders(codings, coders)
    code_list = check_codes(codings, codes)
    codings = codings[codings["code"].isin(code_list)]
    cover = coverage_of(codings, coders, coverage)
    docs = sorted(set().union(*cover.values()))
    codings = codings[codings["document"].isin(docs)]
    if unit == "character":
        table = _character_ratings(codings, coders, code_list, cover, docs, texts)
    else:
        table = _ratings_with_coverage(codings, segments, coders, unit, code_list, cover)
    table.attrs.update(unit=unit, coders=coders, codes=code_list,
                       coverage={c: sorted(v) for c, v in cover.items()})
    return table


def _character_ratings(codings: pd.DataFrame, coders: list[str], codes: list[str], cover: dict[str, set[str]],
                       docs: list[str], texts: Mapping[str, str] | None) -> pd.DataFrame:
    if texts is None:
        raise ClhsError("character units need the document texts (their lengths)")
    missing = [d for d in docs if d not in texts]
    if missing:
        raise ClhsError(f"no text for document '{missing[0]}'")
    groups = {key: g for key, g in codings.groupby(["code", "document"], sort=False)}
    rows: list[pd.DataFrame] = []
    for code in codes:
        for doc in docs:
            length = len(texts[doc])
            g = groups.get((code, doc))
            if g is None:
                cuts = np.array([0, length])
            else:
                cuts = np.unique(np.clip(np.concatenate([[0, length], g["start"].to_numpy(), g["end"].to_numpy()]),
                                         0, length))
            starts, ends = cuts[:-1], cuts[1:]
            frame = {"code": code, "document": doc, "unit": [f"{doc}@{s}-{e}" for s, e in zip(starts, ends)],
                     "start": starts, "end": ends, "weight": (ends - starts).astype(np.float64)}
            for coder in coders:
                if doc not in cover[coder]:
                    frame[coder] = np.nan
                    continue
                depth = np.zeros(len(cuts))
                if g is not None:
                    mine = g[g["coder"] == coder]
                    np.add.at(depth, np.searchsorted(cuts, np.clip(mine["start"].to_numpy(), 0, length)), 1)
                    np.add.at(depth, np.searchsorted(cuts, np.clip(mine["end"].to_numpy(), 0, length)), -1)
                frame[coder] = (np.cumsum(depth)[:-1] > 0).astype(np.float64)
            rows.append(pd.DataFrame(frame))
    return pd.concat(rows, ignore_index=True)


# -- the agreement table --------------------------------------------------------------------------


def _coder_columns(ratings: pd.DataFrame, coders: Sequence[str] | None) -> list[str]:
    coders = list(coders) if coders else list(ratings.attrs.get("coders", []))
    if not coders:
        raise ClhsError("name the coder columns to compare")
    for c in coders:
        if c not in ratings.columns:
            raise ClhsError(f"no ratings for coder '{c}'")
    if len(coders) < 2:
        raise ClhsError(f"agreement needs at least two coders; got {len(coders)}")
    return coders


def _replicate_weights(n_clusters: int, n_boot: int, seed: int) -> np.ndarray:
    """Row 0: the data itself (each cluster once); rows 1..n_boot: bootstrap draws."""
    rng = np.random.default_rng(seed)
    W = np.ones((1 + n_boot, n_clusters))
    if n_boot:
        W[1:] = rng.multinomial(n_clusters, np.full(n_clusters, 1.0 / n_clusters), size=n_boot)
    return W


def _interval(values: np.ndarray, ci: float) -> tuple[float, float]:
    v = values[np.isfinite(values)]
    if len(v) < 2:
        return float("nan"), float("nan")
    return float(np.percentile(v, 100 * (1 - ci) / 2)), float(np.percentile(v, 100 * (1 + ci) / 2))


def agreement(ratings: pd.DataFrame, *, coders: Sequence[str] | None = None,
              statistics: Sequence[str] | None = None, n_boot: int = 1000, ci: float = 0.95,
              resample: str | None = None, seed: int = 0, pooled: bool = True) -> pd.DataFrame:
    """Agreement per code and pooled over codes, for the coder group and each pair of coders.

    One row per (code, coders, statistic): ``code`` (``(all codes)`` for pooled rows),
    ``coders`` (``A + B``), ``n_coders``, ``statistic``, ``name`` (with reference),
    ``formula``, ``value``, ``ci_low``, ``ci_high``, ``units`` (units rated by two or more of
    these coders; characters for character units), ``coded`` (units each coder coded) and
    ``note``. Two coders get ``PAIR_STATISTICS`` (plus Fleiss' kappa in the pooled row of a
    group); three or more get ``GROUP_STATISTICS`` for the group plus ``PAIR_STATISTICS``
    for every pair. Pooled rows treat every (code, unit) as one item; ``pooled_kappa``
    (De Vries et al.) averages the per-code Po and Pe instead. Codes that none of these
    coders used are left out (listed in ``attrs["unused_codes"]``).

    ``resample``: ``unit`` (default) or ``document`` (default for character units).
    Bootstrap replicates in which a statistic is undefined (e.g. no unit coded, so Pe = 1)
    are left out of that statistic's interval.
    """
    coders = _coder_columns(ratings, coders)
    unit = ratings.attrs.get("unit", "segment")
    resample = resample or ("document" if unit == "character" else "unit")
    if resample not in ("unit", "document"):
        raise ClhsError(f"unknown resampling '{resample}' (use unit or document)")
    wanted = list(statistics) if statistics else list(STATISTICS)
    for s in wanted:
        if s not in STATISTICS:
            raise ClhsError(f"unknown statistic '{s}' (use {', '.join(STATISTICS)})")
    values = ratings[coders].to_numpy(dtype=np.float64)
    rated = ~np.isnan(values)
    if not (rated.sum(axis=1) >= 2).any():
        raise ClhsError(f"no unit was rated by two or more of {', '.join(coders)}: their documents do not overlap")
    V = np.where(rated, values, -1).astype(np.int64).T  # coders x items, categories 0/1
    w = ratings["weight"].to_numpy(dtype=np.float64) if "weight" in ratings.columns else np.ones(len(ratings))
    cluster_key = ratings["document"] if resample == "document" else ratings["document"].astype(str) + "\x1f" + \
        ratings["unit"].astype(str)
    cluster, cluster_names = pd.factorize(cluster_key)
    S = sp.csr_matrix((np.ones(len(cluster)), (cluster, np.arange(len(cluster)))),
                      shape=(len(cluster_names), len(cluster)))
    W = _replicate_weights(len(cluster_names), n_boot, seed)
    codes_col = ratings["code"].to_numpy()
    used = [c for c in pd.unique(codes_col) if (values[codes_col == c] == 1).any()]
    unused = [c for c in pd.unique(codes_col) if c not in used]
    q, cats = 2, np.array([0, 1], dtype=object)
    sets = [tuple(coders)] + ([p for p in combinations(coders, 2)] if len(coders) > 2 else [])
    rows: list[dict[str, Any]] = []

    def emit(code: str, who: tuple[str, ...], stat: str, series: np.ndarray, units: float, coded: str,
             note: str = "") -> None:
        if stat not in wanted:
            return
        value = float(series[0])
        lo, hi = _interval(series[1:], ci) if n_boot else (float("nan"), float("nan"))
        rows.append({"code": code, "coders": " + ".join(who), "n_coders": len(who), "statistic": stat,
                     "name": STATISTICS[stat][0], "formula": STATISTICS[stat][1], "value": value,
                     "ci_low": lo, "ci_high": hi, "units": units, "coded": coded,
                     "note": note or (UNDEFINED if np.isnan(value) else "")})

    per_code_po: dict[tuple[str, ...], list[np.ndarray]] = {}
    per_code_pe: dict[tuple[str, ...], list[np.ndarray]] = {}
    scopes = [(c, codes_col == c) for c in used] + ([(ALL_CODES, np.isin(codes_col, used))] if pooled else [])
    for code, mask in scopes:
        for who in sets:
            idx = [coders.index(c) for c in who]
            Vs = V[idx][:, mask]
            ws = w[mask]
            pairable = (Vs >= 0).sum(axis=0) >= 2
            units = float(ws[pairable].sum())
            units = int(units) if units.is_integer() else units
            coded = ", ".join(f"{c}: {int(((Vs[i] == 1) & pairable).sum())}" for i, c in enumerate(who))
            if units == 0:
                for stat in (PAIR_STATISTICS if len(who) == 2 else GROUP_STATISTICS):
                    emit(code, who, stat, np.array([np.nan]), 0.0, coded, "no unit rated by these coders")
                continue
            Sm = S[:, mask]
            G = W @ (Sm @ _group_features(Vs, q, ws))
            group = _group_stats(G, q, cats)
            if len(who) == 2:
                T = (W @ (Sm @ _pair_features(Vs[0], Vs[1], q, ws))).reshape(-1, q, q)
                pair = _pair_stats(T, q)
                if code != ALL_CODES:
                    per_code_po.setdefault(who, []).append(pair["_po"])
                    per_code_pe.setdefault(who, []).append(pair["_pe"])
                point = ratings_point(Vs, ws, unit)
                for stat in PAIR_STATISTICS:
                    series = pair[stat] if stat in ("cohen_kappa", "scott_pi") else group[stat]
                    series = series.copy()
                    if stat in point:
                        series[0] = point[stat]
                    emit(code, who, stat, series, units, coded)
            else:
                for stat in GROUP_STATISTICS:
                    series = group[stat].copy()
                    if stat == "krippendorff_alpha" and unit != "character":
                        series[0] = krippendorff_alpha(np.where(Vs >= 0, Vs, np.nan), value_domain=[0, 1])
                    emit(code, who, stat, series, units, coded)
            if code == ALL_CODES and len(who) == 2 and per_code_po.get(who):
                po = np.mean(per_code_po[who], axis=0)
                pe = np.mean(per_code_pe[who], axis=0)
                emit(code, who, "pooled_kappa", _kappa(po, pe), units, coded,
                     f"over {len(per_code_po[who])} codes")
    out = pd.DataFrame(rows, columns=["code", "coders", "n_coders", "statistic", "name", "formula", "value",
                                      "ci_low", "ci_high", "units", "coded", "note"])
    out.attrs.update(unit=unit, coders=coders, unused_codes=unused, n_boot=n_boot, ci=ci, resample=resample,
                     bootstrap=f"percentile interval over {n_boot} resamples of {resample}s")
    return out


def ratings_point(V: np.ndarray, w: np.ndarray, unit: str) -> dict[str, float]:
    """Library point estimates for two coders: Cohen's kappa (scikit-learn) and, for unweighted
    units, Krippendorff's alpha (``krippendorff``)."""
    data = np.where(V >= 0, V, np.nan)
    out = {"cohen_kappa": cohen_kappa(data, weights=None if unit != "character" else w, categories=[0, 1])}
    if unit != "character":
        out["krippendorff_alpha"] = krippendorff_alpha(data, value_domain=[0, 1])
    return out


def disagreements(ratings: pd.DataFrame, *, coders: Sequence[str] | None = None,
                  texts: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Where two or more coders rated a unit and did not all agree: the adjudication list.

    Columns: ``code``, ``document``, ``unit``, ``start``, ``end``, ``coded_by`` and
    ``not_coded_by`` (lists of coders), ``not_rated`` (coders who did not rate the unit) and,
    with ``texts``, the unit's ``text``.
    """
    coders = _coder_columns(ratings, coders)
    values = ratings[coders].to_numpy(dtype=np.float64)
    rated = ~np.isnan(values)
    yes = (values == 1) & rated
    no = (values == 0) & rated
    mask = (rated.sum(axis=1) >= 2) & yes.any(axis=1) & no.any(axis=1)
    names = np.asarray(coders, dtype=object)
    sub = ratings.loc[mask, ["code", "document", "unit", "start", "end"]].reset_index(drop=True)
    sub["coded_by"] = [list(names[r]) for r in yes[mask]]
    sub["not_coded_by"] = [list(names[r]) for r in no[mask]]
    sub["not_rated"] = [list(names[~r]) for r in rated[mask]]
    if texts is not None:
        sub["text"] = [texts.get(d, "")[s:e] if e >= 0 else texts.get(d, "")
                       for d, s, e in zip(sub["document"], sub["start"], sub["end"])]
    return sub


# -- the machine as a coder ------------------------------------------------------------------------


def machine_codings(suggestions: pd.DataFrame, *, name: str = "machine",
                    threshold: float | None = None) -> tuple[pd.DataFrame, set[str]]:
    """The suggestions at their thresholds as codings of one coder, and the documents it rated.

    A suggestion counts as a coding when ``score >= threshold``: its own
    ``components["threshold"]`` (0.5 if it has none) unless ``threshold`` is given. Stale
    suggestions (superseded by a later run) are ignored. The machine rated every document
    that has a current suggestion.
    """
    if len(suggestions) == 0:
        raise ClhsError("the project has no suggestions: run the assisted coding (suggest) first")
    sug = suggestions
    if "status" in sug.columns:
        sug = sug[sug["status"] != "stale"]
    if len(sug) == 0:
        raise ClhsError("every suggestion is stale: run the assisted coding (suggest) again")

    def limit(components: Any) -> float:
        if threshold is not None:
            return float(threshold)
        if isinstance(components, dict) and "threshold" in components:
            return float(components["threshold"])
        return 0.5

    thresholds = sug["components"].map(limit) if "components" in sug.columns else pd.Series(
        threshold if threshold is not None else 0.5, index=sug.index)
    hit = sug[sug["score"].to_numpy(dtype=float) >= thresholds.to_numpy(dtype=float)]
    codings = pd.DataFrame({"document": hit["document"].to_numpy(), "code": hit["code"].to_numpy(), "coder": name,
                            "start": hit["start"].to_numpy(), "end": hit["end"].to_numpy(),
                            "quote": hit["text"].to_numpy() if "text" in hit.columns else ""})
    return codings, set(pd.unique(sug["document"]))


def machine_agreement(codings: pd.DataFrame, suggestions: pd.DataFrame, segments: pd.DataFrame, *,
                      humans: Sequence[str] | None = None, unit: str = "segment", codes: Sequence[str] | None = None,
                      statistics: Sequence[str] | None = None, n_boot: int = 1000, ci: float = 0.95, seed: int = 0,
                      name: str = "machine", threshold: float | None = None) -> pd.DataFrame:
    """Agreement of the machine (suggestions at their thresholds) with each human coder,
    beside the human-human pairs. Rows as in ``agreement`` plus ``kind``
    (``machine-human`` or ``human-human``). Humans default to every coder whose
    ``coder_kind`` is human (all coders if the column is absent). Codes default to those
    the humans used. Note that codings made by accepting a suggestion agree with the
    machine by construction; filter them out (``origin != "suggestion"``) for an independent
    comparison.
    """
    if unit == "character":
        raise ClhsError("suggestions are per segment; compare the machine on segment, turn or document units")
    require_codings(codings)
    if humans:
        humans = list(dict.fromkeys(humans))
        codings = select_coders(codings, humans)
    else:
        pool = codings[codings["coder_kind"] == "human"] if "coder_kind" in codings.columns else codings
        humans = sorted(pd.unique(pool["coder"]))
        if not humans:
            raise ClhsError("no human coder has codings to compare the machine with")
        codings = pool
    if name in humans:
        raise ClhsError(f"the machine's name '{name}' is also a human coder's; choose another name")
    machine, rated = machine_codings(suggestions, name=name, threshold=threshold)
    code_list = check_codes(codings, codes)
    cover = coverage_of(codings, humans, "coded")
    cover[name] = rated
    both = pd.concat([codings[["document", "code", "coder", "start", "end"]], machine], ignore_index=True)
    both = both[both["code"].isin(code_list)]
    if not (both["coder"] == name).any():
        both = pd.concat([both, pd.DataFrame({"document": [], "code": [], "coder": [], "start": [], "end": []})])
    ratings = _ratings_with_coverage(both, segments, [*humans, name], unit, code_list, cover)
    pairs = [(name, h) for h in humans] + list(combinations(humans, 2))
    frames = []
    for who in pairs:
        t = agreement(ratings, coders=list(who), statistics=statistics, n_boot=n_boot, ci=ci, seed=seed)
        t.insert(0, "kind", "machine-human" if name in who else "human-human")
        frames.append(t)
    out = pd.concat(frames, ignore_index=True)
    out.attrs.update(unit=unit, machine=name, humans=humans,
                     threshold="each suggestion's own threshold" if threshold is None else threshold)
    return out


def _ratings_with_coverage(codings: pd.DataFrame, segments: pd.DataFrame, coders: list[str], unit: str,
                           codes: list[str], cover: dict[str, set[str]]) -> pd.DataFrame:
    """``rating_table`` for coders some of whom may have no codings (the machine below every threshold)."""
    docs = sorted(set().union(*cover.values()))
    codings = codings[codings["document"].isin(docs)]
    a = assign_units(codings, segments, unit=unit, scope=docs)
    units = a.units.reset_index(drop=True)
    n_units, k = len(units), len(codes)
    code_of = pd.Index(codes).get_indexer(codings["code"].to_numpy())[a.coding_rows]
    coder_of = pd.Index(coders).get_indexer(codings["coder"].to_numpy())[a.coding_rows]
    ok = (a.unit_rows >= 0) & (code_of >= 0) & (coder_of >= 0)
    present = np.zeros((len(coders), k, n_units))
    present[coder_of[ok], code_of[ok], a.unit_rows[ok]] = 1.0
    doc_names = units["document"].astype(object).to_numpy()
    for ci, coder in enumerate(coders):
        present[ci][:, ~np.isin(doc_names, list(cover[coder]))] = np.nan
    key = units["key"].to_numpy()
    labels = [str(d) if unit == "document" else (f"{d}#turn{t}" if unit == "turn" else f"{d}#{t}")
              for d, t in zip(doc_names, key)]
    table = pd.DataFrame({"code": np.repeat(np.asarray(codes, dtype=object), n_units),
                          "document": np.tile(doc_names, k), "unit": np.tile(np.asarray(labels, dtype=object), k),
                          "start": np.tile(units["start"].to_numpy() if "start" in units else np.zeros(n_units), k),
                          "end": np.tile(units["end"].to_numpy() if "end" in units else np.full(n_units, -1), k),
                          "weight": 1.0})
    for ci, coder in enumerate(coders):
        table[coder] = present[ci].reshape(-1)
    table.attrs.update(unit=unit, coders=coders, codes=codes, coverage={c: sorted(v) for c, v in cover.items()})
    return table
