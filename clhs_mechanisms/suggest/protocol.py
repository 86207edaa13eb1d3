"""The contract every suggester meets, the optional capabilities some have, and :func:`clone`.

A suggester is built as ``Kind(codebook, **settings)``: its settings are keyword arguments kept on
attributes of the same name (so :func:`clone` can copy it, as scikit-learn's ``clone`` does), and
what :meth:`~Suggester.fit` learns ends in ``_``. It is registered by name in
:mod:`~clhs_mechanisms.suggest.registry`, which also says whether it is trained on a project's data
(``clhs train``) or fitted on the codebook's examples when it suggests: the command line reads that
without importing the scientific stack.

The ensemble and the suggestion pass ask a suggester for a capability, never for a name: a member
that calibrates from held-out outputs (:class:`HeldOutCalibration`), one that can be updated live
after each decision (:class:`LiveUpdates`), one that shows similar coded texts (:class:`Exemplars`),
one whose cue matches can be shared (:class:`MatchesCues`).
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from .training import TrainingSet
from .types import Codes, Evidence, Exemplar, Outputs


@runtime_checkable
class Suggester(Protocol):
    """Segments in, scores in [0, 1] per code with the evidence behind them out.

    ``method`` is the registry name; ``codes`` the codebook's code ids (the columns of every score
    matrix); ``thresholds`` the per-code score at which a code is suggested. :meth:`outputs` computes
    a batch's raw and calibrated scores once, so stacking, thresholds and :meth:`batch_evidence`
    share them; :meth:`get_state` / :meth:`set_state` hold what :meth:`fit` learnt as plain arrays,
    lists and dicts (saved without pickle).
    """

    method: str
    codes: Sequence[str]

    @property
    def thresholds(self) -> np.ndarray: ...

    def fit(self, training: TrainingSet) -> Suggester: ...

    def outputs(self, texts: Sequence[str], roles: Sequence[str | None] | None = None) -> Outputs: ...

    def score(self, texts: Sequence[str], roles: Sequence[str | None] | None = None) -> np.ndarray: ...

    def batch_evidence(
        self, texts: list[str], outputs: Outputs, pairs: Sequence[tuple[int, int]]
    ) -> list[list[Evidence]]: ...

    def evidence(self, text: str, code: str, role: str | None = None) -> list[Evidence]: ...

    def get_state(self) -> dict: ...

    def set_state(self, state: dict) -> Suggester: ...


@runtime_checkable
class HeldOutCalibration(Protocol):
    """Calibrates its raw outputs by cross-validation of its own, or from held-out raw outputs a caller
    already has (the ensemble's folds): :meth:`uncalibrated` is an unfitted copy that skips its own
    cross-validation, :meth:`calibrate` calibrates it once fitted."""

    def uncalibrated(self) -> Suggester: ...

    def calibrate(self, raw: np.ndarray, labels: np.ndarray) -> Suggester: ...


@runtime_checkable
class LiveUpdates(Protocol):
    """Moves towards new decisions without a refit, rescoring a cached feature matrix (the review
    app's live scores)."""

    def transform_cache(self, texts: Sequence[str], roles: Sequence[str | None] | None = None): ...

    def partial_update(self, training: TrainingSet, X=None) -> Suggester: ...

    def decision_cached(self, X, codes: Codes = ...) -> np.ndarray: ...

    def calibrated(self, margin: np.ndarray, codes: Codes = ...) -> np.ndarray: ...


@runtime_checkable
class Exemplars(Protocol):
    """Shows the already-coded texts most like a suggested one."""

    def exemplars(self, text: str, code: str, role: str | None = None, k: int = 3) -> list[Exemplar]: ...


@runtime_checkable
class MatchesCues(Protocol):
    """Matches the codebook's cues with a :class:`~.cues.CueMatcher` (``cue_matcher``), whose matches
    can be shared with other matchers of the same codebook."""

    cue_matcher: object


def clone(suggester, **changes):
    """A new, unfitted suggester of the same kind and settings, with ``changes`` (as scikit-learn's
    ``clone``: each parameter of the constructor after the codebook is read back from the attribute
    of the same name)."""
    params = list(inspect.signature(type(suggester).__init__).parameters.values())[2:]  # self, codebook
    names = [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    settings = {name: getattr(suggester, name) for name in names}
    return type(suggester)(suggester.codebook, **{**settings, **changes})
