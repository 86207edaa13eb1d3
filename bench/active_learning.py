"""Simulated review: does the toolkit's review queue reach a good model with fewer labels than random order?

Start from the codebook's examples only; repeatedly "label" a batch of ``--batch`` units from
corpus/gold/train.jsonl, retrain, and measure macro-F1 on corpus/gold/test.jsonl, until it reaches
90% of the macro-F1 of a model trained on every label. The unit (``--unit``) is what one label is:

* ``pair`` (default): one decision on one (segment, code) suggestion, accept or reject from the
  gold codes: the app's unit of work. Only that code of the segment becomes known (the others stay
  unknown, as in :meth:`TrainingSet.from_decisions`), and only the codes with new labels are refit;
* ``segment``: a segment's whole gold code set, all codes at once (a stricter protocol: every label
  carries one decision per code, so random order is not slowed down by scarce positives).

Pending suggestions are re-made after every batch: the unlabelled (segment, code) pairs whose
score (the model's probability, threshold 0.5) reaches ``--floor`` times the threshold. The default
floor 0 makes every unlabelled pair pending; ``--floor 0.5`` is what ``clhs suggest`` stores by
default. With a floor the pending pairs can run out before the target is reached (the model
stops proposing the positives it has not learnt; a reviewer finds those by coding by hand), so
every arm also reports its macro-F1 at fixed numbers of labels. Two arms, same batch size, are
compared:

* random order (one shuffle of the pool's units per seed; each batch is the next pending units
  in that order);
* the queue users get: the pending pairs ordered by ``clhs_mechanisms.queue.review_queue`` in its
  default ``uncertain`` mode (:func:`~clhs_mechanisms.queue.learning_order`); a batch is the first
  ``--batch`` pairs in that order (unit ``segment``: the first ``--batch`` distinct segments). The
  queue has no randomness, so it is run once and holds for every seed.

For reference, a third arm reviews in the queue's ``confident`` mode (highest score first, the
order for bulk confirmation).

Prints, per arm and seed, the labels needed to reach the target, the means and the relative
saving. ``--holdout`` leaves test.jsonl alone and evaluates on held-out train documents instead
(``--halvings`` random halvings of the train documents, default 3, each half in turn the
evaluation set and the other the pool): the protocol the queue's rule was chosen on, with unit
``segment`` and ``--halvings 10``. One split's figure is noisy: the learning curves are flat near
the target, and moving every score by a normal jitter of sd 0.02 changed the queue's 3-halving
mean from 271 to 329 segment labels, so rules were compared on 20 splits and on the mean F1 over
50-450 labels as well.

Lighter model for speed (said in the output): features are computed once per pool with scikit-learn
(word 1-2 gram TF-IDF fitted on the codebook examples + pool texts, no labels; the codebook's cue
scores; a speaker-role one-hot), and each round refits only a per-code logistic layer (balanced
class weights) at threshold 0.5, without calibration.

Run: python bench/active_learning.py [--unit pair|segment] [--floor 0] [--batch 25] [--seeds 5]
     [--holdout [--halvings 3]]
"""

from __future__ import annotations

import argparse
import functools
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score

from clhs_mechanisms import load_codebook
from clhs_mechanisms.queue import review_queue
from clhs_mechanisms.suggest import CueMatcher, TrainingSet

ROOT = Path(__file__).resolve().parents[1]
ROLE_WEIGHT = 0.3


class Features:
    """Word TF-IDF (vocabulary from ``fit_texts``) + cue scores + role one-hot, as one sparse matrix."""

    def __init__(self, fit_texts: list[str], roles: list[str]) -> None:
        self.word = TfidfVectorizer(
            ngram_range=(1, 2), sublinear_tf=True, min_df=2, max_df=0.9, dtype=np.float32
        ).fit(fit_texts)
        self.roles = sorted(set(roles))

    def __call__(self, texts: list[str], cues: np.ndarray, roles: list[str]) -> sparse.csr_matrix:
        onehot = np.array(
            [[ROLE_WEIGHT * (r == known) for known in self.roles] for r in roles], dtype=np.float32
        )
        return sparse.hstack(
            [self.word.transform(texts), sparse.csr_matrix(cues), sparse.csr_matrix(onehot)], format="csr"
        )


class Review:
    """The simulated project: which pool labels are known, and the per-code model's margins."""

    def __init__(self, Xb, Yb, Xp, Yp, Xe, Ye, C=4.0, floor=0.0):
        self.Xb, self.Yb, self.Xp, self.Yp, self.Xe, self.Ye, self.C = Xb, Yb, Xp, Yp, Xe, Ye, C
        self.floor = np.log(floor / (2 - floor)) if floor > 0 else -np.inf  # margin of floor * 0.5
        self.known = np.zeros(Yp.shape, dtype=bool)
        self.pool = np.full(Yp.shape, -5.0)
        self.evaluation = np.full(Ye.shape, -5.0)
        self.refit(range(Yp.shape[1]))

    def pending(self) -> np.ndarray:
        """Unlabelled pairs the current model suggests (score at least floor times the threshold)."""
        return ~self.known & (self.pool >= self.floor)

    def label(self, rows, cols) -> float:
        """Learn the gold labels of the (row, code) pairs; refit the codes that got one; macro-F1."""
        self.known[rows, cols] = True
        return self.refit(np.unique(cols))

    def refit(self, codes) -> float:
        for j in codes:
            rows = self.known[:, j]
            y = np.concatenate([self.Yb[:, j], self.Yp[rows, j]])
            if y.min() == y.max():
                continue
            X = sparse.vstack([self.Xb, self.Xp[rows]]) if rows.any() else self.Xb
            lr = LogisticRegression(C=self.C, class_weight="balanced", solver="liblinear").fit(X, y)
            self.pool[:, j], self.evaluation[:, j] = (
                lr.decision_function(self.Xp),
                lr.decision_function(self.Xe),
            )
        return f1_score(self.Ye, (self.evaluation >= 0).astype(int), average="macro", zero_division=0)


def queue_batch(review: Review, docs, codes, size, unit, mode):
    """The next ``size`` units of the toolkit's review queue in ``mode`` over the pending pairs."""
    rows, cols = np.nonzero(review.pending())
    pending = pd.DataFrame(
        {
            "segment_id": rows,
            "document": docs[rows],
            "code": codes[cols],
            "score": 1.0 / (1.0 + np.exp(-review.pool[rows, cols])),
            "components": [{"threshold": 0.5}] * len(rows),
            "col": cols,
        }
    )
    order = review_queue(pending, mode=mode, limit=None)
    if unit == "pair":
        top = order.head(size)
        return top["segment_id"].to_numpy(), top["col"].to_numpy()
    return whole_segments(order["segment_id"].drop_duplicates().head(size).to_numpy(), len(codes))


def whole_segments(segments, k):
    """(rows, cols) of every code of ``segments``."""
    return np.repeat(segments, k), np.tile(np.arange(k), len(segments))


def simulate(base, pool, evaluation, cues, docs, codes, *, unit, floor, batch, seeds, log):
    """The runs of each arm on one split (``random``: one per seed; ``queue`` and ``confident``:
    one), each as (labels needed, or None if the pending pairs ran out first; its learning curve
    of (labels, macro-F1)), and the number of labels in the pool.

    ``base``, ``pool``, ``evaluation``: TrainingSets; ``cues``: their cue-score matrices, in that order.
    A label is one pair (``unit="pair"``) or one segment with all its codes (``"segment"``).
    """
    roles = [[r or "(none)" for r in s.roles] for s in (base, pool, evaluation)]
    feats = Features(base.texts + pool.texts, roles[0] + roles[1])
    Xb, Xp, Xe = (feats(s.texts, c, r) for s, c, r in zip((base, pool, evaluation), cues, roles))
    n, k = pool.labels.shape
    fresh = functools.partial(Review, Xb, base.labels, Xp, pool.labels, Xe, evaluation.labels, floor=floor)
    full = fresh().label(*whole_segments(np.arange(n), k))
    target = 0.9 * full
    units = n * k if unit == "pair" else n
    log(f"  full-data macro-F1 (codebook + {n} pool segments): {full:.3f}; target 90% = {target:.3f}")

    def arm(pick, name):
        review = fresh()
        f1 = review.refit([])
        curve, labels = [(0, f1)], 0
        while f1 < target and review.pending().any():
            rows, cols = pick(review)
            labels += len(rows) if unit == "pair" else len(np.unique(rows))
            f1 = review.label(rows, cols)
            curve.append((labels, f1))
        step = max(1, len(curve) // 12)
        reached = (
            f"{labels:5d} labels"
            if f1 >= target
            else f"not reached: no pending pair after {labels} labels, macro-F1 {f1:.3f}"
        )
        log(f"  {name:14s}: {reached} (labels:F1 {', '.join(f'{m}:{f:.2f}' for m, f in curve[::step])})")
        return (labels if f1 >= target else None), curve

    def random_pick(perm):
        def pick(review):
            pending = review.pending()
            open_ = pending.ravel() if unit == "pair" else pending.any(axis=1)
            chosen = perm[open_[perm]][:batch]
            return (chosen // k, chosen % k) if unit == "pair" else whole_segments(chosen, k)

        return pick

    runs = {
        name: [arm(lambda review, mode=mode: queue_batch(review, docs, codes, batch, unit, mode), name)]
        for name, mode in (("queue", "uncertain"), ("confident", "confident"))
    }
    runs["random"] = [
        arm(random_pick(np.random.RandomState(seed).permutation(units)), f"random seed {seed}")
        for seed in range(seeds)
    ]
    return runs, units


def f1_at(curve, labels: int) -> float:
    """Macro-F1 after the last batch that brought the labels to at most ``labels``."""
    return [f for m, f in curve if m <= labels][-1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--unit",
        choices=("pair", "segment"),
        default="pair",
        help="one label = one (segment, code) decision (default) or a segment's whole code set",
    )
    ap.add_argument(
        "--floor",
        type=float,
        default=0.0,
        help="pending pairs: score at least FLOOR x threshold (0 = every unlabelled pair)",
    )
    ap.add_argument("--batch", type=int, default=25)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument(
        "--holdout", action="store_true", help="evaluate on held-out train documents, not test.jsonl"
    )
    ap.add_argument("--halvings", type=int, default=3, help="with --holdout: random halvings (2 splits each)")
    args = ap.parse_args()
    t0 = time.time()
    log = functools.partial(print, flush=True)
    cb = load_codebook(ROOT / "codebook" / "clhs_mechanisms.yaml")
    base = TrainingSet.from_codebook(cb)
    train_path = ROOT / "corpus" / "gold" / "train.jsonl"
    train = TrainingSet.from_gold(train_path, cb)
    docs = np.array(
        [json.loads(line)["document"] for line in train_path.read_text().splitlines() if line.strip()]
    )
    test = TrainingSet.from_gold(ROOT / "corpus" / "gold" / "test.jsonl", cb)
    matcher = CueMatcher(cb)  # unfitted: default cue weights, so the features use no labels
    cue_b, cue_train, cue_test = (matcher.score(s.texts).astype(np.float32) for s in (base, train, test))
    codes = np.array(cb.code_ids)
    log(
        "lighter model: word TF-IDF + cue + role features computed once; per-code logistic layer refit "
        f"each round at threshold 0.5; one label = one {args.unit}; floor {args.floor}; batch {args.batch}"
    )
    if args.holdout:
        splits = []
        for r in range(args.halvings):
            perm = np.random.RandomState(123 + r).permutation(sorted(set(docs)))
            for held in (perm[0::2], perm[1::2]):
                ev = np.isin(docs, held)
                splits.append((np.flatnonzero(~ev), np.flatnonzero(ev)))
    else:
        splits = [(np.arange(len(train)), None)]
    needed = {"queue": [], "confident": [], "random": []}
    at = {name: [] for name in needed}  # macro-F1 at fixed label counts, per split (random: mean of seeds)
    checkpoints, missed, total = (), 0, 0
    for i, (p, e) in enumerate(splits):
        evaluation, cue_e = (test, cue_test) if e is None else (train.subset(e), cue_train[e])
        log(
            f"split {i}: pool {len(p)} segments, evaluation {len(evaluation)} "
            f"({'test.jsonl' if e is None else 'held-out train documents'})"
        )
        runs, pool_units = simulate(
            base,
            train.subset(p),
            evaluation,
            (cue_b, cue_train[p], cue_e),
            docs[p],
            codes,
            unit=args.unit,
            floor=args.floor,
            batch=args.batch,
            seeds=args.seeds,
            log=log,
        )
        for name, arm_runs in runs.items():
            repeat = 1 if name == "random" else args.seeds  # the queue's orders are the same for every seed
            needed[name] += [pool_units if got is None else got for got, _ in arm_runs for _ in range(repeat)]
            missed += sum(got is None for got, _ in arm_runs)
            total += len(arm_runs)
        if not checkpoints:  # quarters of the labels the shortest arm used on the first split
            shortest = min(curve[-1][0] for arm_runs in runs.values() for _, curve in arm_runs)
            checkpoints = tuple(int(shortest * q) for q in (0.25, 0.5, 0.75, 1.0))
        for name, arm_runs in runs.items():
            at[name].append([np.mean([f1_at(curve, m) for _, curve in arm_runs]) for m in checkpoints])
    r, q = np.mean(needed["random"]), np.mean(needed["queue"])
    runs = f"{len(splits)} split(s) x {args.seeds} seeds" if args.holdout else f"{args.seeds} seeds"
    log(f"\n{args.unit} labels to reach 90% of full-data macro-F1 (mean of {runs}, batch {args.batch}):")
    log(f"  random order  {r:7.1f}  (per seed {needed['random']})")
    log(f"  review queue  {q:7.1f}  (per seed {needed['queue']}; the queue has no randomness)")
    log(
        f"  confident     {np.mean(needed['confident']):7.1f}  (the queue's 'confident' mode, highest "
        "score first)"
    )
    if missed:
        log(
            f"  saving        -- (target not reached in {missed} of {total} runs, "
            "counted as the whole pool: compare the macro-F1 below)"
        )
    else:
        log(f"  saving        {100 * (1 - q / r):6.1f}%  (goal >= 30%)")
    log(
        f"macro-F1 after {', '.join(map(str, checkpoints))} labels (mean over splits; random: over "
        "seeds too):"
    )
    for name in ("queue", "confident", "random"):
        log(f"  {name:12s}  " + "  ".join(f"{f:.3f}" for f in np.mean(at[name], axis=0)))
    log(f"runtime {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
