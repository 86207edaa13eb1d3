"""Code co-occurrence by strata, the quotes behind a cell, and network data.

The table itself (``cooccurrence``, ``span_cooccurrence``) is built in ``cooccurrence_table``
and re-exported here, so ``cooccurrence`` stays the one place to import co-occurrence from.
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
from .cooccurrence_table import cooccurrence, pair_index, prepare_codings, span_cooccurrence, span_pairs
from .significance import FORMULAS, MEASURES, measure, too_small
from .units import (
    UNITS,
    Incidence,
    _case_of,
    check_codes,
    document_attribute,
    documents_in_scope,
    incidence,
    unit_labels,
)

__all__ = [
    "Network",
    "Stratified",
    "cooccurrence",
    "cooccurrence_by",
    "cooccurrence_network",
    "cooccurrence_quotes",
    "span_cooccurrence",
]


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
    ia, ib = pair_index(k)
    freq = joint[:, np.arange(k), np.arange(k)]
    return units, freq, joint[:, ia, ib], ids


def cooccurrence_by(
    codings: pd.DataFrame,
    segments: pd.DataFrame | None,
    documents: pd.DataFrame,
    by: str,
    *,
    unit: str = "segment",
    measure_name: str = "jaccard",
    window: int = 1,
    codes: Sequence[str] | None = None,
    coders: Sequence[str] | None = None,
    scope: str | Sequence[str] = "coded",
    n_boot: int = 1000,
    ci: float = 0.95,
    seed: int = 0,
    min_count: int = 5,
    alpha: float = 0.05,
) -> Stratified:
    """Co-occurrence within each value of a document attribute, and differences between values.

    ``strata``: one row per (stratum, pair) with N, n1, n2, n12, the chosen measure and
    ``too_small``. ``differences``: for each two strata S and T (in sorted order) and pair,
    ``value_s - value_t`` (``too_small`` when the pair is too small in either stratum) with a
    percentile bootstrap confidence interval that resamples
    documents (cases for case units) with replacement within each stratum, ``n_boot`` times
    (no interval when a stratum has a single document).
    Documents without the attribute are left out (``attrs["documents_without"]``).
    """
    codings = prepare_codings(codings, coders)
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
    stratum = _cluster_strata(inc, ids, values, have, documents, unit)
    ia, ib = pair_index(len(inc.codes))
    codes_arr = np.asarray(inc.codes, dtype=object)
    rng = np.random.default_rng(seed)
    rows, boots, clusters = [], {}, {}
    for label in sorted(set(stratum)):
        sel = stratum == label
        clusters[label] = int(sel.sum())
        rows.append(
            _stratum_table(
                label, units[sel], freq[sel], joint[sel], codes_arr, measure_name, min_count, alpha
            )
        )
        if n_boot:
            boots[label] = _bootstrap(rng, units[sel], freq[sel], joint[sel], measure_name, n_boot)
    strata = pd.concat(rows, ignore_index=True)
    differences = _differences(
        strata, boots, clusters, codes_arr[ia], codes_arr[ib], measure_name, n_boot, ci
    )
    meta = {
        "unit": unit,
        "by": by,
        "measure": measure_name,
        "formula": FORMULAS[measure_name],
        "n_boot": n_boot,
        "ci": ci,
        "documents_without": without,
        "bootstrap": "percentile interval; documents (cases for case units) resampled within each stratum",
    }
    strata.attrs.update(meta)
    differences.attrs.update(meta)
    return Stratified(strata, differences)


def _stratum_table(
    label: str,
    units: np.ndarray,
    freq: np.ndarray,
    joint: np.ndarray,
    codes: np.ndarray,
    measure_name: str,
    min_count: int,
    alpha: float,
) -> pd.DataFrame:
    """One stratum's rows of ``strata``, pooling the counts of its clusters (documents or cases)."""
    ia, ib = pair_index(len(codes))
    N, f, j = units.sum(), freq.sum(axis=0), joint.sum(axis=0)
    n1, n2 = f[ia], f[ib]
    return pd.DataFrame(
        {
            "stratum": label,
            "documents": len(units),
            "code_a": codes[ia],
            "code_b": codes[ib],
            "N": N,
            "n1": n1,
            "n2": n2,
            "n12": j,
            measure_name: measure(measure_name, N, n1, n2, j),
            "too_small": too_small(N, n1, n2, min_count=min_count, alpha=alpha),
        }
    )


def _bootstrap(
    rng: np.random.Generator,
    units: np.ndarray,
    freq: np.ndarray,
    joint: np.ndarray,
    measure_name: str,
    n_boot: int,
) -> np.ndarray:
    """``n_boot`` x pairs values of the measure, resampling one stratum's clusters with replacement."""
    ia, ib = pair_index(freq.shape[1])
    n = len(units)
    weights = rng.multinomial(n, np.full(n, 1 / n), size=n_boot)
    bN = weights @ units
    bf = weights @ freq
    bj = weights @ joint
    return measure(measure_name, bN[:, None], bf[:, ia], bf[:, ib], bj)


def _cluster_strata(
    inc: Incidence, ids: np.ndarray, values: pd.Series, have: list[str], documents: pd.DataFrame, unit: str
) -> np.ndarray:
    """The attribute value (stratum) of each resampled cluster: a document, or a case for case units."""
    if unit != "case":
        return np.array([str(values[have[i]]) for i in ids], dtype=object)
    case_docs: dict[str, str] = {}
    name_col = "name" if "name" in documents.columns else "document"
    for name, case in zip(documents[name_col], documents.get("case", pd.Series([None] * len(documents)))):
        if name in values.index:
            case_docs.setdefault(case if isinstance(case, str) and case else name, name)
    names = inc.units["document"].to_numpy()[ids]  # case units: cluster i is unit i
    return np.array([str(values[case_docs.get(n, n)]) for n in names], dtype=object)


def _differences(
    strata: pd.DataFrame,
    boots: dict[str, np.ndarray],
    clusters: dict[str, int],
    code_a: np.ndarray,
    code_b: np.ndarray,
    measure_name: str,
    n_boot: int,
    ci: float,
) -> pd.DataFrame:
    """Stratum S minus stratum T for every two strata, with percentile intervals from ``boots``."""
    labels = sorted(clusters)
    diffs = []
    lo_q, hi_q = 100 * (1 - ci) / 2, 100 * (1 + ci) / 2
    for s, t in combinations(labels, 2):
        vs = strata.loc[strata["stratum"] == s, measure_name].to_numpy()
        vt = strata.loc[strata["stratum"] == t, measure_name].to_numpy()
        small = (
            strata.loc[strata["stratum"] == s, "too_small"].to_numpy()
            | strata.loc[strata["stratum"] == t, "too_small"].to_numpy()
        )
        frame = pd.DataFrame(
            {
                "stratum_s": s,
                "stratum_t": t,
                "code_a": code_a,
                "code_b": code_b,
                "measure": measure_name,
                "value_s": vs,
                "value_t": vt,
                "difference": vs - vt,
                "too_small": small,
            }
        )
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
    return (
        pd.concat(diffs, ignore_index=True)
        if diffs
        else pd.DataFrame(
            columns=[
                "stratum_s",
                "stratum_t",
                "code_a",
                "code_b",
                "measure",
                "value_s",
                "value_t",
                "difference",
            ]
        )
    )


# -- drill-down and network ------------------------------------------------------------------------


def cooccurrence_quotes(
    codings: pd.DataFrame,
    segments: pd.DataFrame | None,
    code_a: str,
    code_b: str,
    *,
    documents: pd.DataFrame | None = None,
    unit: str = "segment",
    relation: str = "overlap",
    window: int = 1,
    coders: Sequence[str] | None = None,
    scope: str | Sequence[str] = "coded",
) -> pd.DataFrame:
    """The places where A and B co-occur, with their text: what a researcher reads behind a cell.

    Unit definitions: one row per unit holding both codes, with ``document``, ``unit``,
    ``start``, ``end``, ``text`` (the segments' text, for segment-based units), and the
    quotes and coders of each code's codings in the unit. Span definitions: one row per
    related pair of codings with both quotes, coders and the shared ``overlap_start``/``overlap_end``.
    """
    codings = prepare_codings(codings, coders)
    if code_a == code_b:
        raise ClhsError("choose two different codes")
    check_codes(codings, [code_a, code_b])
    codings = codings[codings["code"].isin([code_a, code_b])]
    if "quote" not in codings.columns:
        codings = codings.assign(quote="")
    if "coder" not in codings.columns:
        codings = codings.assign(coder="")
    if unit == "span":
        return _span_quotes(codings, code_a, relation)
    inc = incidence(
        codings, segments, documents, unit=unit, window=window, codes=[code_a, code_b], scope=scope
    )
    X = inc.matrix.toarray()
    rows = np.flatnonzero((X[:, 0] > 0) & (X[:, 1] > 0))
    units = inc.units.iloc[rows].reset_index(drop=True)
    out = pd.DataFrame({"document": units["document"], "unit": unit_labels(inc, rows)})
    if unit in ("document", "case"):
        if unit == "case":
            case_of = _case_of(documents, codings)
            codings = codings.assign(case=[case_of.get(d, d) for d in codings["document"]])
        for code, suffix in ((code_a, "a"), (code_b, "b")):
            sub = codings[codings["code"] == code].groupby(unit)
            out[f"quotes_{suffix}"] = [list(sub.get_group(u)["quote"]) for u in out["document"]]
            out[f"coders_{suffix}"] = [sorted(set(sub.get_group(u)["coder"])) for u in out["document"]]
        return out
    out["start"], out["end"] = units["start"].to_numpy(), units["end"].to_numpy()
    return _segment_quotes(out, codings, segments, code_a, code_b)


def _span_quotes(codings: pd.DataFrame, code_a: str, relation: str) -> pd.DataFrame:
    """One row per related pair of an A and a B coding (A's columns first), with the shared span."""
    cod, i, j = span_pairs(codings, relation)
    keep = cod["code"].to_numpy()[i] != cod["code"].to_numpy()[j]
    i, j = i[keep], j[keep]
    a_first = cod["code"].to_numpy()[i] == code_a
    ia, ib = np.where(a_first, i, j), np.where(a_first, j, i)
    A, B = cod.iloc[ia].reset_index(drop=True), cod.iloc[ib].reset_index(drop=True)
    return pd.DataFrame(
        {
            "document": A["document"],
            "start_a": A["start"],
            "end_a": A["end"],
            "quote_a": A["quote"],
            "coder_a": A["coder"],
            "start_b": B["start"],
            "end_b": B["end"],
            "quote_b": B["quote"],
            "coder_b": B["coder"],
            "overlap_start": np.maximum(A["start"], B["start"]),
            "overlap_end": np.minimum(A["end"], B["end"]),
        }
    )


def _segment_quotes(
    out: pd.DataFrame, codings: pd.DataFrame, segments: pd.DataFrame | None, code_a: str, code_b: str
) -> pd.DataFrame:
    """Add to the segment-based units in ``out`` their text and each code's quotes and coders there."""
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


def cooccurrence_network(
    table: pd.DataFrame,
    *,
    measure_name: str = "jaccard",
    threshold: float = 0.0,
    max_q: float | None = None,
    hide_too_small: bool = False,
    codebook: Any = None,
) -> Network:
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
    edges = pd.DataFrame(
        {
            "source": sub["code_a"].to_numpy(),
            "target": sub["code_b"].to_numpy(),
            "weight": sub[measure_name].to_numpy(dtype=float),
            "n12": sub["n12"].to_numpy(),
        }
    )
    if "fisher_q" in sub.columns:
        edges["fisher_q"] = sub["fisher_q"].to_numpy()
    edges.attrs.update(
        measure=measure_name,
        formula=table.attrs.get("formulas", FORMULAS).get(measure_name, ""),
        threshold=threshold,
    )
    return Network(nodes, edges.reset_index(drop=True))
