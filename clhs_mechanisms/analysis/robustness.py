"""Robustness of the hypothesis verdicts: per coder, per stratum, without each case, by the machine.

``hypothesis_robustness`` re-tests every hypothesis (as ``evaluate_hypotheses`` does, with its
clustered tests, effects and Benjamini-Hochberg correction within each variant) on:

- ``pooled``: all the codings (or the chosen coders'), the verdict the others are compared with;
- ``coder``: each human coder's codings alone;
- ``stratum``: the documents with one value of a document attribute (network, site, role, ...);
- ``leave-one-case-out``: the pooled codings without one case, for every case (does a single
  participant decide the verdict?). Computed from the per-case counts without re-reading the
  codings, with the same random sign vectors as the pooled test; no bootstrap intervals;
- ``machine``: the assisted-coding suggestions at their thresholds as the only codings.

``robustness_summary`` condenses the long table to one row per hypothesis, the columns the
hypothesis table shows beside each verdict.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ClhsError
from .agreement import machine_codings
from .clustered import case_of_documents, clustered_p, leave_one_out_effects, sign_matrix
from .hypotheses import Options, Prepared, decide, evaluate_prepared, prepare, testable
from .significance import bh_adjust
from .units import document_attribute

CHECKS = ("pooled", "coder", "stratum", "leave-one-case-out", "machine")
DEFAULT_STRATA = ("network", "site", "role")
COLUMNS = [
    "hypothesis",
    "check",
    "variant",
    "unit",
    "N",
    "clusters",
    "n_mechanism",
    "n_outcome",
    "n_both",
    "effect_rd",
    "effect_rd_low",
    "effect_rd_high",
    "effect_or",
    "effect_or_low",
    "effect_or_high",
    "cluster_p",
    "cluster_q",
    "verdict",
    "expected_direction",
    "same_verdict",
    "note",
]


def hypothesis_robustness(
    codings: pd.DataFrame,
    segments: pd.DataFrame | None,
    documents: pd.DataFrame | None,
    hypotheses: Sequence[Any],
    *,
    codebook: Any = None,
    coders: Sequence[str] | None = None,
    by: Sequence[str] | None = None,
    suggestions: pd.DataFrame | None = None,
    machine_threshold: float | None = None,
    alpha: float = 0.05,
    min_count: int = 5,
    adjust: bool = True,
    permutations: int = 1000,
    n_boot: int = 1000,
    ci: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    """Each hypothesis' verdict and effect in every variant (see the module docstring).

    ``by``: document attributes to stratify by (default: those of ``DEFAULT_STRATA`` the documents
    have), each ``attribute`` (every value among the coded documents) or ``attribute=value``
    (that value only; a value without units is an error). ``suggestions``: the project's
    suggestions (``Project.suggestions(status=None)``) for the machine variant, each at its own
    threshold unless ``machine_threshold`` is given. One row per (hypothesis, check, variant)
    with the columns of ``COLUMNS``: ``expected_direction`` tells whether the risk difference
    points the expected way, ``same_verdict`` whether the verdict is the pooled one.
    """
    o = Options(alpha, min_count, adjust, permutations, n_boot, ci, seed)

    def reread(get_codings: Callable[[], pd.DataFrame], only: Sequence[str] | None = None) -> pd.DataFrame:
        """The table on other codings; one that cannot be tested is one row with a note."""
        try:
            return evaluate_prepared(
                prepare(get_codings(), segments, documents, hypotheses, codebook=codebook, coders=only), o
            )
        except ClhsError as exc:
            return pd.DataFrame({"hypothesis": [""], "note": [str(exc)]})

    prep = prepare(codings, segments, documents, hypotheses, codebook=codebook, coders=coders)
    strata = _strata(prep, codings, documents, by)  # bad strata fail before anything is computed
    pooled = evaluate_prepared(prep, o)
    parts = [("pooled", "all codings" if not coders else "coders " + ", ".join(coders), pooled)]
    parts += [("coder", c, reread(lambda: codings, [c])) for c in _human_coders(codings, coders)]
    parts += [("stratum", name, evaluate_prepared(prep, o, masks)) for name, masks in strata]
    if suggestions is not None and len(suggestions):
        parts.append(
            (
                "machine",
                "machine",
                reread(lambda: machine_codings(suggestions, threshold=machine_threshold)[0]),
            )
        )
    out = pd.concat([t for _, _, t in parts], ignore_index=True)
    sizes = [len(t) for _, _, t in parts]
    out["check"] = np.repeat([c for c, _, _ in parts], sizes)
    out["variant"] = np.repeat([v for _, v, _ in parts], sizes)
    sign = np.where(out["expected"] == "positive", 1.0, -1.0)
    out["expected_direction"] = sign * out["effect_rd"].to_numpy(dtype=float) > 0
    out["note"] = out["note"].fillna("") if "note" in out.columns else ""
    out = pd.concat([out.reindex(columns=COLUMNS), _leave_one_out(prep, o, pooled)], ignore_index=True)
    verdict = dict(zip(pooled["hypothesis"], pooled["verdict"]))
    out["same_verdict"] = out["verdict"] == out["hypothesis"].map(verdict)
    out.attrs.update(pooled.attrs, checks=list(CHECKS))
    return out


def _human_coders(codings: pd.DataFrame, coders: Sequence[str] | None) -> list[str]:
    if coders:
        return list(dict.fromkeys(coders))
    pool = codings[codings["coder_kind"] == "human"] if "coder_kind" in codings.columns else codings
    return sorted(map(str, pd.unique(pool["coder"]))) if "coder" in pool.columns else []


def _unit_values(
    prep: Prepared, unit: str, values: pd.Series, documents: pd.DataFrame, codings: Any
) -> np.ndarray:
    """The attribute value of each unit of ``unit`` (a case's: its first document's)."""
    names = np.asarray(prep.incidences[unit].units["document"], dtype=object)
    if unit == "case":
        first: dict[str, Any] = {}
        for doc, case in case_of_documents(documents, codings).items():
            first.setdefault(case, values.get(doc))
        return np.array([first.get(n) for n in names], dtype=object)
    return pd.Series(names).map(values).to_numpy(dtype=object)


def _strata(
    prep: Prepared, codings: pd.DataFrame, documents: pd.DataFrame | None, by: Sequence[str] | None
) -> list[tuple[str, dict[str, np.ndarray]]]:
    """(name, unit masks per unit kind) of every stratum asked for."""
    if documents is None or not len(documents):
        if by:
            raise ClhsError("strata need the documents table with their attributes")
        return []
    if by is None:
        have = set().union(*(a for a in documents.get("attributes", []) if isinstance(a, dict)))
        by = [a for a in DEFAULT_STRATA if a in have or a in documents.columns]
    out = []
    for spec in by:
        attribute, _, wanted = (x.strip() for x in spec.partition("="))
        values = document_attribute(documents, attribute)
        per_unit = {
            u: pd.Series(_unit_values(prep, u, values, documents, codings)).map(_text).to_numpy(dtype=str)
            for u in prep.incidences
        }
        present = sorted({v for a in per_unit.values() for v in np.unique(a) if v})
        if wanted and wanted not in present:
            raise ClhsError(
                f"stratum {attribute} = {wanted} has no units: no coded document has that value "
                f"({attribute} values of the coded documents: {', '.join(present) or 'none'})"
            )
        for value in [wanted] if wanted else present:
            masks = {u: a == value for u, a in per_unit.items()}
            out.append((f"{attribute} = {value}", masks))
    return out


def _text(value: Any) -> str:
    """An attribute value as stratum text ('' when missing)."""
    return "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)


def _leave_one_out(prep: Prepared, o: Options, pooled: pd.DataFrame) -> pd.DataFrame:
    """The verdict and effect of every hypothesis without each case (vectorised over cases)."""
    signs = sign_matrix(len(prep.cases), o.permutations, o.seed)
    K, H = len(prep.cases), len(prep.readings)
    p, c_p = np.ones((H, K)), np.full((H, K), np.nan)
    enough, c_enough = np.zeros((H, K), bool), np.ones((H, K), bool)
    counts, present = np.zeros((H, K, 4)), np.zeros((H, K), bool)
    rd, odds = np.full((H, K), np.nan), np.full((H, K), np.nan)
    for i, r in enumerate(prep.readings):
        t, ct = prep.tables(r)
        alternative, design = ("greater" if r.h.expected == "positive" else "less"), prep.design[r.h.unit]
        tot = np.stack([x.sum() - x for x in (t.n, t.a, t.b, t.ab)], axis=-1)
        counts[i], present[i] = tot, t.present()
        pi, mi = clustered_p(t, signs, alternative, design, leave_out=True)
        p[i], enough[i] = pi[0], testable(tot[:, 0], tot[:, 1], tot[:, 2], mi[0], o)
        odds[i], rd[i] = (x[0] for x in leave_one_out_effects(t, design))
        if ct is not None:
            cp, cm = clustered_p(ct, signs, alternative, design, leave_out=True)
            N, n1, tt = (x.sum() - x for x in (ct.n, ct.a, ct.b))
            c_p[i], c_enough[i] = cp[0], testable(N, n1, tt, cm[0], o) & (N - n1 >= o.min_count)
    qs = np.vstack([p, c_p])
    if o.adjust:
        qs = np.column_stack([bh_adjust(qs[:, k]) for k in range(K)]) if K else qs
    has_c = ~np.isnan(c_p)
    verdict = decide(enough, qs[:H], has_c, c_enough, qs[H:], o.alpha)
    h_idx, k_idx = np.nonzero(present)
    expected = pooled["expected"].to_numpy()[h_idx]
    return pd.DataFrame(
        {
            "hypothesis": pooled["hypothesis"].to_numpy()[h_idx],
            "check": "leave-one-case-out",
            "variant": ["without " + str(c) for c in prep.cases[k_idx]],
            "unit": pooled["unit"].to_numpy()[h_idx],
            "N": counts[h_idx, k_idx, 0].astype(np.int64),
            "clusters": present.sum(axis=1)[h_idx] - 1,
            "n_mechanism": counts[h_idx, k_idx, 1].astype(np.int64),
            "n_outcome": counts[h_idx, k_idx, 2].astype(np.int64),
            "n_both": counts[h_idx, k_idx, 3].astype(np.int64),
            "effect_rd": rd[h_idx, k_idx],
            "effect_or": odds[h_idx, k_idx],
            "cluster_p": p[h_idx, k_idx],
            "cluster_q": qs[:H][h_idx, k_idx],
            "verdict": verdict[h_idx, k_idx],
            "expected_direction": np.where(expected == "positive", 1, -1) * rd[h_idx, k_idx] > 0,
            "note": "",
        }
    ).reindex(columns=COLUMNS)


def robustness_summary(robustness: pd.DataFrame) -> pd.DataFrame:
    """One row per hypothesis: ``robust_coders``, ``robust_strata``, ``robust_leave_one_out`` and
    ``robust_machine`` in words."""
    rows = []
    untestable = robustness[robustness["hypothesis"] == ""]
    notes = {
        c: "; ".join(f"{v}: {n}" for v, n in zip(g["variant"], g["note"]))
        for c, g in untestable.groupby("check")
    }
    for h, g in robustness[robustness["hypothesis"] != ""].groupby("hypothesis", sort=False):
        pooled = g[g["check"] == "pooled"]["verdict"].iloc[0]
        loo = g[g["check"] == "leave-one-case-out"]
        changed = loo[~loo["same_verdict"]]
        machine = g[g["check"] == "machine"]
        strata = g[g["check"] == "stratum"]
        rows.append(
            {
                "hypothesis": h,
                "robust_coders": _count(g[g["check"] == "coder"])
                + (f"; not testable: {notes['coder']}" if "coder" in notes else ""),
                "robust_strata": "; ".join(
                    f"{attribute}: {_count(group)}"
                    for attribute, group in strata.groupby(
                        strata["variant"].str.split(" = ").str[0], sort=False
                    )
                ),
                "robust_leave_one_out": (
                    f"{pooled} without any one of {len(loo)} cases (largest q {loo['cluster_q'].max():.3f})"
                    if not len(changed)
                    else f"changes without {_names(changed)}"
                )
                if len(loo)
                else "",
                "robust_machine": (
                    f"{machine['verdict'].iloc[0]}, risk difference {machine['effect_rd'].iloc[0]:.2f} "
                    f"[{machine['effect_rd_low'].iloc[0]:.2f}, {machine['effect_rd_high'].iloc[0]:.2f}]"
                )
                if len(machine)
                else (f"not testable: {notes['machine']}" if "machine" in notes else ""),
            }
        )
    return pd.DataFrame(rows)


def with_robustness(table: pd.DataFrame, robustness: pd.DataFrame) -> pd.DataFrame:
    """The hypothesis table with the columns of ``robustness_summary`` beside each verdict."""
    summary = robustness_summary(robustness)
    out = table.merge(summary, on="hypothesis", how="left")
    for column in summary.columns[1:]:
        out[column] = out[column].fillna("")
    out.attrs.update(table.attrs)
    return out


def _count(g: pd.DataFrame) -> str:
    """How many variants support the hypothesis, could not test it, and point the expected way."""
    if not len(g):
        return ""
    n, supported = len(g), int((g["verdict"] == "supported").sum())
    untested = int((g["verdict"] == "not enough data").sum())
    return (
        f"supported {supported}/{n}, too little data {untested}/{n}, "
        f"expected direction {int(g['expected_direction'].sum())}/{n}"
    )


def _names(changed: pd.DataFrame, limit: int = 3) -> str:
    parts = [
        f"{v.removeprefix('without ')} ({verdict})"
        for v, verdict in zip(changed["variant"], changed["verdict"])
    ]
    return ", ".join(parts[:limit]) + (f" and {len(parts) - limit} more" if len(parts) > limit else "")
