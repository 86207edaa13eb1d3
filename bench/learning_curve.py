"""How much coded data a codebook needs: the ensemble's test figures against the share of
training documents it learnt from.

Trains the ensemble on the codebook's examples plus 25, 50, 75 and 100 % of the training file's
documents (whole documents, drawn at random; ``--draws`` draws per share, one at 100 %), and scores
the test file twice: in context (each segment beside its document's segments, as in a project) and
standalone (every row an independent text). Prints one row per share: documents, segments, and
micro-F1 and mean kappa for both readings (mean, and the range over draws).

Usage: python bench/learning_curve.py [--train corpus/gold/train.jsonl] [--test corpus/gold/test.jsonl]
       [--shares 0.25 0.5 0.75 1] [--draws 3] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=Path, default=ROOT / "corpus" / "gold" / "train.jsonl")
    parser.add_argument("--test", type=Path, default=ROOT / "corpus" / "gold" / "test.jsonl")
    parser.add_argument("--shares", type=float, nargs="+", default=[0.25, 0.5, 0.75, 1.0])
    parser.add_argument("--draws", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from clhs_mechanisms import load_codebook
    from clhs_mechanisms.codebook import shipped_codebook_path
    from clhs_mechanisms.suggest import Ensemble, TrainingSet
    from clhs_mechanisms.suggest.evaluate import score_gold

    codebook = load_codebook(shipped_codebook_path())
    examples = TrainingSet.from_codebook(codebook)
    lines = [line for line in args.train.read_text(encoding="utf-8").splitlines() if line.strip()]
    docs = [json.loads(line).get("document") or f"row {i}" for i, line in enumerate(lines)]
    names = sorted(set(docs))
    test = TrainingSet.from_gold(args.test, codebook)
    rng = np.random.default_rng(args.seed)
    scratch = Path(tempfile.mkdtemp())
    print(
        f"train {args.train.name}: {len(lines)} segments in {len(names)} documents; "
        f"test {args.test.name}: {len(test)} segments"
    )
    print(
        f"{'share':>5} {'docs':>4} {'segments':>8} | {'context F1':>19} {'context kappa':>19} | "
        f"{'standalone F1':>19} {'standalone kappa':>19} | fit s"
    )
    for share in args.shares:
        draws = 1 if share >= 1 else args.draws
        figures = {"context": [], "standalone": []}
        sizes, seconds = [], []
        for _ in range(draws):
            k = max(1, round(share * len(names)))
            chosen = set(rng.choice(names, size=k, replace=False)) if share < 1 else set(names)
            subset = scratch / "train.jsonl"
            subset.write_text(
                "\n".join(line for line, doc in zip(lines, docs) if doc in chosen), encoding="utf-8"
            )
            part = TrainingSet.from_gold(subset, codebook)
            started = time.perf_counter()
            model = Ensemble(codebook).fit(TrainingSet.concat(examples, part))
            seconds.append(time.perf_counter() - started)
            sizes.append(len(part))
            for reading, standalone in (("context", False), ("standalone", True)):
                r = score_gold(model, test, standalone=standalone)
                figures[reading].append((r["micro"]["f1"], r["mean_kappa"]))

        def cell(values: list[tuple[float, float]], at: int) -> str:
            v = np.array([x[at] for x in values])
            return f"{v.mean():.3f}" + (f" ({v.min():.3f}-{v.max():.3f})" if len(v) > 1 else "")

        print(
            f"{share:5.0%} {k:4d} {int(np.mean(sizes)):8d} | {cell(figures['context'], 0):>19} "
            f"{cell(figures['context'], 1):>19} | {cell(figures['standalone'], 0):>19} "
            f"{cell(figures['standalone'], 1):>19} | {np.mean(seconds):5.1f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
