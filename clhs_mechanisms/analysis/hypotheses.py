"""Mechanism hypotheses: each codebook ``Hypothesis`` tested on the codings, with a plain verdict.

How a hypothesis is read (the codebook schema describes the fields):

- **mechanism** side: a unit has it when any mechanism code is present; when the note calls
  the mechanism side a *conjunction*, the mechanism codes the note names are all required and
  the others are "at least one of" (H1: moa_enabling_inherent_motivation together with at
  least one ppi_ code).
- **outcome** side: any outcome code present.
- **main test**: over the hypothesis' unit (segment, turn, document, case), the 2x2 table of
  mechanism x outcome; P(outcome | mechanism) against P(outcome | no mechanism), lift, odds
  ratio, and a one-sided Fisher exact test in the expected direction (greater for positive).
- **contrast** codes "show the weaker association". They stand in for the outcome side unless
  the note says the mechanism side, or (no word in the note) they share a domain with the
  mechanism codes and none with the outcome codes. Outcome side: among units with an outcome
  code but no contrast code, against units with a contrast code but no outcome code, the
  mechanism should be more frequent (P(M | O, not C) > P(M | C, not O), which is the same as
  lift(M, O) > lift(M, C)). Mechanism side: P(O | M, not C) > P(O | C, not M) (H3:
  P(contribute | autonomous) > P(contribute | controlled)). Units in both groups are left out.
  One-sided Fisher exact test on that 2x2 table.
- **verdict**: *not enough data* when a side has fewer than ``min_count`` units or even the
  most extreme table could not reach p < alpha; *supported* when the main test (and the
  contrast test, if any) is significant in the expected direction after Benjamini-Hochberg
  correction across all tests of the table; otherwise *not supported*.

Filters a note asks for on modifiers (valence, originator, engagement level, cx) are not
applied: codings do not record modifiers yet; the ``caveat`` column says so.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ClhsError
from .significance import bh_adjust, fisher_p
from .units import Incidence, incidence, require_codings, select_coders

MODIFIER_WORDS = ("valence", "originator", "engagement_level", "cx flag", "cx-flag", "modifier")
VERDICTS = ("supported", "not supported", "not enough data")


def mechanism_rule(h: Any) -> tuple[list[str], list[str]]:
    """(required codes, any-of codes) of the mechanism side (see the module docstring)."""
    note = (h.note or "").lower()
    if "conjunction" in note:
        named = [c for c in h.mechanism if re.search(rf"\b{re.escape(c.lower())}\b", note)]
        if named and len(named) < len(h.mechanism):
            return named, [c for c in h.mechanism if c not in named]
        return list(h.mechanism), []
    return [], list(h.mechanism)


def _domain(code: str, codebook: Any) -> str:
    if codebook is not None and code in codebook:
        return codebook.code(code).domain
    return code.split("_", 1)[0]


def contrast_side(h: Any, codebook: Any = None) -> str | None:
    """Which side the contrast codes stand in for: ``outcome``, ``mechanism`` or None (no contrast)."""
    if not h.contrast:
        return None
    note = (h.note or "").lower()
    if re.search(r"stands? in for the mechanism", note):
        return "mechanism"
    if re.search(r"stands? in for the outcome", note):
        return "outcome"
    cd = {_domain(c, codebook) for c in h.contrast}
    md = {_domain(c, codebook) for c in h.mechanism}
    od = {_domain(c, codebook) for c in h.outcome}
    return "mechanism" if cd & md and not cd & od else "outcome"


def _column(inc: Any, codes: Sequence[str], how: str) -> np.ndarray:
    X = inc.matrix
    cols = [inc.codes.index(c) for c in codes if c in inc.codes]
    if how == "all" and len(cols) < len(codes):
        return np.zeros(X.shape[0], dtype=bool)
    if not cols:
        return np.zeros(X.shape[0], dtype=bool) if how == "any" else np.ones(X.shape[0], dtype=bool)
    sub = X[:, cols].toarray() > 0
    return sub.all(axis=1) if how == "all" else sub.any(axis=1)


def _min_p(N: int, n1: int, n2: int, alternative: str) -> float:
    """Smallest p-value any table with these margins could give (one-sided)."""
    x = min(n1, n2) if alternative == "greater" else max(0, n1 + n2 - N)
    return float(fisher_p(N, n1, n2, x, alternative))


def _pct(a: int, b: int) -> str:
    return f"{a} of {b} ({100 * a / b:.0f}%)" if b else f"{a} of 0"


def _fmt_p(p: float) -> str:
    return "nan" if np.isnan(p) else (f"{p:.2g}" if p < 0.001 else f"{p:.3f}")


def _test(
    N: int, n1: int, n2: int, x: int, alternative: str, alpha: float, min_count: int
) -> tuple[float, bool]:
    """(p, enough data)."""
    enough = min(n1, n2) >= min_count and N - n1 >= 1 and _min_p(N, n1, n2, alternative) < alpha
    return float(fisher_p(N, n1, n2, x, alternative)), enough


def evaluate_hypotheses(
    codings: pd.DataFrame,
    segments: pd.DataFrame | None,
    documents: pd.DataFrame | None,
    hypotheses: Sequence[Any],
    *,
    codebook: Any = None,
    alpha: float = 0.05,
    min_count: int = 5,
    adjust: bool = True,
    coders: Sequence[str] | None = None,
) -> pd.DataFrame:
    """One row per hypothesis: the observed counts and measures, the tests and the verdict.

    Columns: ``hypothesis``, ``label``, ``unit``, ``expected``, ``mechanism``, ``outcome``,
    ``contrast``, ``contrast_side``, ``N``, ``n_mechanism``, ``n_outcome``, ``n_both``,
    ``p_outcome_given_mechanism``, ``p_outcome_given_no_mechanism``, ``lift``, ``odds_ratio``,
    ``p_value`` and ``q_value`` (main test), ``contrast_groups`` (sizes), ``contrast_rates``,
    ``contrast_p``, ``contrast_q``, ``verdict``, ``reason`` (the numbers in words), ``caveat``.
    """
    require_codings(codings)
    if coders:
        codings = select_coders(codings, coders)
    if not hypotheses:
        raise ClhsError("the codebook has no hypotheses")
    cache: dict[str, Any] = {}
    rows = []
    for h in hypotheses:
        if h.unit not in cache:
            cache[h.unit] = incidence(codings, segments, documents, unit=h.unit)
        rows.append(_hypothesis_row(h, cache[h.unit], codebook, alpha, min_count))
    table = pd.DataFrame(rows)
    ps = np.concatenate([table["p_value"].to_numpy(), table["contrast_p"].to_numpy()])
    qs = bh_adjust(ps) if adjust else ps
    table["q_value"] = qs[: len(table)]
    table["contrast_q"] = qs[len(table) :]
    table["verdict"], table["reason"] = zip(
        *(_verdict(r, alpha, min_count, adjust) for r in table.to_dict("records"))
    )
    table = table.drop(columns=["_enough", "_contrast_enough", "_contrast_text"])
    table.attrs.update(
        alpha=alpha,
        min_count=min_count,
        adjust="Benjamini-Hochberg across all tests" if adjust else "none",
        test="one-sided Fisher exact test in the expected direction",
    )
    return table


def _hypothesis_row(h: Any, inc: Incidence, codebook: Any, alpha: float, min_count: int) -> dict[str, Any]:
    """The counts, measures and tests of one hypothesis on its unit's incidence (verdict and q values
    later)."""
    required, any_of = mechanism_rule(h)
    mech = (
        _column(inc, required, "all") & _column(inc, any_of, "any")
        if any_of
        else _column(inc, required, "all")
    )
    outc = _column(inc, h.outcome, "any")
    N, nm, no, nmo = len(mech), int(mech.sum()), int(outc.sum()), int((mech & outc).sum())
    alternative = "greater" if h.expected == "positive" else "less"
    p, enough = _test(N, nm, no, nmo, alternative, alpha, min_count)
    with np.errstate(divide="ignore", invalid="ignore"):
        p_om = nmo / nm if nm else np.nan
        p_onm = (no - nmo) / (N - nm) if N > nm else np.nan
        lift = nmo * N / (nm * no) if nm and no else np.nan
        denom = (nm - nmo) * (no - nmo)
        odds = nmo * (N - nm - no + nmo) / denom if denom else (np.inf if nmo else np.nan)
    side = contrast_side(h, codebook)
    row = {
        "hypothesis": h.id,
        "label": h.label,
        "unit": h.unit,
        "expected": h.expected,
        "mechanism": (
            " AND ".join(required) + (" AND any of " if required and any_of else "") + ", ".join(any_of)
        )
        if required
        else "any of " + ", ".join(any_of),
        "outcome": "any of " + ", ".join(h.outcome),
        "contrast": ", ".join(h.contrast),
        "contrast_side": side or "",
        "N": N,
        "n_mechanism": nm,
        "n_outcome": no,
        "n_both": nmo,
        "p_outcome_given_mechanism": p_om,
        "p_outcome_given_no_mechanism": p_onm,
        "lift": lift,
        "odds_ratio": odds,
        "p_value": p,
        "_enough": enough,
        "contrast_groups": "",
        "contrast_rates": "",
        "contrast_p": np.nan,
        "_contrast_enough": True,
        "_contrast_text": "",
    }
    if side:
        row.update(_contrast(h, side, inc, mech, outc, alternative, alpha, min_count))
    note = (h.note or "").lower().split("left out")[0]
    row["caveat"] = (
        (
            "the note mentions modifiers (valence, originator, engagement level or cx); codings do "
            "not record modifiers, so no modifier filter was applied"
        )
        if any(w in note for w in MODIFIER_WORDS)
        else ""
    )
    return row


def _contrast(
    h: Any,
    side: str,
    inc: Incidence,
    mech: np.ndarray,
    outc: np.ndarray,
    alternative: str,
    alpha: float,
    min_count: int,
) -> dict[str, Any]:
    """The contrast test: the other side's rate in units with one side only vs units with the contrast
    code."""
    contr = _column(inc, h.contrast, "any")
    if side == "outcome":
        g1, g2, target, what = outc & ~contr, contr & ~outc, mech, "the mechanism"
        names = ("outcome-only", "contrast-only")
    else:
        g1, g2, target, what = mech & ~contr, contr & ~mech, outc, "an outcome code"
        names = ("mechanism-only", "contrast-only")
    n1_, n2_ = int(g1.sum()), int(g2.sum())
    t1, t2 = int((target & g1).sum()), int((target & g2).sum())
    cp, cenough = _test(n1_ + n2_, n1_, t1 + t2, t1, alternative, alpha, min_count)
    if min(n1_, n2_) < min_count:
        cenough = False
    return dict(
        contrast_groups=f"{names[0]} {n1_}, {names[1]} {n2_}",
        contrast_rates=f"{t1 / n1_ if n1_ else float('nan'):.3f} vs {t2 / n2_ if n2_ else float('nan'):.3f}",
        contrast_p=cp,
        _contrast_enough=cenough,
        _contrast_text=(
            f"contrast ({', '.join(h.contrast)} standing in for the {side} side): {what} in "
            f"{_pct(t1, n1_)} {names[0]} {h.unit}s vs {_pct(t2, n2_)} {names[1]} {h.unit}s"
        ),
    )


def _verdict(r: dict[str, Any], alpha: float, min_count: int, adjust: bool) -> tuple[str, str]:
    """(verdict, reason in words) of one row of tested hypotheses."""
    direction = "more" if r["expected"] == "positive" else "less"
    main = (
        f"outcome in {_pct(r['n_both'], r['n_mechanism'])} {r['unit']}s with the mechanism vs "
        f"{_pct(r['n_outcome'] - r['n_both'], r['N'] - r['n_mechanism'])} without; lift "
        f"{r['lift']:.2f}; one-sided Fisher p = {_fmt_p(r['p_value'])}"
        + (f", BH q = {_fmt_p(r['q_value'])}" if adjust else "")
    )
    contrast = r["_contrast_text"] + (
        f"; p = {_fmt_p(r['contrast_p'])}" + (f", q = {_fmt_p(r['contrast_q'])}" if adjust else "")
        if r["_contrast_text"]
        else ""
    )
    if not r["_enough"]:
        return "not enough data", (
            f"too few units to test: mechanism in {r['n_mechanism']}, outcome in "
            f"{r['n_outcome']} of {r['N']} {r['unit']}s (need {min_count} each and a table "
            f"that could reach p < {alpha})"
        )
    if not r["q_value"] < alpha:
        return "not supported", f"no significant association ({direction} expected): {main}"
    if r["contrast_side"] and not r["_contrast_enough"]:
        return (
            "not enough data",
            f"association as expected ({main}), but too few units for the contrast: {contrast}",
        )
    if r["contrast_side"] and not r["contrast_q"] < alpha:
        return (
            "not supported",
            f"association as expected ({main}), but the contrast does not hold: {contrast}",
        )
    return "supported", main + (f"; {contrast}" if contrast else "")


def hypothesis_pairs(
    codings: pd.DataFrame,
    segments: pd.DataFrame | None,
    documents: pd.DataFrame | None,
    hypotheses: Sequence[Any],
    *,
    alpha: float = 0.05,
    min_count: int = 5,
    coders: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The observed measures of every code pair a hypothesis names, at its unit.

    One row per (hypothesis, role, code, partner): role ``mechanism-outcome``,
    ``mechanism-contrast`` or ``contrast-outcome``; columns N, n1 (first code), n2, n12,
    P(partner | code), lift, Jaccard, one-sided Fisher p in the expected direction and
    ``too_small``. Codes never used appear with zero counts.
    """
    require_codings(codings)
    if coders:
        codings = select_coders(codings, coders)
    cache: dict[str, Any] = {}
    rows = []
    for h in hypotheses:
        if h.unit not in cache:
            inc = incidence(codings, segments, documents, unit=h.unit)
            X = inc.matrix.tocsc()
            cache[h.unit] = (inc, (X.T @ X).toarray())
        inc, C = cache[h.unit]
        alternative = "greater" if h.expected == "positive" else "less"
        roles = [
            ("mechanism-outcome", h.mechanism, h.outcome),
            ("mechanism-contrast", h.mechanism, h.contrast),
            ("contrast-outcome", h.contrast, h.outcome),
        ]
        for role, left, right in roles:
            for a in left:
                for b in right:
                    ia = inc.codes.index(a) if a in inc.codes else -1
                    ib = inc.codes.index(b) if b in inc.codes else -1
                    N = inc.n_units
                    n1 = int(C[ia, ia]) if ia >= 0 else 0
                    n2 = int(C[ib, ib]) if ib >= 0 else 0
                    n12 = int(C[ia, ib]) if ia >= 0 and ib >= 0 else 0
                    with np.errstate(divide="ignore", invalid="ignore"):
                        rows.append(
                            {
                                "hypothesis": h.id,
                                "role": role,
                                "code": a,
                                "partner": b,
                                "unit": h.unit,
                                "N": N,
                                "n1": n1,
                                "n2": n2,
                                "n12": n12,
                                "p_partner_given_code": n12 / n1 if n1 else np.nan,
                                "lift": n12 * N / (n1 * n2) if n1 and n2 else np.nan,
                                "jaccard": n12 / (n1 + n2 - n12) if n1 + n2 - n12 else np.nan,
                                "p_value": float(fisher_p(N, n1, n2, n12, alternative)),
                                "too_small": min(n1, n2) < min_count
                                or not _min_p(N, n1, n2, alternative) < alpha,
                            }
                        )
    return pd.DataFrame(rows)


def hypotheses_markdown(table: pd.DataFrame) -> str:
    """The hypothesis table as Markdown: a summary table, then each hypothesis' reason."""
    lines = [
        "| hypothesis | unit | N | mechanism | outcome | both | P(O|M) | P(O|not M) | lift | p | q | "
        "verdict |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in table.itertuples(index=False):
        lines.append(
            f"| {r.hypothesis} {r.label} | {r.unit} | {r.N} | {r.n_mechanism} | {r.n_outcome} | "
            f"{r.n_both} | {r.p_outcome_given_mechanism:.3f} | {r.p_outcome_given_no_mechanism:.3f} | "
            f"{r.lift:.2f} | {_fmt_p(r.p_value)} | {_fmt_p(r.q_value)} | **{r.verdict}** |"
        )
    lines.append("")
    for r in table.itertuples(index=False):
        lines.append(
            f"- **{r.hypothesis}** ({r.verdict}): {r.reason}."
            + (f" *Caveat*: {r.caveat}." if r.caveat else "")
        )
    lines.append("")
    lines.append(
        f"Test: {table.attrs.get('test', '')}; correction: {table.attrs.get('adjust', '')}; "
        f"alpha {table.attrs.get('alpha', '')}; at least {table.attrs.get('min_count', '')} units per side."
    )
    return "\n".join(lines) + "\n"
