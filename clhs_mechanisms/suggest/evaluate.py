"""Evaluate suggesters against a gold file: micro/macro precision, recall, F1 and Cohen's kappa.

Default training data (``train_paths=None``): the codebook's examples and counterexamples plus
every ``*.jsonl`` file in the gold file's folder, except the evaluated file itself and the
agreement files ``first_coder.jsonl``, ``second_coder.jsonl`` and ``adjudication.jsonl`` (those
code the same segments twice and would leak or duplicate). Predictions are made at each model's
own thresholds, which were chosen by cross-validation on the training data only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import cohen_kappa_score, precision_recall_fscore_support

from ..codebook import Codebook
from .ensemble import make_suggester
from .training import TrainingSet

EXCLUDED_GOLD = frozenset({"first_coder.jsonl", "second_coder.jsonl", "adjudication.jsonl"})
METHODS = ("keywords", "cues", "similarity", "classifier", "ensemble")


def default_train_paths(gold_path: str | Path) -> list[Path]:
    """Every ``*.jsonl`` beside ``gold_path`` except itself and the agreement files."""
    gold = Path(gold_path).resolve()
    return sorted(p for p in gold.parent.glob("*.jsonl")
                  if p.resolve() != gold and p.name not in EXCLUDED_GOLD)


def training_data(codebook: Codebook, gold_path: str | Path | None = None,
                  train_paths: Iterable[str | Path] | None = None) -> TrainingSet:
    """Codebook examples plus the given (or default) gold training files."""
    paths = list(train_paths) if train_paths is not None else (default_train_paths(gold_path) if gold_path else [])
    sets = [TrainingSet.from_codebook(codebook)] + [TrainingSet.from_gold(p, codebook) for p in paths]
    return TrainingSet.concat(*sets)


def metrics(y_true: np.ndarray, y_pred: np.ndarray, codes: Sequence[str]) -> dict:
    """micro, macro, mean_kappa and per_code figures for 0/1 matrices ``(n, k)``."""
    out: dict = {}
    for avg in ("micro", "macro"):
        p, r, f, _ = precision_recall_fscore_support(y_true, y_pred, average=avg, zero_division=0)
        out[avg] = {"precision": float(p), "recall": float(r), "f1": float(f)}
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, average=None, zero_division=0)
    per_code, kappas = {}, []
    for j, code in enumerate(codes):
        yt, yp = y_true[:, j], y_pred[:, j]
        if len(set(yt)) < 2 and len(set(yp)) < 2:
            kappa = 1.0 if (yt == yp).all() else 0.0
        else:
            kappa = float(cohen_kappa_score(yt, yp))
        if np.isnan(kappa):
            kappa = 0.0
        per_code[code] = {"precision": float(p[j]), "recall": float(r[j]), "f1": float(f[j]),
                          "kappa": kappa, "support": int(s[j])}
        if s[j] > 0:
            kappas.append(kappa)
    out["mean_kappa"] = float(np.mean(kappas)) if kappas else 0.0
    out["per_code"] = per_code
    return out


def evaluate(gold_path: str | Path, codebook: Codebook, *, train_paths: Iterable[str | Path] | None = None,
             method: str = "ensemble", model=None) -> dict:
    """Train ``method`` (or use the fitted ``model``) and score it on ``gold_path``.

    Returns ``{micro, macro, mean_kappa, per_code, n_segments, method}``; ``micro``/``macro`` hold
    precision, recall and f1; ``mean_kappa`` averages Cohen's kappa over codes present in the gold file.
    """
    gold = TrainingSet.from_gold(gold_path, codebook)
    if model is None:
        model = make_suggester(method, codebook)
        model.fit(training_data(codebook, gold_path, train_paths))
    in_context = {"groups": gold.groups} if hasattr(model, "context_") else {}  # the ensemble's neighbours
    scores = model.score(gold.texts, gold.roles, **in_context)
    pred = (scores >= model.thresholds).astype(int)
    out = metrics(gold.labels.astype(int), pred, gold.codes)
    return {"micro": out["micro"], "macro": out["macro"], "mean_kappa": out["mean_kappa"],
            "per_code": out["per_code"], "n_segments": len(gold), "method": method}


def compare_methods(gold_path: str | Path, codebook: Codebook, *, train_paths: Iterable[str | Path] | None = None,
                    methods: Sequence[str] = METHODS) -> pd.DataFrame:
    """One row per method (incl. the keyword baseline): micro P/R/F1, macro F1, mean kappa."""
    rows = []
    for method in methods:
        r = evaluate(gold_path, codebook, train_paths=train_paths, method=method)
        rows.append({"method": method, "micro_precision": r["micro"]["precision"],
                     "micro_recall": r["micro"]["recall"], "micro_f1": r["micro"]["f1"],
                     "macro_f1": r["macro"]["f1"], "mean_kappa": r["mean_kappa"], "n_segments": r["n_segments"]})
    return pd.DataFrame(rows)
