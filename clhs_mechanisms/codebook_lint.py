"""Codebook lint: smells that are not errors (the codebook loads, but coders may stumble):
too few examples or counterexamples, cues shared or nested between codes, examples that hit
another code's cues."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .codebook import Codebook


@dataclass(frozen=True)
class LintWarning:
    """A codebook smell that is not an error: the codebook loads, but coders may stumble."""

    code: str
    kind: str
    message: str

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


def _norm(cue: str) -> str:
    return " ".join(re.findall(r"[\w'-]+", cue.lower()))


def _contains_phrase(haystack: str, phrase: str) -> bool:
    return bool(phrase) and re.search(rf"(?<![\w'-]){re.escape(phrase)}(?![\w'-])", haystack) is not None


def lint_codebook(
    codebook: Codebook, *, min_examples: int = 3, min_counterexamples: int = 2
) -> list[LintWarning]:
    """Warnings: too few examples, cues shared or nested between codes, examples that hit other codes'
    cues."""
    warnings: list[LintWarning] = []
    cue_owner: dict[str, list[str]] = {}
    for code in codebook.codes:
        if len(code.examples) < min_examples:
            warnings.append(
                LintWarning(code.id, "examples", f"{len(code.examples)} examples (want >= {min_examples})")
            )
        if len(code.counterexamples) < min_counterexamples:
            warnings.append(
                LintWarning(
                    code.id,
                    "counterexamples",
                    f"{len(code.counterexamples)} counterexamples (want >= {min_counterexamples})",
                )
            )
        if not code.cues and not code.patterns:
            warnings.append(
                LintWarning(code.id, "cues", "no cues or patterns: the cue matcher cannot suggest it")
            )
        for cue in {_norm(c) for c in code.cues}:
            cue_owner.setdefault(cue, []).append(code.id)
    for cue, owners in sorted(cue_owner.items()):
        if len(owners) > 1:
            warnings.append(
                LintWarning(owners[0], "duplicate-cue", f"cue '{cue}' also used by {', '.join(owners[1:])}")
            )
    cues = list(cue_owner.items())
    for cue, owners in cues:
        for other, other_owners in cues:
            if cue != other and " " in other and _contains_phrase(other, cue):
                for a in owners:
                    for b in other_owners:
                        if a != b:
                            warnings.append(
                                LintWarning(a, "overlapping-cue", f"cue '{cue}' is inside '{other}' of {b}")
                            )
    for code in codebook.codes:
        for i, example in enumerate(code.examples):
            text = _norm(example)
            hits = sorted(
                {
                    o
                    for cue, owners in cues
                    for o in owners
                    if o != code.id and code.id not in owners and _contains_phrase(text, cue)
                }
            )
            if hits:
                warnings.append(
                    LintWarning(
                        code.id,
                        "example-matches-other",
                        f"examples[{i}] also matches cues of {', '.join(hits)}",
                    )
                )
    return warnings
