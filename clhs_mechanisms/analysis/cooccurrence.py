"""Code co-occurrence: counts, normalised measures, tests, strata, quotes and network data.

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
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from itertools import combinations
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..errors import ClhsError
from .significance import (
    ALTERNATIVES,
    FORMULAS,
    MEASURES,
    bh_adjust,
    fisher_p,
    measure,
    pair_measures,
    permutation_p,
    too_small,
)
from .units import (
    SPAN_RELATIONS,
    UNITS,
    Incidence,
    check_codes,
    document_attribute,
    documents_in_scope,
    factor,
    incidence,
    require_codings,
    select_coders,
    sorted_unique,
    unit_labels,
)

COOCCURRENCE_UNITS = UNITS + ("span",)
SPAN_NOTE = "span relations count coding pairs; there is no unit count N, so lift, PMI and tests are undefined"


def _prepare(codings: pd.DataFrame, coders: Sequence[str] | None) -> pd.DataFrame:
    require_codings(codings)
    if coders:
        codings = select_coders(codings, coders)
    return codings


def cooccurrence(codings: pd.DataFrame, segments: pd.DataFrame | None = None,
                 documents: pd.DataFrame | None = None, *, unit: str = "segment", relation: str = "overlap",
                 window: int = 1, codes: Sequence[str] | None = None, coders: Sequence[str] | None = None,
                 scope: str | Sequence[str] = "coded", tests: bool = True, alternative: str = "two-sided",
                 permutations: int = 0, seed: int = 0, alpha: float = 0.05, min_count: int = 5) -> pd.DataFrame:
    """One row per pair of codes (A before B in code order) with N, n1, n2, n12 and every measure.

    Columns: ``code_a, code_b, N, n1, n2, n12`` then the measures of ``MEASURES`` and
    ``expected``; with ``tests``: ``fisher_p`` (``alternative``), ``fisher_q`` (Benjamini-
    Hochberg across all pairs of the table) and ``too_small``; with ``permutations > 0``:
    ``perm_p`` and ``perm_q`` (each code's units shuffled within each document; for document
    and case units across all units). Window units overlap, so no test is computed for them.
    ``table.attrs`` holds ``unit``, ``N``, ``frequencies`` (code -> n), ``formulas`` and
    ``codings_outside`` (codings that touch no unit in scope).
    """
    codings = _prepare(codings, coders)
    if alternative not in ALTERNATIVES:
        raise ClhsError(f"unknown alternative '{alternative}' (use {', '.join(ALTERNATIVES)})")
    if unit == "span":
        return span_cooccurrence(codings, relation=relation, codes=codes, scope=scope, min_count=min_count)
    if unit not in UNITS:
        raise ClhsError(f"unknown unit '{unit}' (use {', '.join(COOCCURRENCE_UNITS)})")
    inc = incidence(codings, segments, documents, unit=unit, window=window, codes=codes, scope=scope)
    return incidence_table(inc, tests=tests and unit != "window", alternative=alternative,
                           permutations=permutations if unit != "window" else 0, seed=seed, alpha=alpha,
                           min_count=min_count)


def _pair_index(k: int) -> tuple[np.ndarray, np.ndarray]:
    return np.triu_indices(k, 1)


def incidence_table(inc: Incidence, *, tests: bool = True, alternative: str = "two-sided", permutations: int = 0,
                    seed: int = 0, alpha: float = 0.05, min_count: int = 5) -> pd.DataFrame:
    """The co-occurrence table of an incidence matrix (see ``cooccurrence``)."""
    X = inc.matrix
    C = (X.T @ X).toarray() if sp.issparse(X) else X.T @ X
    freq = np.diag(C).astype(np.int64)
    ia, ib = _pair_index(len(inc.codes))
    N = inc.n_units
    n12 = C[ia, ib].astype(np.int64)
    codes = np.asarray(inc.codes, dtype=object)
    table = pd.DataFrame({"code_a": codes[ia], "code_b": codes[ib], "N": N, "n1": freq[ia], "n2": freq[ib],
                          "n12": n12})
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
        table["perm_p"] = permutation_p(unit_counts, code_counts, np.column_stack([ia, ib]), n12,
                                        permutations=permutations, alternative=alternative, seed=seed)
        table["perm_q"] = bh_adjust(table["perm_p"])
    table.attrs.update(unit=inc.unit, N=N, frequencies=dict(zip(inc.codes, freq.tolist())),
                       formulas=dict(FORMULAS), codings_outside=inc.codings_outside, alternative=alternative)
    return table


def _span_pair_arrays(doc: np.ndarray, code: np.ndarray, start: np.ndarray, end: np.ndarray,
                      relation: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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
    fresh = np.r_[True, (gs[1:] != gs[:-1]) | (ge[1:] != ge[:-1]) | (cd[1:] != cd[:-1])] if len(gs) else \
        np.zeros(0, dtype=bool)
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


def span_pairs(codings: pd.DataFrame, relation: str = "overlap") -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Pairs of codings in ``relation``: the de-duplicated codings (sorted by span) and two row arrays."""
    doc = pd.factorize(codings["document"])[0]
    code = pd.factorize(codings["code"])[0]
    rows, i, j = _span_pair_arrays(doc, code, codings["start"].to_numpy(np.int64),
                                   codings["end"].to_numpy(np.int64), relation)
    return codings.iloc[rows].reset_index(drop=True), i, j


def span_cooccurrence(codings: pd.DataFrame, *, relation: str = "overlap", codes: Sequence[str] | None = None,
                      scope: str | Sequence[str] = "coded", min_count: int = 5) -> pd.DataFrame:
    """Co-occurrence of codings whose spans are in ``relation`` (see the module docstring)."""
    require_codings(codings)
    code_list = check_codes(list(pd.factorize(codings["code"])[1]), codes)
    docs = documents_in_scope(codings, None, scope)
    code_all = factor(codings["code"], pd.Index(code_list, dtype=object))
    doc_all = factor(codings["document"], docs)
    keep = (code_all >= 0) & (doc_all >= 0)
    rows, i, j = _span_pair_arrays(doc_all[keep], code_all[keep], codings["start"].to_numpy(np.int64)[keep],
                                   codings["end"].to_numpy(np.int64)[keep], relation)
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
    ia, ib = _pair_index(k)
    codes_arr = np.asarray(code_list, dtype=object)
    n1, n2, n12 = freq[ia], freq[ib], pair_counts[ia, ib]
    table = pd.DataFrame({"code_a": codes_arr[ia], "code_b": codes_arr[ib], "N": np.nan, "n1": n1, "n2": n2,
                          "n12": n12, "n1_linked": linked[ia, ib], "n2_linked": linked[ib, ia]})
    m = pair_measures(np.nan, n1, n2, n12)
    with np.errstate(divide="ignore", invalid="ignore"):
        m["p_b_given_a"] = table["n1_linked"] / n1
        m["p_a_given_b"] = table["n2_linked"] / n2
    table = pd.concat([table, m], axis=1)
    for col in ("fisher_p", "fisher_q"):
        table[col] = np.nan
    table["too_small"] = np.minimum(n1, n2) < min_count
    table["n12_exceeds_min"] = n12 > np.minimum(n1, n2)
    table.attrs.update(unit=f"span ({relation})", N=None, frequencies=dict(zip(code_list, freq.tolist())),
                       formulas={**FORMULAS,
                                 "N": "none: span relations have no unit count",
                                 "n1": "codings of code A", "n2": "codings of code B",
                                 "n12": "pairs of an A and a B coding in the relation (QDA tools' count)",
                                 "n1_linked": "codings of A related to at least one coding of B",
                                 "n2_linked": "codings of B related to at least one coding of A",
                                 "count": "n12: pairs of codings in the relation (QDA tools' count)",
                                 "p_b_given_a": "n1_linked / n1: share of A's codings related to a B coding",
                                 "p_a_given_b": "n2_linked / n2: share of B's codings related to an A coding",
                                 "n12_exceeds_min": "n12 > min(n1, n2): the c-coefficient and overlap are "
                                                    "not proportions for this pair (several pairs per coding)"},
                       codings_outside=0, note=SPAN_NOTE)
    return table


# -- strata -------------------------------------------------------------------------------------


class Stratified(NamedTuple):
    """Per-stratum co-occurrence (``strata``) and between-strata differences (``differences``)."""

    strata: pd.DataFrame
    differences: pd.DataFrame


def _cluster_counts(inc: Incidence) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per cluster: units, units per code, units per code pair (upper triangle); and the cluster ids."""
    X = inc.matrix.tocoo()
    k = len(inc.codes)
    cluster = inc.units["cluster"].to_numpy()
    ids, cl = np.unique(cluster, return_inverse=True)
    d = len(ids)
    units = np.bincount(cl, minlength=d)
    spread = sp.csr_matrix((X.data, (X.row, cl[X.row] * k + X.col)), shape=(X.shape[0], d * k))
    joint = (spread.T @ inc.matrix).toarray().reshape(d, k, k)
    ia, ib = _pair_index(k)
    freq = joint[:, np.arange(k), np.arange(k)]
    return units, freq, joint[:, ia, ib], ids


def cooccurrence_by(codings: pd.DataFrame, segments: pd.DataFrame | None, documents: pd.DataFrame, by: str, *,
                    unit: str = "segment", measure_name: str = "jaccard", window: int = 1,
                    codes: Sequence[str] | None = None, coders: Sequence[str] | None = None,
                    scope: str | Sequence[str] = "coded", n_boot: int = 1000, ci: float = 0.95, seed: int = 0,
                    min_count: int = 5, alpha: float = 0.05) -> Stratified:
    """Co-occurrence within each value of a document attribute, and differences between values.

    ``strata``: one row per (stratum, pair) with N, n1, n2, n12, the chosen measure and
    ``too_small``. ``differences``: for each two strata S and T (in sorted order) and pair,
    ``value_s - value_t`` (``too_small`` when the pair is too small in either stratum) with a
    percentile bootstrap confidence interval that resamples
    documents (cases for case units) with replacement within each stratum, ``n_boot`` times
    (no interval when a stratum has a single document).
    Documents without the attribute are left out (``attrs["documents_without"]``).
    """
    codings = _prepare(codings, coders)
    if unit not in UNITS:
        raise ClhsError(f"stratified co-occurrence needs a unit ({', '.join(UNITS)}), not '{unit}'")
    if measure_name not in MEASURES:
        raise ClhsError(f"unknown measure '{measure_name}' (use {', '.join(MEASURES)})")
    values = document_attribute(documents, by)
    docs = documents_in_scope(codings, segments, scope)
    have = [d for d in docs if d in values.index and not pd.isna(values.get(d))]
    without = sorted(set(docs) - set(have))
    if not have:
        raise ClhsError(f"none of the coded documents has a value for '{by}'")
    inc = incidence(codings, segments, documents, unit=unit, window=window, codes=codes, scope=have)
    units, freq, joint, ids = _cluster_counts(inc)
    if unit == "case":
        case_docs: dict[str, str] = {}
        name_col = "name" if "name" in documents.columns else "document"
        for name, case in zip(documents[name_col], documents.get("case", pd.Series([None] * len(documents)))):
            if name in values.index:
                case_docs.setdefault(case if isinstance(case, str) and case else name, name)
        names = inc.units["document"].to_numpy()[ids]  # case units: cluster i is unit i
        stratum = np.array([str(values[case_docs.get(n, n)]) for n in names], dtype=object)
    else:
        stratum = np.array([str(values[have[i]]) for i in ids], dtype=object)
    k = len(inc.codes)
    ia, ib = _pair_index(k)
    codes_arr = np.asarray(inc.codes, dtype=object)
    rng = np.random.default_rng(seed)
    labels = sorted(set(stratum))
    rows, boots, clusters = [], {}, {}
    for label in labels:
        sel = stratum == label
        clusters[label] = int(sel.sum())
        N, f, j = units[sel].sum(), freq[sel].sum(axis=0), joint[sel].sum(axis=0)
        n1, n2 = f[ia], f[ib]
        value = measure(measure_name, N, n1, n2, j)
        rows.append(pd.DataFrame({"stratum": label, "documents": int(sel.sum()), "code_a": codes_arr[ia],
                                  "code_b": codes_arr[ib], "N": N, "n1": n1, "n2": n2, "n12": j,
                                  measure_name: value,
                                  "too_small": too_small(N, n1, n2, min_count=min_count, alpha=alpha)}))
        if n_boot:
            weights = rng.multinomial(int(sel.sum()), np.full(int(sel.sum()), 1 / sel.sum()), size=n_boot)
            bN = weights @ units[sel]
            bf = weights @ freq[sel]
            bj = weights @ joint[sel]
            boots[label] = measure(measure_name, bN[:, None], bf[:, ia], bf[:, ib], bj)
    strata = pd.concat(rows, ignore_index=True)
    diffs = []
    lo_q, hi_q = 100 * (1 - ci) / 2, 100 * (1 + ci) / 2
    for s, t in combinations(labels, 2):
        vs = strata.loc[strata["stratum"] == s, measure_name].to_numpy()
        vt = strata.loc[strata["stratum"] == t, measure_name].to_numpy()
        small = (strata.loc[strata["stratum"] == s, "too_small"].to_numpy()
                 | strata.loc[strata["stratum"] == t, "too_small"].to_numpy())
        frame = pd.DataFrame({"stratum_s": s, "stratum_t": t, "code_a": codes_arr[ia], "code_b": codes_arr[ib],
                              "measure": measure_name, "value_s": vs, "value_t": vt, "difference": vs - vt,
                              "too_small": small})
        if n_boot:
            d = boots[s] - boots[t]
            if min(clusters[s], clusters[t]) < 2:
                d[:] = np.nan  # one document cannot show variation: no interval
            d[~np.isfinite(d)] = np.nan
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                frame["ci_low"] = np.nanpercentile(d, lo_q, axis=0)
                frame["ci_high"] = np.nanpercentile(d, hi_q, axis=0)
            frame["ci_excludes_0"] = (frame["ci_low"] > 0) | (frame["ci_high"] < 0)
        diffs.append(frame)
    differences = pd.concat(diffs, ignore_index=True) if diffs else pd.DataFrame(
        columns=["stratum_s", "stratum_t", "code_a", "code_b", "measure", "value_s", "value_t", "difference"])
    meta = {"unit": unit, "by": by, "measure": measure_name, "formula": FORMULAS[measure_name], "n_boot": n_boot,
            "ci": ci, "documents_without": without,
            "bootstrap": "percentile interval; documents (cases for case units) resampled within each stratum"}
    strata.attrs.update(meta)
    differences.attrs.update(meta)
    return Stratified(strata, differences)


# -- drill-down and network ------------------------------------------------------------------------


def cooccurrence_quotes(codings: pd.DataFrame, segments: pd.DataFrame | None, code_a: str, code_b: str, *,
                        documents: pd.DataFrame | None = None, unit: str = "segment", relation: str = "overlap",
                        window: int = 1, coders: Sequence[str] | None = None,
                        scope: str | Sequence[str] = "coded") -> pd.DataFrame:
    """The places where A and B co-occur, with their text: what a researcher reads behind a cell.

    Unit definitions: one row per unit holding both codes, with ``document``, ``unit``,
    ``start``, ``end``, ``text`` (the segments' text, for segment-based units), and the
    quotes and coders of each code's codings in the unit. Span definitions: one row per
    related pair of codings with both quotes, coders and the shared ``overlap_start``/``overlap_end``.
    """
    codings = _prepare(codings, coders)
    if code_a == code_b:
        raise ClhsError("choose two different codes")
    check_codes(codings, [code_a, code_b])
    codings = codings[codings["code"].isin([code_a, code_b])]
    if "quote" not in codings.columns:
        codings = codings.assign(quote="")
    if "coder" not in codings.columns:
        codings = codings.assign(coder="")
    if unit == "span":
        cod, i, j = span_pairs(codings, relation)
        keep = cod["code"].to_numpy()[i] != cod["code"].to_numpy()[j]
        i, j = i[keep], j[keep]
        a_first = cod["code"].to_numpy()[i] == code_a
        ia, ib = np.where(a_first, i, j), np.where(a_first, j, i)
        A, B = cod.iloc[ia].reset_index(drop=True), cod.iloc[ib].reset_index(drop=True)
        return pd.DataFrame({"document": A["document"], "start_a": A["start"], "end_a": A["end"],
                             "quote_a": A["quote"], "coder_a": A["coder"], "start_b": B["start"], "end_b": B["end"],
                             "quote_b": B["quote"], "coder_b": B["coder"],
                             "overlap_start": np.maximum(A["start"], B["start"]),
                             "overlap_end": np.minimum(A["end"], B["end"])})
    inc = incidence(codings, segments, documents, unit=unit, window=window, codes=[code_a, code_b], scope=scope)
    X = inc.matrix.toarray()
    rows = np.flatnonzero((X[:, 0] > 0) & (X[:, 1] > 0))
    units = inc.units.iloc[rows].reset_index(drop=True)
    out = pd.DataFrame({"document": units["document"], "unit": unit_labels(inc, rows)})
    if unit in ("document", "case"):
        key = "case" if unit == "case" else "document"
        if key == "case":
            from .units import _case_of
            case_of = _case_of(documents, codings)
            codings = codings.assign(case=[case_of.get(d, d) for d in codings["document"]])
        for code, suffix in ((code_a, "a"), (code_b, "b")):
            sub = codings[codings["code"] == code].groupby(key)
            out[f"quotes_{suffix}"] = [list(sub.get_group(u)["quote"]) for u in out["document"]]
            out[f"coders_{suffix}"] = [sorted(set(sub.get_group(u)["coder"])) for u in out["document"]]
        return out
    out["start"], out["end"] = units["start"].to_numpy(), units["end"].to_numpy()
    if segments is not None and "text" in segments.columns:
        seg = segments.sort_values(["document", "start"])
        texts = []
        for doc, s, e in zip(out["document"], out["start"], out["end"]):
            part = seg[(seg["document"] == doc) & (seg["start"] < e) & (seg["end"] > s)]
            texts.append(" ".join(part["text"]))
        out["text"] = texts
    for code, suffix in ((code_a, "a"), (code_b, "b")):
        sub = codings[codings["code"] == code]
        quotes, who = [], []
        for doc, s, e in zip(out["document"], out["start"], out["end"]):
            hit = sub[(sub["document"] == doc) & (sub["start"] < e) & (sub["end"] > s)]
            quotes.append(list(hit["quote"]))
            who.append(sorted(set(hit["coder"])))
        out[f"quotes_{suffix}"] = quotes
        out[f"coders_{suffix}"] = who
    return out


class Network(NamedTuple):
    """Data for a co-occurrence network: code nodes and weighted edges."""

    nodes: pd.DataFrame
    edges: pd.DataFrame


def cooccurrence_network(table: pd.DataFrame, *, measure_name: str = "jaccard", threshold: float = 0.0,
                         max_q: float | None = None, hide_too_small: bool = False,
                         codebook: Any = None) -> Network:
    """Nodes sized by frequency, edges weighted by ``measure_name`` where it exceeds ``threshold``.

    ``nodes``: ``code``, ``frequency`` (units, or codings for span tables) and, with a
    ``codebook``, ``label``, ``domain`` and ``color``. ``edges``: ``source``, ``target``,
    ``weight``, ``n12`` (and ``fisher_q`` if the table has it); ``max_q`` keeps only edges
    with ``fisher_q <= max_q``; ``hide_too_small`` drops flagged pairs.
    """
    if measure_name not in table.columns:
        raise ClhsError(f"the table has no measure '{measure_name}' (measures: {', '.join(MEASURES)})")
    freq = table.attrs.get("frequencies")
    if not freq:
        freq = {**dict(zip(table["code_a"], table["n1"])), **dict(zip(table["code_b"], table["n2"]))}
    nodes = pd.DataFrame({"code": list(freq), "frequency": [int(v) for v in freq.values()]})
    if codebook is not None:
        def info(code: str, attr: str) -> Any:
            if code not in codebook:
                return None
            c = codebook.code(code)
            if attr == "color":
                try:
                    return codebook.domain(c.domain).color
                except ClhsError:
                    return None
            return getattr(c, attr)
        for attr in ("label", "domain", "color"):
            nodes[attr] = [info(c, attr) for c in nodes["code"]]
    keep = table[measure_name].to_numpy(dtype=float) > threshold
    if max_q is not None:
        if "fisher_q" not in table.columns or table["fisher_q"].isna().all():
            raise ClhsError("this table has no tests (fisher_q), so edges cannot be filtered by q")
        keep &= table["fisher_q"].to_numpy(dtype=float) <= max_q
    if hide_too_small and "too_small" in table.columns:
        keep &= ~table["too_small"].to_numpy(dtype=bool)
    sub = table[keep]
    edges = pd.DataFrame({"source": sub["code_a"].to_numpy(), "target": sub["code_b"].to_numpy(),
                          "weight": sub[measure_name].to_numpy(dtype=float), "n12": sub["n12"].to_numpy()})
    if "fisher_q" in sub.columns:
        edges["fisher_q"] = sub["fisher_q"].to_numpy()
    edges.attrs.update(measure=measure_name, formula=table.attrs.get("formulas", FORMULAS).get(measure_name, ""),
                       threshold=threshold)
    return Network(nodes, edges.reset_index(drop=True))
