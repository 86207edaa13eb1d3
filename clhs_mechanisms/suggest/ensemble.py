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

from itertools import chain
from typing import Callable, Sequence

import numpy as np
from sklearn.model_selection import KFold, StratifiedKFold

from ..codebook import Codebook
from ..errors import ClhsError
from .base import (ALL, DEFAULT_THRESHOLD, FLOOR, MIN_POSITIVES, UNKNOWN, Codes, Evidence, Exemplar, Outputs, Scored,
                   best_f1_threshold, check_texts, clone, code_index, fit_logistic, ranked_pairs, sigmoid)
from .classifier import CodeClassifier
from .context import LIMIT, ContextStage, Layout, logit
from .cues import CueMatcher, KeywordBaseline
from .similarity import CodebookSimilarity
from .training import TrainingSet

MEMBERS = {"cues": CueMatcher, "similarity": CodebookSimilarity, "classifier": CodeClassifier}
SCALES = {"cues": 4.0, "similarity": 10.0, "classifier": 1.0}  # members' raw outputs to similar ranges


class Ensemble:
    """Stack the member suggesters (by default cues, similarity and classifier) per code.

    ``folds`` sets the cross-validation used to produce held-out member scores; ``context=False``
    leaves out the context stage; ``explain`` gives each member's score and the evidence behind a
    suggestion; ``suggest`` lists, per text, the codes whose score reaches ``floor * threshold``,
    best first. ``groups`` (the document of each text, texts of a document in reading order)
    lets the context stage see each segment's neighbours; without it every text stands alone.
    A member's settings are changed on ``members[name]`` before :meth:`fit`; the members fitted
    for the held-out scores are clones of them (:func:`~.base.clone`), so they share the settings.
    """

    method = "ensemble"

    def __init__(self, codebook: Codebook, members: Sequence[str] = ("cues", "similarity", "classifier"), *,
                 folds: int = 4, C: float = 1.0, random_state: int = 0, context: bool = True) -> None:
        unknown = [m for m in members if m not in MEMBERS]
        if unknown:
            raise ValueError(f"unknown member(s) {unknown}; choose from {sorted(MEMBERS)}")
        self.codebook = codebook
        self.codes = codebook.code_ids
        self.member_names = tuple(members)
        self.folds, self.C, self.random_state = folds, C, random_state
        self.members = {m: MEMBERS[m](codebook) for m in self.member_names}
        for member in self.members.values():
            self._share_matches(member)
        self.stack_ = np.full((len(self.codes), len(self.member_names) + 1), np.nan)  # coefs + intercept
        self.thresholds_ = np.full(len(self.codes), DEFAULT_THRESHOLD)  # of the stacked scores
        self.context = context
        self.context_ = ContextStage()

    def _share_matches(self, member) -> None:
        """Cue matches depend only on the codebook: every member (and every fold's member) that
        matches cues uses the cache of one matcher, so spaCy runs over a text once."""
        matchers = [m.cues if isinstance(m, CodeClassifier) else m for m in self.members.values()
                    if isinstance(m, (CueMatcher, CodeClassifier))]
        mine = member.cues if isinstance(member, CodeClassifier) else member
        if matchers and isinstance(mine, CueMatcher):
            mine.share_matches(matchers[0])

    @property
    def thresholds(self) -> np.ndarray:
        """Per-code thresholds of :meth:`score` (0.5 where the context stage rescores)."""
        return self.context_.thresholds(self.thresholds_)

    def _outputs(self, texts: list[str], roles: list[str | None]) -> dict[str, Outputs]:
        return {name: member.outputs(texts, roles) for name, member in self.members.items()}

    def fit(self, training: TrainingSet) -> "Ensemble":
        """Held-out member outputs by K-fold, per-code stackers and thresholds, then refit members on all data."""
        if training.codes != self.codes:
            raise ValueError("training set codes differ from the codebook's")
        n, k, m = len(training), len(self.codes), len(self.member_names)
        oof = np.zeros((n, k, m))
        folds = min(self.folds, n)
        if folds >= 2:
            for tr, te in KFold(folds, shuffle=True, random_state=self.random_state).split(np.arange(n)):
                part, held = training.subset(tr), training.subset(te)
                for i, name in enumerate(self.member_names):
                    member = clone(self.members[name], **({"cv": 0} if name == "classifier" else {}))
                    self._share_matches(member)
                    member.fit(part)
                    oof[te, :, i] = member.outputs(held.texts, held.roles).raw * SCALES[name]
        for name, member in self.members.items():
            if name == "classifier" and folds >= 2:
                member.cv = 0  # calibrated below from the held-out margins already computed
                member.fit(training)
                member.calibrate(oof[:, :, self.member_names.index(name)], training.labels)
            else:
                member.fit(training)
        self.stack_[:] = np.nan
        self.thresholds_ = np.full(k, DEFAULT_THRESHOLD)
        for j in range(k):
            y = training.labels[:, j].astype(int)
            mask = y != UNKNOWN
            X, yj = oof[mask, j, :], y[mask]
            npos, nneg = int((yj == 1).sum()), int((yj == 0).sum())
            if folds < 2 or npos < MIN_POSITIVES or nneg < MIN_POSITIVES:
                continue
            coef, intercept = fit_logistic(X, yj, C=self.C)
            self.stack_[j] = np.r_[coef, intercept]
            held = np.zeros(len(yj))
            for tr, te in StratifiedKFold(min(5, npos), shuffle=True, random_state=self.random_state).split(X, yj):
                coef, intercept = fit_logistic(X[tr], yj[tr], C=self.C)
                held[te] = sigmoid(X[te] @ coef + intercept)
            self.thresholds_[j] = best_f1_threshold(yj, held)
        self.context_ = ContextStage()
        if self.context and folds >= 2:
            active = ~np.isnan(self.stack_[:, 0])
            held_stack = sigmoid(np.einsum("nkm,km->nk", oof, np.nan_to_num(self.stack_[:, :-1]))
                                 + np.nan_to_num(self.stack_[:, -1]))
            self.context_.fit(held_stack, self.thresholds_, training.labels, training.groups, active)
        return self

    def stack(self, outputs: dict[str, Outputs], groups: Sequence[str | None] | None = None) -> np.ndarray:
        """Scores ``(n, k)`` from the members' outputs (codes without a stacker: their mean), in context."""
        return self._in_context(*self._partial(outputs, self.member_names), groups)

    def stacker(self, outputs: dict[str, Outputs], vary: str,
                groups: Sequence[str | None] | None = None) -> Callable[..., np.ndarray]:
        """:meth:`stack` as a function of member ``vary``'s outputs (for ``codes``, default all),
        the other members' ``outputs`` fixed and summed once: live rescoring after each decision
        reruns only the varying part, and only for the codes whose weights moved."""
        z0, s0 = self._partial(outputs, [name for name in self.member_names if name != vary])
        layout = Layout(groups, len(z0))

        def stack(out: Outputs, codes: Codes = ALL) -> np.ndarray:
            z, s = self._partial({vary: out}, [vary], codes)
            return self._in_context(z0[:, codes] + z, s0[:, codes] + s, layout, codes)
        return stack

    def _partial(self, outputs: dict[str, Outputs], names: Sequence[str],
                 codes: Codes = ALL) -> tuple[np.ndarray, np.ndarray]:
        """The named members' share of the stacker's linear term, and the sum of their scores
        (``outputs`` hold the columns of ``codes``)."""
        coef = np.nan_to_num(self.stack_[codes, :-1])
        z = sum(outputs[n].raw * (SCALES[n] * coef[:, self.member_names.index(n)]) for n in names)
        return z, sum(outputs[n].scores for n in names)

    def _in_context(self, z: np.ndarray, score_sum: np.ndarray, groups, codes: Codes = ALL) -> np.ndarray:
        """:meth:`_finish`, then the context stage, which reads the stacked margins straight from ``z``
        (the columns of ``codes``)."""
        context = self.context_
        if not context.fitted:
            return self._finish(z, score_sum, codes)
        bound = logit(np.array(1 - LIMIT))
        margins = np.clip(z + np.nan_to_num(self.stack_[codes, -1]), -bound, bound) - logit(self.thresholds_[codes])
        out = context.rescore(margins, groups, codes)
        rest = ~context.active_[codes]
        if rest.any():
            out[:, rest] = self._finish(z[:, rest], score_sum[:, rest], np.arange(len(self.codes))[codes][rest])
        return out

    def _finish(self, z: np.ndarray, score_sum: np.ndarray, codes: Codes = ALL) -> np.ndarray:
        """Stacked scores from the linear term ``z`` of ``codes`` (default all; codes without a
        stacker: the members' mean score)."""
        stack = self.stack_[codes]
        stacked = sigmoid(z + np.nan_to_num(stack[:, -1]))
        fallback = score_sum / len(self.member_names)
        return np.clip(np.where(np.isnan(stack[:, 0]), fallback, stacked), 0.0, 1.0)

    def score(self, texts: Sequence[str], roles: Sequence[str | None] | None = None,
              groups: Sequence[str | None] | None = None) -> np.ndarray:
        """Scores ``(n, k)`` in [0, 1]: stacked, then in context of each text's neighbours in ``groups``."""
        texts, roles = check_texts(texts, roles)
        if not texts:
            return np.zeros((0, len(self.codes)))
        return self.stack(self._outputs(texts, roles), groups)

    def exemplars(self, text: str, code: str, role: str | None = None, k: int = 3) -> list[Exemplar]:
        """The coded texts of ``code`` most like ``text`` (see :meth:`CodeClassifier.exemplars`);
        none without a classifier member."""
        classifier = self.members.get("classifier")
        return classifier.exemplars(text, code, role, k) if classifier is not None else []

    def evidence(self, text: str, code: str, role: str | None = None) -> list[Evidence]:
        """Evidence from every member, de-duplicated by span, in text order."""
        return self.explain(text, code, role)[1]

    def explain(self, text: str, code: str, role: str | None = None) -> tuple[dict[str, float], list[Evidence]]:
        """Each member's score for (text, code), the stacked score, and the members' merged evidence.
        A lone text has no neighbours: this is its score with or without the context stage."""
        if not isinstance(text, str) or not text.strip():
            raise ClhsError("nothing to explain: the text is empty")
        j = code_index(self.codes, code)
        outputs = self._outputs([text], [role])
        components = {name: float(out.scores[0, j]) for name, out in outputs.items()}
        components["stacked"] = float(self._finish(*self._partial(outputs, self.member_names))[0, j])
        return components, self._evidence([text], outputs, [(0, j)])[0]

    def _evidence(self, texts: list[str], outputs: dict[str, Outputs],
                  pairs: list[tuple[int, int]]) -> list[list[Evidence]]:
        """Each member's evidence for the (text index, code index) pairs, merged: de-duplicated by
        span (first member wins), in text order."""
        found = [self.members[name].batch_evidence(texts, outputs[name], pairs)
                 for name in self.member_names]
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

    def suggest(self, texts: Sequence[str], roles: Sequence[str | None] | None = None,
                floor: float = FLOOR, groups: Sequence[str | None] | None = None) -> list[list[Scored]]:
        """Per text, the codes scoring at least ``floor * threshold``, best first, with evidence;
        the components are each member's score and the stacked score before context (the text
        alone) with its threshold (``stacked_threshold``)."""
        texts, roles = check_texts(texts, roles)
        if not texts:
            return []
        outputs = self._outputs(texts, roles)
        z, score_sum = self._partial(outputs, self.member_names)
        stacked, scores = self._finish(z, score_sum), self._in_context(z, score_sum, groups)
        thresholds = self.thresholds
        pairs = ranked_pairs(scores, thresholds, floor)
        evidence = self._evidence(texts, outputs, pairs)
        members = {name: out.scores for name, out in outputs.items()}
        members["stacked"] = stacked
        out: list[list[Scored]] = [[] for _ in texts]
        for (i, j), ev in zip(pairs, evidence):
            components = {name: float(s[i, j]) for name, s in members.items()}
            components["stacked_threshold"] = float(self.thresholds_[j])
            out[i].append(Scored(self.codes[j], float(scores[i, j]), float(thresholds[j]), self.method,
                                 components, tuple(ev)))
        return out

    def get_state(self) -> dict:
        return {"members": {n: m.get_state() for n, m in self.members.items()}, "stack": self.stack_,
                "thresholds": self.thresholds_, "context": self.context_.get_state()}

    def set_state(self, state: dict) -> "Ensemble":
        for name, st in state["members"].items():
            self.members[name].set_state(st)
        self.stack_ = np.asarray(state["stack"], dtype=float)
        self.thresholds_ = np.asarray(state["thresholds"], dtype=float)
        self.context_ = ContextStage().set_state(state.get("context", {}))
        return self


def make_suggester(method: str, codebook: Codebook, **params):
    """A fresh suggester by name: "cues", "similarity", "classifier", "ensemble" or "keywords"."""
    factories = {"cues": CueMatcher, "similarity": CodebookSimilarity, "classifier": CodeClassifier,
                 "ensemble": Ensemble, "keywords": KeywordBaseline}
    try:
        return factories[method](codebook, **params)
    except KeyError:
        raise ValueError(f"unknown method '{method}'; choose from {', '.join(factories)}") from None
