"""Hypothesis tests at scale, and how the clustered test and intervals behave on simulated data.

1. Speed. Synthetic data (default): 1,000,000 codings of the shipped codebook's 35 codes on
   1,000 cases (one interview of 100 segments each, 100,000 segments). Code frequencies are
   skewed, codes run in streaks (a coding continues into the next segment a third of the
   time) and cases differ in how densely they are coded. Timed: what ``clhs hypotheses``
   computes once the project's tables are read (``evaluate_hypotheses`` for H1-H10 with
   1,000 random sign vectors and 1,000 bootstrap samples, then ``hypothesis_pairs``), best of
   ``--repeat`` runs; reading 1M codings from the store is not included. Then
   ``hypothesis_robustness`` (strata: network and role; every case left out), timed once.
   Goal: the hypotheses computation under 10 s.
2. Calibration (``--datasets`` simulated data sets of 40 cases with 40-120 segments each,
   streaky codes, case-level differences in coding density). Under no association within any
   case: how often Fisher's test, a within-case permutation test and the case-level sign-flip
   test reject at one-sided alpha 0.05. With a known within-case risk difference of 0.1: how
   often the 95% case-bootstrap interval of the Mantel-Haenszel risk difference covers it, and
   the sign-flip test's power.

Usage: python bench/hypotheses.py [--codings 1000000] [--cases 1000] [--permutations 1000] [--datasets 400]
"""

from __future__ import annotations

import argparse
import gc
import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from clhs_mechanisms.analysis.clustered import (
    cluster_tables,
    clustered_effects,
    clustered_p,
    sign_matrix,
)
from clhs_mechanisms.analysis.hypotheses import Options, evaluate_prepared, prepare, prepared_pairs
from clhs_mechanisms.analysis.robustness import hypothesis_robustness
from clhs_mechanisms.analysis.significance import fisher_p, permutation_p
from clhs_mechanisms.codebook import load_codebook, shipped_codebook_path

SEGMENT_LENGTH = 200


def synthetic(n_codings: int, n_cases: int, per_case: int = 100, seed: int = 3):
    """Codings, segments and documents (one interview per case) with streaky, case-dependent codes."""
    rng = np.random.default_rng(seed)
    codebook = load_codebook(shipped_codebook_path())
    codes = np.array(codebook.code_ids, dtype=object)
    names = np.array([f"int{c:04d}.txt" for c in range(n_cases)], dtype=object)
    segments = pd.DataFrame(
        {
            "document": np.repeat(names, per_case),
            "idx": np.tile(np.arange(per_case), n_cases),
            "turn": np.tile(np.arange(per_case) // 2, n_cases),
            "start": np.tile(np.arange(per_case) * SEGMENT_LENGTH, n_cases),
            "end": np.tile(np.arange(per_case) * SEGMENT_LENGTH + SEGMENT_LENGTH - 1, n_cases),
            "codable": True,
        }
    )
    density = rng.lognormal(0, 0.5, n_cases)
    first = int(n_codings / 1.5)
    case = rng.choice(n_cases, size=first, p=density / density.sum())
    weights = 1.0 / np.arange(1, len(codes) + 1) ** 0.7
    code = rng.choice(len(codes), size=first, p=weights / weights.sum())
    seg = rng.integers(0, per_case, size=first)
    more = rng.random(first) < 0.5  # streaks: half of them continue into the next segment
    case, code, seg = (np.concatenate([x, x[more]]) for x in (case, code, seg))
    seg[first:] = (seg[first:] + 1) % per_case  # the last wraps to the first: equal rates everywhere
    start = seg * SEGMENT_LENGTH + rng.integers(0, SEGMENT_LENGTH // 2, size=len(seg))
    codings = pd.DataFrame(
        {"document": names[case], "code": codes[code], "coder": "A", "start": start, "end": start + 60}
    )
    networks, roles = rng.integers(0, 10, n_cases), rng.integers(0, 20, n_cases)
    documents = pd.DataFrame(
        {
            "name": names,
            "case": [f"P{c:04d}" for c in range(n_cases)],
            "attributes": [{"network": f"N{n}", "role": f"R{r}"} for n, r in zip(networks, roles)],
        }
    )
    return codings, segments, documents, codebook


def best_time(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        gc.collect()
        t = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t)
    return best, result


def markov(rng: np.random.Generator, rates: np.ndarray, n: int, stay: float = 1 / 3) -> np.ndarray:
    """0/1 sequences (one per row) with stationary rate ``rates[row]`` and P(1 -> 1) = ``stay``."""
    rates = np.minimum(rates, 0.5)
    enter = rates * (1 - stay) / (1 - rates)
    x = np.zeros((len(rates), n), dtype=bool)
    x[:, 0] = rng.random(len(rates)) < rates
    for i in range(1, n):
        u = rng.random(len(rates))
        x[:, i] = np.where(x[:, i - 1], u < stay, u < enter)
    return x


def clustered_dataset(
    rng: np.random.Generator, delta: float, stay: float = 1 / 3, cases: int = 40, longest: int = 120
):
    """Mechanism and outcome per segment and each segment's case; within a case
    P(O | M) - P(O | not M) = ``delta``; coding density varies between cases; a code is in the
    next segment with probability ``stay``."""
    sizes = rng.integers(40, longest, size=cases)
    density = rng.lognormal(0, 1, size=cases)
    density /= density.mean()
    mech = markov(rng, 0.04 * density, longest, stay)
    base_rate = np.minimum(0.08 * density, 0.5)
    base = markov(rng, base_rate, longest, stay)
    extra = rng.random((cases, longest)) < delta / (1 - base_rate)[:, None]
    outcome = base | (mech & extra)
    keep = np.arange(longest)[None, :] < sizes[:, None]
    return mech[keep], outcome[keep], np.repeat(np.arange(cases), keep.sum(axis=1))


def calibration(n: int, seed: int = 7) -> None:
    rng = np.random.default_rng(seed)
    signs = sign_matrix(40, 1000, 0)
    for stay in (1 / 3, 0.6):
        rejected = np.zeros(3)
        for i in range(n):
            mech, outcome, cluster = clustered_dataset(rng, 0.0, stay)
            t = cluster_tables(mech, outcome, cluster, 40)
            N, a, b, ab = t.totals()
            counts = np.stack([t.a, t.b], axis=1)
            within = permutation_p(
                t.n, counts, [[0, 1]], [ab], permutations=500, alternative="greater", seed=i
            )
            rejected += [
                fisher_p(N, a, b, ab, "greater") < 0.05,
                within[0] < 0.05,
                clustered_p(t, signs, "greater", "within")[0][0] < 0.05,
            ]
        print(
            f"\nno association within any case, a code in the next segment with probability {stay:.2f}, "
            f"{n} data sets of 40 cases; rejected at one-sided alpha 0.05:"
        )
        for name, r in zip(
            ("Fisher, segments as independent", "within-case permutation", "case sign-flip"), rejected
        ):
            print(f"  {name:<34}{r / n:>7.1%}")
    covered, power = 0, 0
    for i in range(n):
        mech, outcome, cluster = clustered_dataset(rng, 0.1)
        t = cluster_tables(mech, outcome, cluster, 40)
        e = clustered_effects(t, "within", n_boot=1000, seed=i).iloc[0]
        covered += e.risk_difference_low <= 0.1 <= e.risk_difference_high
        power += clustered_p(t, signs, "greater", "within")[0][0] < 0.05
    print(
        f"within-case risk difference 0.1: the 95% case-bootstrap interval covers it in {covered / n:.1%}; "
        f"the case sign-flip test rejects in {power / n:.1%}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--codings", type=int, default=1_000_000)
    ap.add_argument("--cases", type=int, default=1_000)
    ap.add_argument("--permutations", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--datasets", type=int, default=400, help="simulated data sets for the calibration")
    args = ap.parse_args()
    t = time.perf_counter()
    codings, segments, documents, codebook = synthetic(args.codings, args.cases)
    print(
        f"synthetic data: {len(codings):,} codings, {args.cases:,} cases, {len(segments):,} segments "
        f"({time.perf_counter() - t:.1f} s to build)"
    )
    data = (codings, segments, documents, codebook.hypotheses)

    def command():  # what `clhs hypotheses` runs on the project's tables
        prep = prepare(*data, codebook=codebook)
        o = Options(permutations=args.permutations)
        return evaluate_prepared(prep, o), prepared_pairs(prep, o)

    t_command, (table, pairs) = best_time(command, args.repeat)
    print(
        f"\nhypotheses H1-H10 and {len(pairs)} code pairs, {args.permutations} sign vectors: "
        f"{t_command:.2f} s"
    )
    print(
        table[
            ["hypothesis", "unit", "N", "clusters", "n_both", "fisher_p", "cluster_p", "verdict"]
        ].to_string()
    )
    t_robust, robust = best_time(
        lambda: hypothesis_robustness(
            *data, codebook=codebook, by=["network", "role"], permutations=args.permutations
        ),
        1,
    )
    print(f"robustness ({len(robust):,} rows: 30 strata, every case left out): {t_robust:.2f} s")
    print("goal (the hypotheses computation < 10 s):", "met" if t_command < 10 else "NOT met")
    if args.datasets:
        calibration(args.datasets)


if __name__ == "__main__":
    main()
