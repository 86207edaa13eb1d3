"""Assisted coding: suggesters that score segments against a codebook, with evidence.

A suggestion is never a coding. Every suggester meets :class:`~.protocol.Suggester` (``codes``,
``fit(training_set)``, ``score(texts, roles=None) -> (n, k)`` in [0, 1], ``thresholds``,
``evidence(text, code, role=None) -> list[Evidence]`` and their batch forms) and is registered by
name in :mod:`~.registry`:

* :class:`CueMatcher` - codebook cues/patterns on lemmas, with negation and hedging scope;
* :class:`CodebookSimilarity` - TF-IDF cosine to each code's description (cold start);
* :class:`CodeClassifier` - calibrated one-vs-rest linear models, with a fast incremental path;
* :class:`Ensemble` - per-code stacking of the registry's members, then :class:`ContextStage`
  (each segment rescored beside its neighbours in the same document), ``explain`` and ``suggest``;
* :class:`KeywordBaseline` - the naive comparison point.

:func:`evaluate` / :func:`compare_methods` measure them on gold files; :func:`save_model` /
:func:`load_model` persist them without pickle.
"""

from .classifier import CodeClassifier
from .context import ContextStage
from .cues import CueMatcher, KeywordBaseline
from .ensemble import Ensemble
from .evaluate import compare_methods, evaluate, metrics, training_data
from .persist import load_model, read_metadata, save_model
from .protocol import Suggester
from .registry import make_suggester
from .similarity import CodebookSimilarity
from .training import TrainingSet
from .types import FLOOR, Evidence, Scored

__all__ = [
    "FLOOR",
    "CodeClassifier",
    "CodebookSimilarity",
    "ContextStage",
    "CueMatcher",
    "Ensemble",
    "Evidence",
    "KeywordBaseline",
    "Scored",
    "Suggester",
    "TrainingSet",
    "compare_methods",
    "evaluate",
    "load_model",
    "make_suggester",
    "metrics",
    "read_metadata",
    "save_model",
    "training_data",
]
