"""Coder-coder agreement of the double-coded gold segments, per round of coding and per code.

The two blind codings (``first_coder.jsonl``, ``second_coder.jsonl``; a row's ``round`` says which
round of corpus building it belongs to, 1 when absent) are compared as present/absent decisions on
every (segment, code): micro-F1 between the coders, Cohen's kappa per code (scikit-learn) and its
mean over the codes either coder used, pooled kappa and Krippendorff's alpha (nominal) over all
decisions, percent agreement, and the share of segments with identical code sets.

Modifiers (a row's ``modifiers``: code -> {modifier: value}) are compared on every segment where
both coders applied a code that carries a modifier in either file: each modifier's value (``unset``
when a coder gave none), percent agreement and Cohen's kappa per modifier.

Usage: python scripts/gold_agreement.py [corpus/gold]
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
from sklearn.metrics import cohen_kappa_score

from clhs_mechanisms.analysis import krippendorff_alpha

FILES = ("first_coder.jsonl", "second_coder.jsonl")


def _read(path: Path) -> dict[str, tuple[int, set[str]]]:
    rows = map(json.loads, path.read_text(encoding="utf-8").splitlines())
    return {r["id"]: (int(r.get("round", 1)), set(r["codes"])) for r in rows}


def summary(first: dict[str, set[str]], second: dict[str, set[str]]) -> tuple[dict, list]:
    ids = sorted(set(first) & set(second))
    codes = sorted(set().union(*first.values(), *second.values()))
    per_code = []
    for code in codes:
        a = np.array([code in first[i] for i in ids])
        b = np.array([code in second[i] for i in ids])
        kappa = 1.0 if (a == b).all() else float(cohen_kappa_score(a, b))
        per_code.append((code, int(a.sum()), int(b.sum()), float((a == b).mean()), kappa))
    a = np.array([[c in first[i] for c in codes] for i in ids]).ravel()
    b = np.array([[c in second[i] for c in codes] for i in ids]).ravel()
    both = int((a & b).sum())
    figures = {
        "segments": len(ids),
        "micro_f1": 2 * both / max(1, int(a.sum() + b.sum())),
        "mean_kappa": float(np.mean([r[4] for r in per_code])),
        "pooled_kappa": float(cohen_kappa_score(a, b)),
        "alpha": krippendorff_alpha(np.vstack([a, b]).astype(int)),
        "percent_agreement": float((a == b).mean()),
        "identical_code_sets": float(np.mean([first[i] == second[i] for i in ids])),
    }
    return figures, per_code


def modifier_summary(first: list[dict], second: list[dict]) -> list[tuple[str, str, int, float, float]]:
    """(code, modifier, segments, % agreement, Cohen's kappa) for each modifier the files give a code."""
    used: dict[str, set[str]] = defaultdict(set)
    for row in first + second:
        for code, values in (row.get("modifiers") or {}).items():
            used[code] |= set(values)
    out = []
    for code, modifiers in sorted(used.items()):
        both = [(a, b) for a, b in zip(first, second) if code in a["codes"] and code in b["codes"]]
        for key in sorted(modifiers):
            a, b = (
                [str((r.get("modifiers") or {}).get(code, {}).get(key, "unset")) for r in rows]
                for rows in zip(*both)
            )
            kappa = 1.0 if a == b else float(cohen_kappa_score(a, b))
            out.append((code, key, len(both), float(np.mean([x == y for x, y in zip(a, b)])), kappa))
    return out


def main() -> None:
    gold = Path(sys.argv[1] if len(sys.argv) > 1 else "corpus/gold")
    first, second = (_read(gold / name) for name in FILES)
    rounds: dict[int, list[str]] = defaultdict(list)
    for i, (r, _) in first.items():
        rounds[r].append(i)
    print(
        "| round | segments | micro-F1 | mean kappa | pooled kappa | Krippendorff's alpha | % agreement | "
        "identical code sets |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for label, ids in [*((str(r), ids) for r, ids in sorted(rounds.items())), ("all", list(first))]:
        f, _ = summary({i: first[i][1] for i in ids}, {i: second[i][1] for i in ids})
        print(
            f"| {label} | {f['segments']} | {f['micro_f1']:.3f} | {f['mean_kappa']:.3f} | "
            f"{f['pooled_kappa']:.3f} | "
            f"{f['alpha']:.3f} | {f['percent_agreement']:.3f} | {f['identical_code_sets']:.3f} |"
        )
    _, per_code = summary({i: s for i, (_, s) in first.items()}, {i: s for i, (_, s) in second.items()})
    print("\n| code (all rounds) | coder 1 | coder 2 | % agreement | Cohen's kappa |")
    print("|---|---|---|---|---|")
    for code, n1, n2, pa, k in per_code:
        print(f"| {code} | {n1} | {n2} | {pa:.3f} | {k:.2f} |")
    rows = [list(map(json.loads, (gold / name).read_text(encoding="utf-8").splitlines())) for name in FILES]
    print("\n| code | modifier | segments coded by both | % agreement | Cohen's kappa |")
    print("|---|---|---|---|---|")
    for code, key, n, pa, k in modifier_summary(*rows):
        print(f"| {code} | {key} | {n} | {pa:.3f} | {k:.2f} |")


if __name__ == "__main__":
    main()
