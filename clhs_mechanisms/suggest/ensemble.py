"""One calibrated score per (segment, code) from the member suggesters, by per-code stacking.

The members' outputs on held-out folds (cue score, raw cosine to the code description, raw
classifier margin) are the inputs of one small logistic model per code; its threshold maximises F1
on cross-validated stacked scores. Codes with too few positives fall back to the mean of the
members' calibrated scores with threshold 0.5.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold, StratifiedKFold

from ..codebook import Codebook
from .base import (DEFAULT_THRESHOLD, MIN_POSITIVES, UNKNOWN, Evidence, Scored, best_f1_threshold,
                   check_texts, code_index, sigmoid)
from .classifier import CodeClassifier
from .cues import CueMatcher, KeywordBaseline
from .similarity import CodebookSimilarity
from .training import TrainingSet

MEMBERS = {"cues": CueMatcher, "similarity": CodebookSimilarity, "classifier": CodeClassifier}


class Ensemble:
    """Stack the member suggesters (by default cues, similarity and classifier) per code.

    ``folds`` sets the cross-validation used to produce held-out member scores; ``explain`` gives
    each member's score and the evidence behind a suggestion; ``suggest`` lists, per text, the
    codes whose score reaches ``threshold - margin``, best first.
    """

    method = "ensemble"

    def __init__(self, codebook: Codebook, members: Sequence[str] = ("cues", "similarity", "classifier"), *,
                 folds: int = 4, C: float = 1.0, random_state: int = 0) -> None:
        unknown = [m for m in members if m not in MEMBERS]
        if unknown:
            raise ValueError(f"unknown member(s) {unknown}; choose from {sorted(MEMBERS)}")
        self.codebook = codebook
        self.codes = codebook.code_ids
        self.member_names = tuple(members)
        self.folds, self.C, self.random_state = folds, C, random_state
        self.members = {m: MEMBERS[m](codebook) for m in self.member_names}
        self._share_matches()
        self.stack_ = np.full((len(self.codes), len(self.member_names) + 1), np.nan)  # coefs + intercept
        self.thresholds_ = np.full(len(self.codes), DEFAULT_THRESHOLD)

    def _share_matches(self) -> None:
        """The classifier's cue features and the cue member match the same texts: match once."""
        if "cues" in self.members and "classifier" in self.members:
            self.members["classifier"].cues.share_matches(self.members["cues"])

    @property
    def thresholds(self) -> np.ndarray:
        return self.thresholds_

    @staticmethod
    def _raw(name: str, member, texts, roles) -> np.ndarray:
        """The member output used for stacking (on a scale that does not depend on calibration)."""
        if name == "classifier":
            return member.decision_cached(member.transform_cache(texts, roles))
        if name == "similarity":
            return member.cosine(texts) * 10.0
        return member.score(texts, roles) * 4.0

    def _features(self, texts, roles) -> np.ndarray:
        return np.stack([self._raw(n, self.members[n], texts, roles) for n in self.member_names], axis=2)

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
                    member = MEMBERS[name](self.codebook, **({"cv": 0} if name == "classifier" else {}))
                    member.fit(part)
                    oof[te, :, i] = self._raw(name, member, held.texts, held.roles)
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
            lr = LogisticRegression(C=self.C).fit(X, yj)
            self.stack_[j] = np.r_[lr.coef_[0], lr.intercept_[0]]
            held = np.zeros(len(yj))
            for tr, te in StratifiedKFold(min(5, npos), shuffle=True, random_state=self.random_state).split(X, yj):
                held[te] = LogisticRegression(C=self.C).fit(X[tr], yj[tr]).predict_proba(X[te])[:, 1]
            self.thresholds_[j] = best_f1_threshold(yj, held)
        return self

    def member_scores(self, texts: Sequence[str], roles: Sequence[str | None] | None = None) -> dict[str, np.ndarray]:
        """Each member's own calibrated scores ``(n, k)``."""
        texts, roles = check_texts(texts, roles)
        return {name: member.score(texts, roles) for name, member in self.members.items()}

    def score(self, texts: Sequence[str], roles: Sequence[str | None] | None = None) -> np.ndarray:
        """Stacked scores ``(n, k)`` in [0, 1]."""
        texts, roles = check_texts(texts, roles)
        if not texts:
            return np.zeros((0, len(self.codes)))
        feats = self._features(texts, roles)
        out = np.zeros((len(texts), len(self.codes)))
        fallback = None
        for j in range(len(self.codes)):
            if np.isnan(self.stack_[j, 0]):
                if fallback is None:
                    fallback = np.mean(list(self.member_scores(texts, roles).values()), axis=0)
                out[:, j] = fallback[:, j]
            else:
                out[:, j] = sigmoid(feats[:, j, :] @ self.stack_[j, :-1] + self.stack_[j, -1])
        return np.clip(out, 0.0, 1.0)

    def evidence(self, text: str, code: str, role: str | None = None) -> list[Evidence]:
        """Evidence from every member, de-duplicated by span, in text order."""
        return self.explain(text, code, role)[1]

    def explain(self, text: str, code: str, role: str | None = None) -> tuple[dict[str, float], list[Evidence]]:
        """Each member's score for (text, code) and the merged evidence of the members."""
        j = code_index(self.codes, code)
        components = {name: float(s[0, j]) for name, s in self.member_scores([text], [role]).items()}
        return components, self._merged_evidence(text, code, role)

    def _merged_evidence(self, text: str, code: str, role: str | None, rows: dict | None = None) -> list[Evidence]:
        seen, evidence = set(), []
        for name in self.member_names:
            row = (rows or {}).get(name)
            member = self.members[name]
            found = member.evidence(text, code, role) if row is None else member.evidence(text, code, role, row=row)
            for ev in found:
                if (ev.start, ev.end) not in seen:
                    seen.add((ev.start, ev.end))
                    evidence.append(Evidence(ev.start, ev.end, ev.text, f"{name}: {ev.why}"))
        return sorted(evidence, key=lambda e: e.start)

    def suggest(self, texts: Sequence[str], roles: Sequence[str | None] | None = None, margin: float = 0.15) -> list[list[Scored]]:
        """Per text, the codes scoring at least ``threshold - margin``, best first, with evidence."""
        texts, roles = check_texts(texts, roles)
        scores = self.score(texts, roles)
        members = self.member_scores(texts, roles)  # once per batch, not once per suggestion
        term_rows = {name: m.term_rows(texts) for name, m in self.members.items() if hasattr(m, "term_rows")}
        out = []
        for i, (text, role) in enumerate(zip(texts, roles)):
            rows = {name: (r.indices[r.indptr[i]:r.indptr[i + 1]], r.data[r.indptr[i]:r.indptr[i + 1]])
                    for name, r in term_rows.items()}
            row = []
            for j in np.argsort(-scores[i], kind="mergesort"):
                if scores[i, j] < self.thresholds_[j] - margin:
                    continue
                components = {name: float(s[i, j]) for name, s in members.items()}
                evidence = self._merged_evidence(text, self.codes[j], role, rows)
                row.append(Scored(self.codes[j], float(scores[i, j]), float(self.thresholds_[j]), self.method,
                                  components, tuple(evidence)))
            out.append(row)
        return out

    def get_state(self) -> dict:
        return {"members": {n: m.get_state() for n, m in self.members.items()}, "stack": self.stack_,
                "thresholds": self.thresholds_}

    def set_state(self, state: dict) -> "Ensemble":
        for name, st in state["members"].items():
            self.members[name].set_state(st)
        self._share_matches()
        self.stack_ = np.asarray(state["stack"], dtype=float)
        self.thresholds_ = np.asarray(state["thresholds"], dtype=float)
        return self


def make_suggester(method: str, codebook: Codebook, **params):
    """A fresh suggester by name: "cues", "similarity", "classifier", "ensemble" or "keywords"."""
    factories = {"cues": CueMatcher, "similarity": CodebookSimilarity, "classifier": CodeClassifier,
                 "ensemble": Ensemble, "keywords": KeywordBaseline}
    try:
        return factories[method](codebook, **params)
    except KeyError:
        raise ValueError(f"unknown method '{method}'; choose from {', '.join(factories)}") from None
