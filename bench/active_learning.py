"""Simulated review: does the toolkit's review queue reach a good model with fewer labels than random order?

Start from the codebook's examples only; repeatedly "label" a batch of ``--batch`` segments from
corpus/gold/train.jsonl (a label = the gold code set of the segment), retrain, and measure macro-F1
on corpus/gold/test.jsonl. Two arms, same batch size:

* random order (one shuffle per seed);
* the queue users get: every (segment, code) pair of the unlabelled pool is a pending suggestion
  (score = the model's probability, threshold 0.5), ordered by ``clhs_mechanisms.queue.learning_order``
  (the review queue's ``uncertain`` mode); a batch is the first ``--batch`` distinct segments in
  that order. The queue has no randomness, so it is run once and holds for every seed.

Prints, per arm and seed, the labels needed to reach 90% of the full-data macro-F1, the means and
the relative saving. ``--holdout`` leaves test.jsonl alone and evaluates on held-out train
documents instead (``--halvings`` random halvings of the train documents, default 3, each half in
turn the evaluation set and the other the pool): the protocol the queue's rule was chosen on, with
``--halvings 10``. One split's figure is noisy: the learning curves are flat near the target, and
moving every score by a normal jitter of sd 0.02 changed the queue's 3-halving mean from 271 to 329
labels, so rules were compared on 20 splits and on the mean F1 over 50-450 labels as well.

Lighter model for speed (said in the output): features are computed once per pool with scikit-learn
(word 1-2 gram TF-IDF fitted on the codebook examples + pool texts, no labels; the codebook's cue
scores; a speaker-role one-hot), and each round refits only a per-code logistic layer (balanced
class weights) at threshold 0.5, without calibration.

Run: python bench/active_learning.py [--batch 25] [--seeds 5] [--holdout [--halvings 3]]
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
from clhs_mechanisms.queue import learning_order
from clhs_mechanisms.suggest import CueMatcher, TrainingSet

ROOT = Path(__file__).resolve().parents[1]
ROLE_WEIGHT = 0.3


class Features:
    """Word TF-IDF (vocabulary from ``fit_texts``) + cue scores + role one-hot, as one sparse matrix."""

    def __init__(self, fit_texts: list[str], roles: list[str]) -> None:
        self.word = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2, max_df=0.9,
                                    dtype=np.float32).fit(fit_texts)
        self.roles = sorted(set(roles))

    def __call__(self, texts: list[str], cues: np.ndarray, roles: list[str]) -> sparse.csr_matrix:
        onehot = np.array([[ROLE_WEIGHT * (r == known) for known in self.roles] for r in roles], dtype=np.float32)
        return sparse.hstack([self.word.transform(texts), sparse.csr_matrix(cues), sparse.csr_matrix(onehot)],
                             format="csr")


def fit_margins(X, Y, Xs, C=4.0):
    """Per-code logistic layer on (X, Y); margins on each matrix in ``Xs``."""
    out = [np.full((x.shape[0], Y.shape[1]), -5.0) for x in Xs]
    for j in range(Y.shape[1]):
        y = Y[:, j]
        if y.min() == y.max():
            continue
        lr = LogisticRegression(C=C, class_weight="balanced", solver="liblinear").fit(X, y)
        for o, x in zip(out, Xs):
            o[:, j] = lr.decision_function(x)
    return out


def queue_batch(margins, unlabeled, docs, codes, size):
    """The first ``size`` distinct segments of the toolkit's queue over the unlabelled pool."""
    cand = np.asarray(unlabeled)
    k = len(codes)
    pending = pd.DataFrame({"segment_id": np.repeat(cand, k), "document": np.repeat(docs[cand], k),
                            "code": np.tile(codes, len(cand)),
                            "score": 1.0 / (1.0 + np.exp(-margins[cand].ravel())),
                            "components": [{"threshold": 0.5}] * (len(cand) * k)})
    return learning_order(pending)["segment_id"].drop_duplicates().head(size).tolist()


def simulate(base, pool, evaluation, cues, docs, codes, *, batch, seeds, log):
    """Labels needed per arm (``random``: one per seed; ``queue``: one) on one pool / evaluation split.

    ``base``, ``pool``, ``evaluation``: TrainingSets; ``cues``: their cue-score matrices, in that order.
    """
    roles = [[r or "(none)" for r in s.roles] for s in (base, pool, evaluation)]
    feats = Features(base.texts + pool.texts, roles[0] + roles[1])
    Xb, Xp, Xe = (feats(s.texts, c, r) for s, c, r in zip((base, pool, evaluation), cues, roles))
    n = len(pool)

    def run(labeled):
        X = sparse.vstack([Xb, Xp[labeled]]) if labeled else Xb
        Y = np.vstack([base.labels, pool.labels[labeled]]) if labeled else base.labels
        mp, me = fit_margins(X, Y, [Xp, Xe])
        return mp, f1_score(evaluation.labels, (me >= 0).astype(int), average="macro", zero_division=0)

    _, full = run(list(range(n)))
    target = 0.9 * full
    log(f"  full-data macro-F1 (codebook + {n} pool segments): {full:.3f}; target 90% = {target:.3f}")

    def arm(pick, name):
        labeled: list[int] = []
        margins, f1 = run(labeled)
        curve = [(0, f1)]
        while f1 < target and len(labeled) < n:
            labeled += pick(margins, sorted(set(range(n)) - set(labeled)))
            margins, f1 = run(labeled)
            curve.append((len(labeled), f1))
        log(f"  {name:14s}: {len(labeled):4d} labels (labels:F1 {', '.join(f'{m}:{f:.2f}' for m, f in curve[::4])})")
        return len(labeled)

    def random_pick(perm):
        def pick(margins, unlabeled):
            todo = set(unlabeled)
            return [int(i) for i in perm if i in todo][:batch]
        return pick

    needed = {"queue": arm(lambda m, unl: queue_batch(m, unl, docs, codes, batch), "queue"), "random": []}
    for seed in range(seeds):
        needed["random"].append(arm(random_pick(np.random.RandomState(seed).permutation(n)), f"random seed {seed}"))
    return needed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=25)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--holdout", action="store_true", help="evaluate on held-out train documents, not test.jsonl")
    ap.add_argument("--halvings", type=int, default=3, help="with --holdout: random halvings (2 splits each)")
    args = ap.parse_args()
    t0 = time.time()
    log = functools.partial(print, flush=True)
    cb = load_codebook(ROOT / "codebook" / "clhs_mechanisms.yaml")
    base = TrainingSet.from_codebook(cb)
    train_path = ROOT / "corpus" / "gold" / "train.jsonl"
    train = TrainingSet.from_gold(train_path, cb)
    docs = np.array([json.loads(line)["document"] for line in train_path.read_text().splitlines() if line.strip()])
    test = TrainingSet.from_gold(ROOT / "corpus" / "gold" / "test.jsonl", cb)
    matcher = CueMatcher(cb)  # unfitted: default cue weights, so the features use no labels
    cue_b, cue_train, cue_test = (matcher.score(s.texts).astype(np.float32) for s in (base, train, test))
    codes = np.array(cb.code_ids)
    log("lighter model: word TF-IDF + cue + role features computed once; per-code logistic layer refit "
        f"each round at threshold 0.5; batch {args.batch}")
    if args.holdout:
        splits = []
        for r in range(args.halvings):
            perm = np.random.RandomState(123 + r).permutation(sorted(set(docs)))
            for held in (perm[0::2], perm[1::2]):
                ev = np.isin(docs, held)
                splits.append((np.flatnonzero(~ev), np.flatnonzero(ev)))
    else:
        splits = [(np.arange(len(train)), None)]
    needed = {"queue": [], "random": []}
    for i, (p, e) in enumerate(splits):
        evaluation, cue_e = (test, cue_test) if e is None else (train.subset(e), cue_train[e])
        log(f"split {i}: pool {len(p)} segments, evaluation {len(evaluation)} "
            f"({'test.jsonl' if e is None else 'held-out train documents'})")
        got = simulate(base, train.subset(p), evaluation, (cue_b, cue_train[p], cue_e), docs[p], codes,
                       batch=args.batch, seeds=args.seeds, log=log)
        needed["queue"] += [got["queue"]] * args.seeds  # deterministic: the same for every seed
        needed["random"] += got["random"]
    r, q = np.mean(needed["random"]), np.mean(needed["queue"])
    runs = f"{len(splits)} split(s) x {args.seeds} seeds" if args.holdout else f"{args.seeds} seeds"
    log(f"\nlabels to reach 90% of full-data macro-F1 (mean of {runs}, batch {args.batch}):")
    log(f"  random order  {r:7.1f}  (per seed {needed['random']})")
    log(f"  review queue  {q:7.1f}  (per seed {needed['queue']}; the queue has no randomness)")
    log(f"  saving        {100 * (1 - q / r):6.1f}%  (goal >= 30%)")
    log(f"runtime {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
