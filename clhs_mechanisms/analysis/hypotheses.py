"""Mechanism hypotheses: each codebook ``Hypothesis`` tested on the codings, with a plain verdict.

How a hypothesis is read (mechanism, outcome and contrast sides; each unit's case) is in
``readings``; docs/hypotheses.md describes the method.

- **main test**: over the hypothesis' unit (segment, turn, document, case), the 2x2 table of
  mechanism x outcome; P(outcome | mechanism) against P(outcome | no mechanism), lift, odds
  ratio, and two tests in the expected direction (greater for positive): the plain one-sided
  Fisher exact test, which treats units as independent, and the clustered test, which treats
  the cases (participants) as the independent replicates (``clustered``: a case-level
  sign-flip test of the within-case Mantel-Haenszel score, or Fisher's test when each case is
  one unit). Effects: odds ratio and risk difference (Mantel-Haenszel across cases) with
  percentile intervals over a bootstrap of cases.
- **contrast** codes "show the weaker association". Outcome side: among units with an outcome
  code but no contrast code, against units with a contrast code but no outcome code, the
  mechanism should be more frequent (P(M | O, not C) > P(M | C, not O), which is the same as
  lift(M, O) > lift(M, C)). Mechanism side: P(O | M, not C) > P(O | C, not M) (H3:
  P(contribute | autonomous) > P(contribute | controlled)). Units in both groups are left out.
  The same two tests on that 2x2 table.
- **verdict** (by the clustered tests): *not enough data* when a side has fewer than
  ``min_count`` units or the clustered test could not reach p < alpha even in the most extreme
  case (too few cases); *supported* when the main test (and the contrast test, if any) is
  significant in the expected direction after Benjamini-Hochberg correction across all tests
  of the table; otherwise *not supported*. ``fisher_verdict`` is the same rule on Fisher's tests.

- **modifier filters** the note asks for (valence, originator, engagement level, cx; see
  ``readings``) restrict a code to the codings with those values; the filtered code shows in
  the ``mechanism``/``outcome`` columns as ``code[modifier=value]``. Where the codings carry no
  such modifier the test runs without the filter and the ``caveat`` column says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .clustered import (
    EFFECTS,
    TESTS,
    ClusterTables,
    cluster_tables,
    clustered_effects,
    clustered_p,
    fisher_min_p,
    sign_matrix,
)
from .readings import Prepared, contrast_side, mechanism_rule, prepare  # noqa: F401  (re-exported)
from .significance import bh_adjust, fisher_p, odds_ratio_interval

VERDICTS = ("supported", "not supported", "not enough data")
SHORT_TESTS = {"within": "case sign-flip", "between": "Fisher (one unit per case)"}
COLUMNS = [
    *("hypothesis", "label", "unit", "expected", "mechanism", "outcome", "contrast", "contrast_side"),
    *("N", "clusters", "informative_clusters", "n_mechanism", "n_outcome", "n_both"),
    *("p_outcome_given_mechanism", "p_outcome_given_no_mechanism", "lift"),
    *("odds_ratio", "odds_ratio_low", "odds_ratio_high"),
    *("effect_or", "effect_or_low", "effect_or_high", "effect_rd", "effect_rd_low", "effect_rd_high"),
    *("fisher_p", "fisher_q", "cluster_p", "cluster_q", "clustered_test"),
    *("contrast_groups", "contrast_rates", "contrast_fisher_p", "contrast_fisher_q"),
    *("contrast_cluster_p", "contrast_cluster_q", "verdict", "fisher_verdict", "reason", "caveat"),
]


@dataclass(frozen=True)
class Options:
    """How the hypotheses are tested (see ``evaluate_hypotheses``)."""

    alpha: float = 0.05
    min_count: int = 5
    adjust: bool = True
    permutations: int = 1000
    n_boot: int = 1000
    ci: float = 0.95
    seed: int = 0


def _pct(a: int, b: int) -> str:
    return f"{a} of {b} ({100 * a / b:.0f}%)" if b else f"{a} of 0"


def _fmt_p(p: float) -> str:
    return "nan" if np.isnan(p) else (f"{p:.2g}" if p < 0.001 else f"{p:.3f}")


def _fmt_ci(x: float, lo: float, hi: float, digits: int = 2) -> str:
    return f"{x:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"


def testable(N: Any, n1: Any, n2: Any, min_p: Any, o: Options) -> np.ndarray:
    """Enough units on each side (and some without the first side), and a test that could reach alpha."""
    return (np.minimum(n1, n2) >= o.min_count) & (np.asarray(N) - n1 >= 1) & (np.asarray(min_p) < o.alpha)


def decide(
    enough: Any, q: Any, has_contrast: Any, contrast_enough: Any, contrast_q: Any, alpha: float
) -> np.ndarray:
    """The verdict of each row from its tests (arrays; see the module docstring)."""
    enough, q, has_c = np.asarray(enough, bool), np.asarray(q, float), np.asarray(has_contrast, bool)
    out = np.full(q.shape, "supported", dtype=object)
    out[has_c & ~(np.asarray(contrast_q, float) < alpha)] = "not supported"
    out[has_c & ~np.asarray(contrast_enough, bool)] = "not enough data"
    out[~(q < alpha)] = "not supported"
    out[~enough] = "not enough data"
    return out


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
    permutations: int = 1000,
    n_boot: int = 1000,
    ci: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    """One row per hypothesis: the observed counts and measures, the tests, effects and the verdict.

    Units are clustered in cases (participants; a document without a case is its own case).
    ``permutations``: random sign vectors of the case-level test; ``n_boot``: bootstrap samples
    of cases for the effects' ``ci`` intervals; ``seed`` makes both reproducible.

    Columns: ``hypothesis``, ``label``, ``unit``, ``expected``, ``mechanism``, ``outcome``,
    ``contrast``, ``contrast_side``, ``N``, ``clusters`` (cases with units),
    ``informative_clusters`` (cases the clustered test uses), ``n_mechanism``, ``n_outcome``,
    ``n_both``, ``p_outcome_given_mechanism``, ``p_outcome_given_no_mechanism``, ``lift``,
    ``odds_ratio`` with Woolf's ``odds_ratio_low``/``_high`` (units as independent), the
    clustered effects ``effect_or``, ``effect_rd`` with ``_low``/``_high``, ``fisher_p``,
    ``fisher_q``, ``cluster_p``, ``cluster_q``, ``clustered_test``, ``contrast_groups`` (sizes),
    ``contrast_rates``, ``contrast_fisher_p``/``_q``, ``contrast_cluster_p``/``_q``, ``verdict``
    (clustered), ``fisher_verdict``, ``reason`` (the numbers in words), ``caveat``.
    """
    prep = prepare(codings, segments, documents, hypotheses, codebook=codebook, coders=coders)
    return evaluate_prepared(prep, Options(alpha, min_count, adjust, permutations, n_boot, ci, seed))


def evaluate_prepared(prep: Prepared, o: Options, masks: dict[str, np.ndarray] | None = None) -> pd.DataFrame:
    """``evaluate_hypotheses`` on prepared readings, on the units of ``masks`` (per unit kind) only."""
    signs = sign_matrix(len(prep.cases), o.permutations, o.seed)
    pairs = [prep.tables(r, None if masks is None else masks[r.h.unit]) for r in prep.readings]
    empty = ClusterTables(*(np.zeros(len(prep.cases)),) * 4)
    t, ct = (
        ClusterTables(*(np.stack([getattr(x or empty, f) for x in xs]) for f in "n a b ab".split()))
        for xs in zip(*pairs)
    )
    cols = {**_main_columns(prep, t, signs, o), **_contrast_columns(prep, ct, signs, o)}
    H = len(prep.readings)
    for kind in ("fisher", "cluster"):
        ps = np.concatenate([cols[f"{kind}_p"], cols[f"contrast_{kind}_p"]])
        qs = bh_adjust(ps) if o.adjust else ps
        cols[f"{kind}_q"], cols[f"contrast_{kind}_q"] = qs[:H], qs[H:]
    has_c = cols["contrast_side"] != ""
    for kind, col in (("cluster", "verdict"), ("fisher", "fisher_verdict")):
        cols[col] = decide(
            cols[f"_{kind}_enough"],
            cols[f"{kind}_q"],
            has_c,
            cols[f"_contrast_{kind}_enough"],
            cols[f"contrast_{kind}_q"],
            o.alpha,
        )
    cols["reason"] = np.array([_reason(dict(zip(cols, row)), o) for row in zip(*cols.values())], dtype=object)
    cols["caveat"] = np.array([r.caveat for r in prep.readings], dtype=object)
    table = pd.DataFrame({c: cols[c] for c in COLUMNS})
    designs = sorted({prep.design[r.h.unit] for r in prep.readings})
    table.attrs.update(
        alpha=o.alpha,
        min_count=o.min_count,
        adjust="Benjamini-Hochberg across all tests" if o.adjust else "none",
        test="; ".join(TESTS[d] for d in designs) + " (one-sided, in the expected direction)",
        plain_test="one-sided Fisher exact test, units as independent",
        effect="; ".join(EFFECTS[d] for d in designs),
        clusters="case (participant; a document without a case is its own case)",
        permutations=o.permutations,
        n_boot=o.n_boot,
        ci=o.ci,
        seed=o.seed,
    )
    return table


def _alternative(h: Any) -> str:
    return "greater" if h.expected == "positive" else "less"


def _tests(prep: Prepared, t: ClusterTables, signs: np.ndarray, o: Options, effects: bool) -> dict[str, Any]:
    """Fisher and clustered p-values (and smallest attainable ones) of stacked tables, one per
    hypothesis, and with ``effects`` the clustered effects; each group of one design and direction
    at once."""
    H = len(prep.readings)
    out: dict[str, Any] = {k: np.ones(H) for k in ("fisher_p", "fisher_min", "cluster_p", "cluster_min")}
    keys = [(prep.design[r.h.unit], _alternative(r.h)) for r in prep.readings]
    if effects:
        names = [f"{n}{x}" for n in ("odds_ratio", "risk_difference") for x in ("", "_low", "_high")]
        out["effects"] = {name: np.full(H, np.nan) for name in names}
    for design, alternative in dict.fromkeys(keys):
        idx = np.array([i for i, k in enumerate(keys) if k == (design, alternative)])
        sub = ClusterTables(*(x[idx] for x in (t.n, t.a, t.b, t.ab)))
        N, n1, n2, n12 = sub.totals()
        out["fisher_p"][idx] = fisher_p(N, n1, n2, n12, alternative)
        out["fisher_min"][idx] = fisher_min_p(N, n1, n2, alternative)
        out["cluster_p"][idx], out["cluster_min"][idx] = clustered_p(sub, signs, alternative, design)
        if effects:
            eff = clustered_effects(sub, design, n_boot=o.n_boot, ci=o.ci, seed=o.seed)
            for name, values in out["effects"].items():
                values[idx] = eff[name].to_numpy()
    return out


def _main_columns(prep: Prepared, t: ClusterTables, signs: np.ndarray, o: Options) -> dict[str, np.ndarray]:
    """The counts, measures, tests and effects of every hypothesis' main table."""
    N, nm, no, nmo = (x.astype(np.int64) for x in t.totals())
    res = _tests(prep, t, signs, o, effects=True)
    lo, hi = odds_ratio_interval(N, nm, no, nmo, o.ci)
    within = np.array([prep.design[r.h.unit] == "within" for r in prep.readings])
    with np.errstate(divide="ignore", invalid="ignore"):
        denom = (nm - nmo) * (no - nmo)
        cols: dict[str, np.ndarray] = {
            "hypothesis": _texts(r.h.id for r in prep.readings),
            "label": _texts(r.h.label for r in prep.readings),
            "unit": _texts(r.h.unit for r in prep.readings),
            "expected": _texts(r.h.expected for r in prep.readings),
            "mechanism": _texts(r.mechanism for r in prep.readings),
            "outcome": _texts("any of " + r.names_of(r.h.outcome) for r in prep.readings),
            "contrast": _texts(r.names_of(r.h.contrast) for r in prep.readings),
            "contrast_side": _texts(r.side for r in prep.readings),
            "N": N,
            "clusters": t.present().sum(axis=1),
            "informative_clusters": np.where(within, t.informative().sum(axis=1), t.present().sum(axis=1)),
            "n_mechanism": nm,
            "n_outcome": no,
            "n_both": nmo,
            "p_outcome_given_mechanism": nmo / nm,
            "p_outcome_given_no_mechanism": (no - nmo) / (N - nm),
            "lift": nmo * N / (nm * no),
            "odds_ratio": np.where(
                denom > 0, nmo * (N - nm - no + nmo) / denom, np.where(nmo > 0, np.inf, np.nan)
            ),
            "odds_ratio_low": lo,
            "odds_ratio_high": hi,
        }
    eff = res["effects"]
    for name, short in (("odds_ratio", "or"), ("risk_difference", "rd")):
        for suffix in ("", "_low", "_high"):
            cols[f"effect_{short}{suffix}"] = eff[f"{name}{suffix}"]
    cols["fisher_p"], cols["cluster_p"] = res["fisher_p"], res["cluster_p"]
    cols["clustered_test"] = np.where(within, SHORT_TESTS["within"], SHORT_TESTS["between"]).astype(object)
    cols["_fisher_enough"] = testable(N, nm, no, res["fisher_min"], o)
    cols["_cluster_enough"] = testable(N, nm, no, res["cluster_min"], o)
    return cols


def _texts(values: Any) -> np.ndarray:
    return np.array(list(values), dtype=object)


def _contrast_columns(
    prep: Prepared, ct: ClusterTables, signs: np.ndarray, o: Options
) -> dict[str, np.ndarray]:
    """The contrast tests: the other side's rate in units with one side only vs units with the
    contrast code (NaN and empty text without contrast)."""
    N, n1, tt, t1 = (x.astype(np.int64) for x in ct.totals())
    n2, t2 = N - n1, tt - t1
    res = _tests(prep, ct, signs, o, effects=False)
    has = np.array([bool(r.side) for r in prep.readings])
    big = n2 >= o.min_count
    texts, groups, rates = [], [], []
    for i, r in enumerate(prep.readings):
        if not r.side:
            texts.append(""), groups.append(""), rates.append("")
            continue
        names = (
            ("outcome-only", "contrast-only") if r.side == "outcome" else ("mechanism-only", "contrast-only")
        )
        what = "the mechanism" if r.side == "outcome" else "an outcome code"
        groups.append(f"{names[0]} {n1[i]}, {names[1]} {n2[i]}")
        with np.errstate(divide="ignore", invalid="ignore"):
            rates.append(f"{np.float64(t1[i]) / n1[i]:.3f} vs {np.float64(t2[i]) / n2[i]:.3f}")
        texts.append(
            f"contrast ({r.names_of(r.h.contrast)} standing in for the {r.side} side): {what} in "
            f"{_pct(t1[i], n1[i])} {names[0]} {r.h.unit}s vs {_pct(t2[i], n2[i])} {names[1]} {r.h.unit}s"
        )
    return {
        "contrast_groups": _texts(groups),
        "contrast_rates": _texts(rates),
        "contrast_fisher_p": np.where(has, res["fisher_p"], np.nan),
        "contrast_cluster_p": np.where(has, res["cluster_p"], np.nan),
        "_contrast_fisher_enough": ~has | (testable(N, n1, tt, res["fisher_min"], o) & big),
        "_contrast_cluster_enough": ~has | (testable(N, n1, tt, res["cluster_min"], o) & big),
        "_contrast_text": _texts(texts),
    }


def _reason(r: dict[str, Any], o: Options) -> str:
    """The verdict in words, with the numbers behind it."""
    direction = "more" if r["expected"] == "positive" else "less"
    q = (lambda name: f", BH q = {_fmt_p(r[name])}") if o.adjust else (lambda name: "")
    main = (
        f"outcome in {_pct(r['n_both'], r['n_mechanism'])} {r['unit']}s with the mechanism vs "
        f"{_pct(r['n_outcome'] - r['n_both'], r['N'] - r['n_mechanism'])} without ({r['clusters']} cases); "
        f"lift {r['lift']:.2f}; risk difference "
        f"{_fmt_ci(r['effect_rd'], r['effect_rd_low'], r['effect_rd_high'])}, odds ratio "
        f"{_fmt_ci(r['effect_or'], r['effect_or_low'], r['effect_or_high'])}; {r['clustered_test']} "
        f"p = {_fmt_p(r['cluster_p'])}{q('cluster_q')} (Fisher p = {_fmt_p(r['fisher_p'])}, units as "
        "independent)"
    )
    contrast = r["_contrast_text"] + (
        f"; p = {_fmt_p(r['contrast_cluster_p'])}{q('contrast_cluster_q')} (Fisher p = "
        f"{_fmt_p(r['contrast_fisher_p'])})"
        if r["_contrast_text"]
        else ""
    )
    random = (
        r["clustered_test"] == SHORT_TESTS["within"] and 2.0 ** r["informative_clusters"] > o.permutations
    )
    se = (
        np.sqrt(r["cluster_p"] * (1 - r["cluster_p"]) / o.permutations)
        * r["cluster_q"]
        / max(r["cluster_p"], 1e-12)
    )
    if random and abs(r["cluster_q"] - o.alpha) < 2 * se:
        main += (
            f"; q is within two Monte Carlo standard errors ({se:.3f}) of alpha: the verdict may change "
            "with more permutations"
        )
    if r["verdict"] == "not enough data" and not r["_cluster_enough"]:
        need = (
            f"{int(np.floor(np.log2(1 / o.alpha))) + 1} cases with {r['unit']}s with and without each side"
            if r["clustered_test"] == SHORT_TESTS["within"]
            else f"a table that could reach p < {o.alpha}"
        ) + (f" and more than {int(1 / o.alpha)} permutations" if 1 / (o.permutations + 1) >= o.alpha else "")
        return (
            f"too few units or cases to test: mechanism in {r['n_mechanism']}, outcome in "
            f"{r['n_outcome']} of {r['N']} {r['unit']}s; {r['informative_clusters']} of {r['clusters']} "
            f"cases usable by the clustered test (need {o.min_count} units each and {need})"
        )
    if r["verdict"] == "not supported" and not r["cluster_q"] < o.alpha:
        return f"no significant association ({direction} expected): {main}"
    if r["verdict"] == "not enough data":
        return f"association as expected ({main}), but too few units or cases for the contrast: {contrast}"
    if r["verdict"] == "not supported":
        return f"association as expected ({main}), but the contrast does not hold: {contrast}"
    return main + (f"; {contrast}" if contrast else "")


def hypothesis_pairs(
    codings: pd.DataFrame,
    segments: pd.DataFrame | None,
    documents: pd.DataFrame | None,
    hypotheses: Sequence[Any],
    *,
    codebook: Any = None,
    alpha: float = 0.05,
    min_count: int = 5,
    coders: Sequence[str] | None = None,
    permutations: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """The observed measures of every code pair a hypothesis names, at its unit.

    One row per (hypothesis, role, code, partner): role ``mechanism-outcome``,
    ``mechanism-contrast`` or ``contrast-outcome``; columns N, ``clusters`` (cases), n1 (first
    code), n2, n12, P(partner | code), lift, Jaccard, one-sided ``fisher_p`` and ``cluster_p``
    (the clustered test of ``evaluate_hypotheses``) in the expected direction and ``too_small``
    (by the clustered test). Codes never used appear with zero counts; a code the note filters by
    a modifier (with ``codebook``) appears as ``code[modifier=value]``.
    """
    prep = prepare(codings, segments, documents, hypotheses, codebook=codebook, coders=coders)
    return prepared_pairs(
        prep, Options(alpha=alpha, min_count=min_count, permutations=permutations, seed=seed)
    )


def prepared_pairs(prep: Prepared, o: Options) -> pd.DataFrame:
    """``hypothesis_pairs`` on prepared readings."""
    signs = sign_matrix(len(prep.cases), o.permutations, o.seed)
    frames = []
    for r in prep.readings:
        h = r.h
        units, design = prep.codes[h.unit], prep.design[h.unit]
        roles = [
            ("mechanism-outcome", h.mechanism, h.outcome),
            ("mechanism-contrast", h.mechanism, h.contrast),
            ("contrast-outcome", h.contrast, h.outcome),
        ]
        rows = [(role, r.name(a), r.name(b)) for role, left, right in roles for a in left for b in right]
        if not rows:
            continue
        A = np.stack([units.has(a) for _, a, _ in rows])
        B = np.stack([units.has(b) for _, _, b in rows])
        t = cluster_tables(A, B, prep.cluster[h.unit], len(prep.cases))
        N, n1, n2, n12 = t.totals()
        alternative = _alternative(h)
        cp, cmin = clustered_p(t, signs, alternative, design)
        with np.errstate(divide="ignore", invalid="ignore"):
            frames.append(
                pd.DataFrame(
                    {
                        "hypothesis": h.id,
                        "role": [x[0] for x in rows],
                        "code": [x[1] for x in rows],
                        "partner": [x[2] for x in rows],
                        "unit": h.unit,
                        "N": N.astype(np.int64),
                        "clusters": t.present().sum(axis=1),
                        "n1": n1.astype(np.int64),
                        "n2": n2.astype(np.int64),
                        "n12": n12.astype(np.int64),
                        "p_partner_given_code": n12 / n1,
                        "lift": n12 * N / (n1 * n2),
                        "jaccard": n12 / (n1 + n2 - n12),
                        "fisher_p": fisher_p(N, n1, n2, n12, alternative),
                        "cluster_p": cp,
                        "too_small": ~testable(N, n1, n2, cmin, o),
                    }
                )
            )
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def hypotheses_markdown(table: pd.DataFrame) -> str:
    """The hypothesis table as Markdown: a summary table, then each hypothesis' reason."""
    lines = [
        "| hypothesis | unit | N | cases | mechanism | outcome | both | risk difference [95%] | "
        "odds ratio [95%] | Fisher p | clustered p | q | verdict |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in table.itertuples(index=False):
        lines.append(
            f"| {r.hypothesis} {r.label} | {r.unit} | {r.N} | {r.clusters} | {r.n_mechanism} | "
            f"{r.n_outcome} | {r.n_both} | {_fmt_ci(r.effect_rd, r.effect_rd_low, r.effect_rd_high, 3)} | "
            f"{_fmt_ci(r.effect_or, r.effect_or_low, r.effect_or_high)} | {_fmt_p(r.fisher_p)} | "
            f"{_fmt_p(r.cluster_p)} | {_fmt_p(r.cluster_q)} | **{r.verdict}** |"
        )
    lines.append("")
    robust = [
        ("robust_coders", "coders"),
        ("robust_strata", "strata"),
        ("robust_leave_one_out", "without one case"),
    ]
    robust += [("robust_machine", "the machine's suggestions as codings")]
    for r in table.to_dict("records"):
        lines.append(
            f"- **{r['hypothesis']}** ({r['verdict']}; by Fisher's test alone: {r['fisher_verdict']}): "
            f"{r['reason']}." + (f" *Caveat*: {r['caveat']}." if r["caveat"] else "")
        )
        lines += [f"  - {name}: {r[key]}" for key, name in robust if r.get(key)]
    a = table.attrs
    lines += [
        "",
        f"Verdicts by the clustered test: {a.get('test', '')}; plain test: {a.get('plain_test', '')}; "
        f"effects: {a.get('effect', '')} ({a.get('n_boot', '')} samples, seed {a.get('seed', '')}); "
        f"clusters: {a.get('clusters', '')}; correction: {a.get('adjust', '')}; alpha {a.get('alpha', '')}; "
        f"at least {a.get('min_count', '')} units per side.",
    ]
    return "\n".join(lines) + "\n"
