"""A toy suggester for the registry test: a module meeting :class:`~clhs_mechanisms.suggest.Suggester`,
nothing more (a code scores the share of its label's words found in the text)."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from clhs_mechanisms.suggest.types import Evidence, Outputs, check_texts, code_index


class LabelWords:
    method = "toy"

    def __init__(self, codebook, *, weight: float = 1.0) -> None:
        self.codebook, self.codes, self.weight = codebook, codebook.code_ids, weight
        self._words = [re.findall(r"\w{4,}", code.label.lower()) for code in codebook.codes]
        self.thresholds_ = np.full(len(self.codes), 0.5)

    @property
    def thresholds(self) -> np.ndarray:
        return self.thresholds_

    def fit(self, training) -> LabelWords:
        return self

    def outputs(self, texts: Sequence[str], roles=None) -> Outputs:
        texts, _ = check_texts(texts, roles)
        scores = np.array(
            [
                [
                    self.weight * sum(w in t.lower() for w in words) / max(len(words), 1)
                    for words in self._words
                ]
                for t in texts
            ]
        ).reshape(len(texts), len(self.codes))
        return Outputs(scores, scores)

    def score(self, texts: Sequence[str], roles=None) -> np.ndarray:
        return self.outputs(texts, roles).scores

    def batch_evidence(self, texts: list[str], outputs, pairs) -> list[list[Evidence]]:
        return [
            sorted(
                (
                    Evidence(m.start(), m.end(), m.group(), f"label word '{w}'")
                    for w in self._words[j]
                    for m in re.finditer(re.escape(w), texts[i], re.IGNORECASE)
                ),
                key=lambda e: e.start,
            )
            for i, j in pairs
        ]

    def evidence(self, text: str, code: str, role=None) -> list[Evidence]:
        return self.batch_evidence([text], None, [(0, code_index(self.codes, code))])[0]

    def get_state(self) -> dict:
        return {"thresholds": self.thresholds_}

    def set_state(self, state: dict) -> LabelWords:
        self.thresholds_ = np.asarray(state["thresholds"], dtype=float)
        return self
