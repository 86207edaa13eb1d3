"""Evaluate suggesters against a gold file: micro/macro precision, recall, F1 and Cohen's kappa.

Training data: the codebook's examples and counterexamples, plus either ``train_paths`` or, by
default, the shipped gold training data when the codebook is the shipped one (never files that
happen to lie beside the gold file: a second coder's file of the same texts would leak the
answers). A training file that is the gold file itself is refused; gold texts that also occur in
the training data are counted in the result (``overlap``). Predictions are made at each model's
own thresholds, which were chosen by cross-validation on the training data only.

Two readings: in context (the ensemble sees each gold row beside its document's other rows, as
in a project) and ``standalone`` (every row an independent text, as a lone excerpt would be).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import cohen_kappa_score, precision_recall_fscore_support

from ..codebook import Codebook
from ..errors import ClhsError
from ..shipped import shipped_gold
from . import registry
from .training import TrainingSet


def training_data(
    codebook: Codebook,
    train_paths: Iterable[str | Path] | None = None,
    *,
    gold_path: str | Path | None = None,
) -> TrainingSet:
    """Codebook examples plus ``train_paths`` (default: :func:`~clhs_mechanisms.shipped.shipped_gold`);
    a training file that is ``gold_path`` itself is refused."""
    paths = [Path(p) for p in train_paths] if train_paths is not None else shipped_gold(codebook)
    if gold_path is not None:
        gold = Path(gold_path).resolve()
        for p in paths:
            if p.resolve() == gold:
                raise ClhsError(
                    "the gold file is also a training file: evaluate on data the model has not seen",
                    where=str(p),
                )
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
        per_code[code] = {
            "precision": float(p[j]),
            "recall": float(r[j]),
            "f1": float(f[j]),
            "kappa": kappa,
            "support": int(s[j]),
        }
        if s[j] > 0:
            kappas.append(kappa)
    out["mean_kappa"] = float(np.mean(kappas)) if kappas else 0.0
    out["per_code"] = per_code
    return out


def fit_for_evaluation(
    codebook: Codebook,
    method: str = "ensemble",
    *,
    train_paths: Iterable[str | Path] | None = None,
    gold_path: str | Path | None = None,
    training: TrainingSet | None = None,
):
    """A ``method`` suggester fitted on ``training`` (default: :func:`training_data`)."""
    model = registry.make_suggester(method, codebook)
    model.fit(training if training is not None else training_data(codebook, train_paths, gold_path=gold_path))
    return model


def score_gold(model, gold: TrainingSet, *, standalone: bool = False) -> dict:
    """``model``'s figures on ``gold`` at its own thresholds (see :func:`evaluate`)."""
    in_context = {} if standalone or not hasattr(model, "context_") else {"groups": gold.groups}
    scores = model.score(gold.texts, gold.roles, **in_context)
    out = metrics(gold.labels.astype(int), (scores >= model.thresholds).astype(int), gold.codes)
    return {
        "micro": out["micro"],
        "macro": out["macro"],
        "mean_kappa": out["mean_kappa"],
        "per_code": out["per_code"],
        "n_segments": len(gold),
        "standalone": standalone,
    }


def evaluate(
    gold_path: str | Path,
    codebook: Codebook,
    *,
    train_paths: Iterable[str | Path] | None = None,
    method: str = "ensemble",
    model=None,
    standalone: bool = False,
) -> dict:
    """Train ``method`` (or use the fitted ``model``) and score it on ``gold_path``.

    Returns ``{micro, macro, mean_kappa, per_code, n_segments, method, standalone, overlap}``;
    ``micro``/``macro`` hold precision, recall and f1; ``mean_kappa`` averages Cohen's kappa over
    codes present in the gold file; ``overlap`` counts gold texts that are also training texts
    (0 unless a model was given). ``standalone`` scores every gold row as an independent text.
    """
    gold = TrainingSet.from_gold(gold_path, codebook)
    overlap = 0
    if model is None:
        training = training_data(codebook, train_paths, gold_path=gold_path)
        seen = set(training.texts)
        overlap = sum(text in seen for text in gold.texts)
        model = fit_for_evaluation(codebook, method, training=training)
    return {**score_gold(model, gold, standalone=standalone), "method": method, "overlap": overlap}


def compare_methods(
    gold_path: str | Path,
    codebook: Codebook,
    *,
    train_paths: Iterable[str | Path] | None = None,
    methods: Sequence[str] | None = None,
) -> pd.DataFrame:
    """One row per method (default: every registered one, incl. the keyword baseline) and reading
    (in context, standalone): micro P/R/F1, macro F1, mean kappa. Each method is fitted once and
    scored both ways."""
    gold = TrainingSet.from_gold(gold_path, codebook)
    training = training_data(codebook, train_paths, gold_path=gold_path)
    rows = []
    for method in registry.methods() if methods is None else methods:
        model = fit_for_evaluation(codebook, method, training=training)
        for standalone in (False, True):
            r = score_gold(model, gold, standalone=standalone)
            rows.append(
                {
                    "method": method,
                    "reading": "standalone" if standalone else "in context",
                    "micro_precision": r["micro"]["precision"],
                    "micro_recall": r["micro"]["recall"],
                    "micro_f1": r["micro"]["f1"],
                    "macro_f1": r["macro"]["f1"],
                    "mean_kappa": r["mean_kappa"],
                    "n_segments": r["n_segments"],
                }
            )
    return pd.DataFrame(rows)
