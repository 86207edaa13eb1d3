"""The code co-occurrence table: counts, normalised measures and tests for every pair of codes.

Two definitions of "A and B co-occur":

- **unit** (``unit="segment" | "turn" | "document" | "case" | "window"``): both codes are present
  in the same unit. With the unit x code incidence matrix X (0/1, sparse), all counts come
  from one product: ``C = X.T @ X`` (n12 off the diagonal, n1 and n2 on it) and N is the
  number of units. Every measure and test is defined.
- **span** (``unit="span"``, ``relation="overlap" | "inclusion" | "exact"``): two codings of
  the two codes in one document whose spans overlap (share a character), one includes the
  other, or match exactly, as QDA tools count them. n1 and n2 are numbers of codings, n12
  the number of related coding pairs (ATLAS.ti's count), ``n1_linked`` the codings of A
  related to at least one coding of B (``n2_linked`` likewise). P(B|A) is n1_linked / n1.
  There is no unit count N, so lift, PMI and the tests are not defined (NaN); codings of the
  same code, document and span by several coders count once.

Measures and their formulas: ``significance.FORMULAS`` (also in ``table.attrs["formulas"]``).
Strata, the quotes behind a cell and network data build on this table in ``cooccurrence``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..errors import ClhsError
from .significance import (
    ALTERNATIVES,
    FORMULAS,
    bh_adjust,
    fisher_p,
    pair_measures,
    permutation_p,
    too_small,
)
from .units import (
    COOCCURRENCE_UNITS,
    SPAN_RELATIONS,
    UNITS,
    Incidence,
    check_codes,
    documents_in_scope,
    factor,
    incidence,
    require_codings,
    select_coders,
    sorted_unique,
)

SPAN_NOTE = (
    "span relations count coding pairs; there is no unit count N, so lift, PMI and tests are undefined"
)


def prepare_codings(codings: pd.DataFrame, coders: Sequence[str] | None) -> pd.DataFrame:
    """The codings after checking their columns, restricted to ``coders`` when given."""
    require_codings(codings)
    if coders:
        codings = select_coders(codings, coders)
    return codings


def cooccurrence(
    codings: pd.DataFrame,
    segments: pd.DataFrame | None = None,
    documents: pd.DataFrame | None = None,
    *,
    unit: str = "segment",
    relation: str = "overlap",
    window: int = 1,
    codes: Sequence[str] | None = None,
    coders: Sequence[str] | None = None,
    scope: str | Sequence[str] = "coded",
    tests: bool = True,
    alternative: str = "two-sided",
    permutations: int = 0,
    seed: int = 0,
    alpha: float = 0.05,
    min_count: int = 5,
) -> pd.DataFrame:
    """One row per pair of codes (A before B in code order) with N, n1, n2, n12 and every measure.

    Columns: ``code_a, code_b, N, n1, n2, n12`` then the measures of ``MEASURES`` and
    ``expected``; with ``tests``: ``fisher_p`` (``alternative``), ``fisher_q`` (Benjamini-
    Hochberg across all pairs of the table) and ``too_small``; with ``permutations > 0``:
    ``perm_p`` and ``perm_q`` (each code's units shuffled within each document; for document
    and case units across all units). Window units overlap, so no test is computed for them.
    ``table.attrs`` holds ``unit``, ``N``, ``frequencies`` (code -> n), ``formulas`` and
    ``codings_outside`` (codings that touch no unit in scope).
    """
    codings = prepare_codings(codings, coders)
    if alternative not in ALTERNATIVES:
        raise ClhsError(f"unknown alternative '{alternative}' (use {', '.join(ALTERNATIVES)})")
    if unit == "span":
        return span_cooccurrence(codings, relation=relation, codes=codes, scope=scope, min_count=min_count)
    if unit not in UNITS:
        raise ClhsError(f"unknown unit '{unit}' (use {', '.join(COOCCURRENCE_UNITS)})")
    inc = incidence(codings, segments, documents, unit=unit, window=window, codes=codes, scope=scope)
    return incidence_table(
        inc,
        tests=tests and unit != "window",
        alternative=alternative,
        permutations=permutations if unit != "window" else 0,
        seed=seed,
        alpha=alpha,
        min_count=min_count,
    )


def pair_index(k: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column indices of the code pairs (A before B) among ``k`` codes: the upper triangle."""
    return np.triu_indices(k, 1)


def incidence_table(
    inc: Incidence,
    *,
    tests: bool = True,
    alternative: str = "two-sided",
    permutations: int = 0,
    seed: int = 0,
    alpha: float = 0.05,
    min_count: int = 5,
) -> pd.DataFrame:
    """The co-occurrence table of an incidence matrix (see ``cooccurrence``)."""
    X = inc.matrix
    C = (X.T @ X).toarray() if sp.issparse(X) else X.T @ X
    freq = np.diag(C).astype(np.int64)
    ia, ib = pair_index(len(inc.codes))
    N = inc.n_units
    n12 = C[ia, ib].astype(np.int64)
    codes = np.asarray(inc.codes, dtype=object)
    table = pd.DataFrame(
        {"code_a": codes[ia], "code_b": codes[ib], "N": N, "n1": freq[ia], "n2": freq[ib], "n12": n12}
    )
    table = pd.concat([table, pair_measures(N, table["n1"], table["n2"], n12)], axis=1)
    if tests:
        table["fisher_p"] = fisher_p(N, table["n1"], table["n2"], n12, alternative)
        table["fisher_q"] = bh_adjust(table["fisher_p"])
        table["too_small"] = too_small(N, table["n1"], table["n2"], min_count=min_count, alpha=alpha)
    if permutations:
        if inc.unit in ("document", "case"):
            unit_counts = np.array([N])
            code_counts = freq[None, :]
        else:
            cluster = inc.units["cluster"].to_numpy()
            _, cl = np.unique(cluster, return_inverse=True)
            unit_counts = np.bincount(cl)
            Z = sp.csr_matrix((np.ones(len(cl)), (cl, np.arange(len(cl)))), shape=(len(unit_counts), N))
            code_counts = np.asarray((Z @ X).todense())
        table["perm_p"] = permutation_p(
            unit_counts,
            code_counts,
            np.column_stack([ia, ib]),
            n12,
            permutations=permutations,
            alternative=alternative,
            seed=seed,
        )
        table["perm_q"] = bh_adjust(table["perm_p"])
    table.attrs.update(
        unit=inc.unit,
        N=N,
        frequencies=dict(zip(inc.codes, freq.tolist())),
        formulas=dict(FORMULAS),
        codings_outside=inc.codings_outside,
        alternative=alternative,
    )
    return table


def _span_pair_arrays(
    doc: np.ndarray, code: np.ndarray, start: np.ndarray, end: np.ndarray, relation: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(kept rows, i, j): de-duplicated codings sorted by span, and the related pairs among them.

    Vectorised sweep: codings sorted by (document, start, end); coding j after i overlaps i
    exactly when j starts before i ends, so i's partners are one contiguous run found by a
    binary search. Identical (document, code, start, end) codings count once.
    """
    if relation not in SPAN_RELATIONS:
        raise ClhsError(f"unknown span relation '{relation}' (use {', '.join(SPAN_RELATIONS)})")
    stride = int(end.max(initial=0)) + 1
    gs, ge = doc.astype(np.int64) * stride + start, doc.astype(np.int64) * stride + end
    order = np.lexsort((code, ge, gs))
    gs, ge, cd = gs[order], ge[order], code[order]
    fresh = (
        np.r_[True, (gs[1:] != gs[:-1]) | (ge[1:] != ge[:-1]) | (cd[1:] != cd[:-1])]
        if len(gs)
        else np.zeros(0, dtype=bool)
    )
    order, gs, ge = order[fresh], gs[fresh], ge[fresh]
    hi = np.searchsorted(gs, ge, side="left")
    count = np.maximum(hi - np.arange(len(gs)) - 1, 0)
    i = np.repeat(np.arange(len(gs)), count)
    j = i + 1 + (np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count))
    if relation == "inclusion":
        keep = (ge[j] <= ge[i]) | ((gs[j] == gs[i]) & (ge[i] <= ge[j]))
        i, j = i[keep], j[keep]
    elif relation == "exact":
        keep = (gs[j] == gs[i]) & (ge[j] == ge[i])
        i, j = i[keep], j[keep]
    return order, i, j


def span_pairs(
    codings: pd.DataFrame, relation: str = "overlap"
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Pairs of codings in ``relation``: the de-duplicated codings (sorted by span) and two row arrays."""
    doc = pd.factorize(codings["document"])[0]
    code = pd.factorize(codings["code"])[0]
    rows, i, j = _span_pair_arrays(
        doc, code, codings["start"].to_numpy(np.int64), codings["end"].to_numpy(np.int64), relation
    )
    return codings.iloc[rows].reset_index(drop=True), i, j


def span_cooccurrence(
    codings: pd.DataFrame,
    *,
    relation: str = "overlap",
    codes: Sequence[str] | None = None,
    scope: str | Sequence[str] = "coded",
    min_count: int = 5,
) -> pd.DataFrame:
    """Co-occurrence of codings whose spans are in ``relation`` (see the module docstring)."""
    require_codings(codings)
    code_list = check_codes(list(pd.factorize(codings["code"])[1]), codes)
    docs = documents_in_scope(codings, None, scope)
    code_all = factor(codings["code"], pd.Index(code_list, dtype=object))
    doc_all = factor(codings["document"], docs)
    keep = (code_all >= 0) & (doc_all >= 0)
    rows, i, j = _span_pair_arrays(
        doc_all[keep],
        code_all[keep],
        codings["start"].to_numpy(np.int64)[keep],
        codings["end"].to_numpy(np.int64)[keep],
        relation,
    )
    k = len(code_list)
    code_of = code_all[keep][rows]
    ci, cj = code_of[i], code_of[j]
    diff = ci != cj
    i, j, ci, cj = i[diff], j[diff], ci[diff], cj[diff]
    lo, hi = np.minimum(ci, cj), np.maximum(ci, cj)
    pair_counts = np.bincount(lo * k + hi, minlength=k * k).reshape(k, k)
    # codings of one code linked to at least one coding of the other: unique (coding, other code)
    linked_keys = sorted_unique(np.concatenate([i * k + cj, j * k + ci]))
    coding, other = np.divmod(linked_keys, k)
    linked = np.bincount(code_of[coding] * k + other, minlength=k * k).reshape(k, k)
    freq = np.bincount(code_of, minlength=k)
    ia, ib = pair_index(k)
    codes_arr = np.asarray(code_list, dtype=object)
    n1, n2, n12 = freq[ia], freq[ib], pair_counts[ia, ib]
    table = pd.DataFrame(
        {
            "code_a": codes_arr[ia],
            "code_b": codes_arr[ib],
            "N": np.nan,
            "n1": n1,
            "n2": n2,
            "n12": n12,
            "n1_linked": linked[ia, ib],
            "n2_linked": linked[ib, ia],
        }
    )
    m = pair_measures(np.nan, n1, n2, n12)
    with np.errstate(divide="ignore", invalid="ignore"):
        m["p_b_given_a"] = table["n1_linked"] / n1
        m["p_a_given_b"] = table["n2_linked"] / n2
    table = pd.concat([table, m], axis=1)
    for col in ("fisher_p", "fisher_q"):
        table[col] = np.nan
    table["too_small"] = np.minimum(n1, n2) < min_count
    table["n12_exceeds_min"] = n12 > np.minimum(n1, n2)
    table.attrs.update(
        unit=f"span ({relation})",
        N=None,
        frequencies=dict(zip(code_list, freq.tolist())),
        formulas={
            **FORMULAS,
            "N": "none: span relations have no unit count",
            "n1": "codings of code A",
            "n2": "codings of code B",
            "n12": "pairs of an A and a B coding in the relation (QDA tools' count)",
            "n1_linked": "codings of A related to at least one coding of B",
            "n2_linked": "codings of B related to at least one coding of A",
            "count": "n12: pairs of codings in the relation (QDA tools' count)",
            "p_b_given_a": "n1_linked / n1: share of A's codings related to a B coding",
            "p_a_given_b": "n2_linked / n2: share of B's codings related to an A coding",
            "n12_exceeds_min": "n12 > min(n1, n2): the c-coefficient and overlap are "
            "not proportions for this pair (several pairs per coding)",
        },
        codings_outside=0,
        note=SPAN_NOTE,
    )
    return table
