"""One calibrated score per (segment, code) from the member suggesters, by per-code stacking,
then rescored in context.

The members' outputs on held-out folds (cue score, raw cosine to the code description, raw
classifier margin) are the inputs of one small logistic model per code; its threshold maximises F1
on cross-validated stacked scores. Codes with too few positives fall back to the mean of the
members' calibrated scores with threshold 0.5. The stacked scores of neighbouring segments then
go through :class:`~clhs_mechanisms.suggest.context.ContextStage` (when the training data has
whole documents), so texts passed with their document (``groups``) are scored in context.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from itertools import chain

import numpy as np
from sklearn.model_selection import KFold, StratifiedKFold

from ..codebook import Codebook
from ..errors import ClhsError
from .context import LIMIT, ContextStage, Layout, logit
from .logistic import fit_logistic, sigmoid
from .protocol import Exemplars, HeldOutCalibration, MatchesCues, clone
from .registry import member_methods, method
from .thresholds import best_f1_threshold, ranked_pairs
from .training import TrainingSet
from .types import (
    ALL,
    DEFAULT_THRESHOLD,
    FLOOR,
    MIN_POSITIVES,
    UNKNOWN,
    Codes,
    Evidence,
    Exemplar,
    Outputs,
    Scored,
    check_texts,
    code_index,
)


class Ensemble:
    """Stack member suggesters (by default every registered member: cues, similarity, classifier) per code.

    ``members`` names them (see :func:`~.registry.member_methods`) and ``settings`` gives a member's
    constructor settings by name (``{"classifier": {"C": 16.0}}``). The constructor only keeps its
    parameters (as scikit-learn's estimators do): :meth:`fit` builds the members (``members_``); the
    members fitted for the held-out scores are clones of them (:func:`~.protocol.clone`), so they
    share the settings. ``folds`` sets the cross-validation used to produce held-out member scores;
    ``context=False`` leaves out the context stage; ``explain`` gives each member's score and the
    evidence behind a suggestion; ``suggest`` lists, per text, the codes whose score reaches
    ``floor * threshold``, best first. ``groups`` (the document of each text, texts of a document in
    reading order) lets the context stage see each segment's neighbours; without it every text
    stands alone.
    """

    method = "ensemble"

    def __init__(
        self,
        codebook: Codebook,
        members: Sequence[str] | None = None,
        *,
        settings: Mapping[str, Mapping] | None = None,
        folds: int = 4,
        C: float = 1.0,
        random_state: int = 0,
        context: bool = True,
    ) -> None:
        self.codebook = codebook
        self.codes = codebook.code_ids
        self.members, self.settings = members, settings
        self.folds, self.C, self.random_state, self.context = folds, C, random_state, context

    def _build_members(self, names: Sequence[str]) -> None:
        """Fresh members ``members_`` (sharing their cue matches) and their scales ``scales_``."""
        allowed = member_methods()
        unknown = [name for name in names if name not in allowed]
        if unknown:
            raise ValueError(f"unknown member(s) {unknown}; choose from {sorted(allowed)}")
        settings = self.settings or {}
        self.members_ = {name: method(name).build(self.codebook, **settings.get(name, {})) for name in names}
        self.scales_ = {name: method(name).scale for name in names}
        for member in self.members_.values():
            self._share_matches(member)

    def _share_matches(self, member) -> None:
        """Cue matches depend only on the codebook: every member (and every fold's member) that
        matches cues uses the cache of one matcher, so spaCy runs over a text once."""
        first = next((m.cue_matcher for m in self.members_.values() if isinstance(m, MatchesCues)), None)
        if first is not None and isinstance(member, MatchesCues):
            member.cue_matcher.share_matches(first)

    def _copy(self, member):
        """An unfitted copy of ``member`` for a fold: without its own calibration if it can be
        calibrated from the held-out outputs instead (:class:`~.protocol.HeldOutCalibration`)."""
        copy = member.uncalibrated() if isinstance(member, HeldOutCalibration) else clone(member)
        self._share_matches(copy)
        return copy

    @property
    def thresholds(self) -> np.ndarray:
        """Per-code thresholds of :meth:`score` (0.5 where the context stage rescores)."""
        return self.context_.thresholds(self.thresholds_)

    def _outputs(self, texts: list[str], roles: list[str | None]) -> dict[str, Outputs]:
        return {name: member.outputs(texts, roles) for name, member in self.members_.items()}

    def fit(self, training: TrainingSet) -> Ensemble:
        """Held-out member outputs by K-fold, per-code stackers and thresholds, then members refit on all
        data."""
        if training.codes != self.codes:
            raise ValueError("training set codes differ from the codebook's")
        self._build_members(member_methods() if self.members is None else tuple(self.members))
        names = list(self.members_)
        n = len(training)
        oof = np.zeros((n, len(self.codes), len(names)))  # held-out raw outputs, scaled
        folds = min(self.folds, n)
        if folds >= 2:
            for tr, te in KFold(folds, shuffle=True, random_state=self.random_state).split(np.arange(n)):
                part, held = training.subset(tr), training.subset(te)
                for i, name in enumerate(names):
                    member = self._copy(self.members_[name])
                    member.fit(part)
                    oof[te, :, i] = member.outputs(held.texts, held.roles).raw * self.scales_[name]
        for i, name in enumerate(names):
            member = self.members_[name]
            if folds >= 2 and isinstance(member, HeldOutCalibration):
                # calibrated from the held-out outputs already computed, not by folds of its own
                member = self.members_[name] = self._copy(member)
                member.fit(training)
                member.calibrate(oof[:, :, i] / self.scales_[name], training.labels)
            else:
                member.fit(training)
        self._fit_stackers(oof, training.labels, folds)
        self.context_ = ContextStage()
        if self.context and folds >= 2:
            active = ~np.isnan(self.stack_[:, 0])
            held_stack = sigmoid(
                np.einsum("nkm,km->nk", oof, np.nan_to_num(self.stack_[:, :-1]))
                + np.nan_to_num(self.stack_[:, -1])
            )
            self.context_.fit(held_stack, self.thresholds_, training.labels, training.groups, active)
        return self

    def _fit_stackers(self, oof: np.ndarray, labels: np.ndarray, folds: int) -> None:
        """Per code, a logistic model on the members' held-out outputs ``oof`` (``stack_``: coefficients
        and intercept, NaN without one) and the threshold that maximises F1 on its cross-validated
        scores (``thresholds_``)."""
        k, m = oof.shape[1:]
        self.stack_ = np.full((k, m + 1), np.nan)
        self.thresholds_ = np.full(k, DEFAULT_THRESHOLD)
        for j in range(k):
            y = labels[:, j].astype(int)
            mask = y != UNKNOWN
            X, yj = oof[mask, j, :], y[mask]
            npos, nneg = int((yj == 1).sum()), int((yj == 0).sum())
            if folds < 2 or npos < MIN_POSITIVES or nneg < MIN_POSITIVES:
                continue
            coef, intercept = fit_logistic(X, yj, C=self.C)
            self.stack_[j] = np.r_[coef, intercept]
            held = np.zeros(len(yj))
            inner = StratifiedKFold(min(5, npos), shuffle=True, random_state=self.random_state)
            for tr, te in inner.split(X, yj):
                coef, intercept = fit_logistic(X[tr], yj[tr], C=self.C)
                held[te] = sigmoid(X[te] @ coef + intercept)
            self.thresholds_[j] = best_f1_threshold(yj, held)

    def stacker(
        self, outputs: dict[str, Outputs], vary: str, groups: Sequence[str | None] | None = None
    ) -> Callable[..., np.ndarray]:
        """:meth:`stack` as a function of member ``vary``'s outputs (for ``codes``, default all),
        the other members' ``outputs`` fixed and summed once: live rescoring after each decision
        reruns only the varying part, and only for the codes whose weights moved."""
        z0, s0 = self._partial(outputs, [name for name in self.members_ if name != vary])
        layout = Layout(groups, len(z0))

        def stack(out: Outputs, codes: Codes = ALL) -> np.ndarray:
            z, s = self._partial({vary: out}, [vary], codes)
            return self._in_context(z0[:, codes] + z, s0[:, codes] + s, layout, codes)

        return stack

    def _partial(
        self, outputs: dict[str, Outputs], names: Sequence[str], codes: Codes = ALL
    ) -> tuple[np.ndarray, np.ndarray]:
        """The named members' share of the stacker's linear term, and the sum of their scores
        (``outputs`` hold the columns of ``codes``)."""
        coef = np.nan_to_num(self.stack_[codes, :-1])
        column = {name: i for i, name in enumerate(self.members_)}
        z = sum(outputs[n].raw * (self.scales_[n] * coef[:, column[n]]) for n in names)
        return z, sum(outputs[n].scores for n in names)

    def _in_context(self, z: np.ndarray, score_sum: np.ndarray, groups, codes: Codes = ALL) -> np.ndarray:
        """:meth:`_finish`, then the context stage, which reads the stacked margins straight from ``z``
        (the columns of ``codes``)."""
        context = self.context_
        if not context.fitted:
            return self._finish(z, score_sum, codes)
        bound = logit(np.array(1 - LIMIT))
        margins = np.clip(z + np.nan_to_num(self.stack_[codes, -1]), -bound, bound) - logit(
            self.thresholds_[codes]
        )
        out = context.rescore(margins, groups, codes)
        rest = ~context.active_[codes]
        if rest.any():
            out[:, rest] = self._finish(
                z[:, rest], score_sum[:, rest], np.arange(len(self.codes))[codes][rest]
            )
        return out

    def _finish(self, z: np.ndarray, score_sum: np.ndarray, codes: Codes = ALL) -> np.ndarray:
        """Stacked scores from the linear term ``z`` of ``codes`` (default all; codes without a
        stacker: the members' mean score)."""
        stack = self.stack_[codes]
        stacked = sigmoid(z + np.nan_to_num(stack[:, -1]))
        fallback = score_sum / len(self.members_)
        return np.clip(np.where(np.isnan(stack[:, 0]), fallback, stacked), 0.0, 1.0)

    def score(
        self,
        texts: Sequence[str],
        roles: Sequence[str | None] | None = None,
        groups: Sequence[str | None] | None = None,
    ) -> np.ndarray:
        """Scores ``(n, k)`` in [0, 1]: stacked, then in context of each text's neighbours in ``groups``."""
        texts, roles = check_texts(texts, roles)
        if not texts:
            return np.zeros((0, len(self.codes)))
        return self._in_context(*self._partial(self._outputs(texts, roles), list(self.members_)), groups)

    def outputs(
        self,
        texts: Sequence[str],
        roles: Sequence[str | None] | None = None,
        groups: Sequence[str | None] | None = None,
    ) -> Outputs:
        """A batch's stacked scores of each text alone (``raw``), its scores in context (``scores``)
        and the members' outputs by name (``terms``, for :meth:`batch_evidence`)."""
        texts, roles = check_texts(texts, roles)
        members = self._outputs(texts, roles)
        z, score_sum = self._partial(members, list(self.members_))
        return Outputs(self._finish(z, score_sum), self._in_context(z, score_sum, groups), members)

    def exemplars(self, text: str, code: str, role: str | None = None, k: int = 3) -> list[Exemplar]:
        """The coded texts of ``code`` most like ``text``, from the first member that shows them
        (see :meth:`CodeClassifier.exemplars`); none without one."""
        for member in self.members_.values():
            if isinstance(member, Exemplars):
                return member.exemplars(text, code, role, k)
        return []

    def evidence(self, text: str, code: str, role: str | None = None) -> list[Evidence]:
        """Evidence from every member, de-duplicated by span, in text order."""
        return self.explain(text, code, role)[1]

    def explain(
        self, text: str, code: str, role: str | None = None
    ) -> tuple[dict[str, float], list[Evidence]]:
        """Each member's score for (text, code), the stacked score, and the members' merged evidence.
        A lone text has no neighbours: this is its score with or without the context stage."""
        if not isinstance(text, str) or not text.strip():
            raise ClhsError("nothing to explain: the text is empty")
        j = code_index(self.codes, code)
        outputs = self._outputs([text], [role])
        components = {name: float(out.scores[0, j]) for name, out in outputs.items()}
        components["stacked"] = float(self._finish(*self._partial(outputs, list(self.members_)))[0, j])
        return components, self._evidence([text], outputs, [(0, j)])[0]

    def batch_evidence(
        self, texts: list[str], outputs: Outputs, pairs: Sequence[tuple[int, int]]
    ) -> list[list[Evidence]]:
        """The members' merged evidence for each (text index, code index) pair of a batch (``outputs``
        from :meth:`outputs`)."""
        return self._evidence(texts, outputs.terms, pairs)

    def _evidence(
        self, texts: list[str], outputs: dict[str, Outputs], pairs: Sequence[tuple[int, int]]
    ) -> list[list[Evidence]]:
        """Each member's evidence for the (text index, code index) pairs, merged: de-duplicated by
        span (first member wins), in text order."""
        found = [member.batch_evidence(texts, outputs[name], pairs) for name, member in self.members_.items()]
        out = []
        for evidence in zip(*found):
            seen, merged = set(), []
            for ev in chain.from_iterable(evidence):
                if (ev.start, ev.end) not in seen:
                    seen.add((ev.start, ev.end))
                    merged.append(ev)
            merged.sort(key=lambda e: e.start)
            out.append(merged)
        return out

    def suggest(
        self,
        texts: Sequence[str],
        roles: Sequence[str | None] | None = None,
        floor: float = FLOOR,
        groups: Sequence[str | None] | None = None,
    ) -> list[list[Scored]]:
        """Per text, the codes scoring at least ``floor * threshold``, best first, with evidence;
        the components are each member's score and the stacked score before context (the text
        alone) with its threshold (``stacked_threshold``)."""
        texts, roles = check_texts(texts, roles)
        if not texts:
            return []
        outputs = self.outputs(texts, roles, groups)
        scores, thresholds = outputs.scores, self.thresholds
        pairs = ranked_pairs(scores, thresholds, floor)
        evidence = self.batch_evidence(texts, outputs, pairs)
        members = {name: out.scores for name, out in outputs.terms.items()}
        members["stacked"] = outputs.raw
        out: list[list[Scored]] = [[] for _ in texts]
        for (i, j), ev in zip(pairs, evidence):
            components = {name: float(s[i, j]) for name, s in members.items()}
            components["stacked_threshold"] = float(self.thresholds_[j])
            out[i].append(
                Scored(
                    self.codes[j],
                    float(scores[i, j]),
                    float(thresholds[j]),
                    self.method,
                    components,
                    tuple(ev),
                )
            )
        return out

    def get_state(self) -> dict:
        return {
            "members": {n: m.get_state() for n, m in self.members_.items()},
            "stack": self.stack_,
            "thresholds": self.thresholds_,
            "context": self.context_.get_state(),
        }

    def set_state(self, state: dict) -> Ensemble:
        """The ensemble :meth:`get_state` saved: members built in their saved order, given their states."""
        self._build_members(list(state["members"]))
        for name, st in state["members"].items():
            self.members_[name].set_state(st)
        self.stack_ = np.asarray(state["stack"], dtype=float)
        self.thresholds_ = np.asarray(state["thresholds"], dtype=float)
        self.context_ = ContextStage().set_state(state.get("context", {}))
        return self
