"""Human-vs-human agreement of the double-coded gold segments, per code and pooled.

A transparent stand-in until the analysis module's agreement statistics exist: for each
code, the two coders' present/absent decisions on the same segments are compared with
percent agreement and Cohen's kappa (scikit-learn's ``cohen_kappa_score``).

Usage: python scripts/gold_agreement.py [corpus/gold] [--markdown]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from sklearn.metrics import cohen_kappa_score


def _read(path: Path) -> dict[str, set[str]]:
    return {r["id"]: set(r["codes"]) for r in map(json.loads, path.read_text(encoding="utf-8").splitlines())}


def agreement(gold_dir: Path) -> tuple[list[tuple[str, int, int, float, float]], dict[str, float], int]:
    first, second = _read(gold_dir / "first_coder.jsonl"), _read(gold_dir / "second_coder.jsonl")
    ids = sorted(set(first) & set(second))
    codes = sorted(set().union(*first.values(), *second.values()))
    rows = []
    for code in codes:
        a = np.array([code in first[i] for i in ids])
        b = np.array([code in second[i] for i in ids])
        kappa = 1.0 if (a == b).all() else cohen_kappa_score(a, b)
        rows.append((code, int(a.sum()), int(b.sum()), float((a == b).mean()), float(kappa)))
    a = np.array([[c in first[i] for c in codes] for i in ids]).ravel()
    b = np.array([[c in second[i] for c in codes] for i in ids]).ravel()
    pooled = {
        "mean_kappa": float(np.mean([r[4] for r in rows])),
        "pooled_kappa": float(cohen_kappa_score(a, b)),
        "percent_agreement": float((a == b).mean()),
        "identical_code_sets": float(np.mean([first[i] == second[i] for i in ids])),
    }
    return rows, pooled, len(ids)


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    rows, pooled, n = agreement(Path(args[0] if args else "corpus/gold"))
    print(f"{n} double-coded segments; {len(rows)} codes used by either coder")
    print("| code | coder 1 | coder 2 | % agreement | Cohen's kappa |")
    print("|---|---|---|---|---|")
    for code, n1, n2, pa, k in rows:
        print(f"| {code} | {n1} | {n2} | {pa:.3f} | {k:.2f} |")
    print(f"\nmean kappa over codes {pooled['mean_kappa']:.3f}; pooled kappa (all code x segment decisions) "
          f"{pooled['pooled_kappa']:.3f}; percent agreement {pooled['percent_agreement']:.3f}; "
          f"identical code sets {pooled['identical_code_sets']:.3f}")


if __name__ == "__main__":
    main()
