"""Why a suggestion was made, in terms a researcher can judge.

For a stored suggestion: (a) the cue phrases and patterns it matched and (b) the few terms that
carried a material share of the classifier's evidence, both as spans of the segment; (c) the
already-coded passages of the same code most like it (codebook examples, gold rows, the project's
own codings), with where each came from; and (d) in plain words how much of the score came from
the surrounding turns rather than from the text itself.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from .errors import ClhsError
from .store import Project
from .suggest.types import Exemplar

COMPONENT_LABELS = {
    "cues": "cue phrases",
    "similarity": "similarity to the code's description",
    "classifier": "classifier",
    "stacked": "text alone (methods combined)",
    "ensemble": "ensemble",
}
HIDDEN_COMPONENTS = ("threshold", "stacked_threshold")


@dataclass(frozen=True)
class Explanation:
    """What is behind one suggestion (see the module docstring)."""

    suggestion_id: str
    code: str
    text: str
    score: float
    threshold: float
    evidence: list[dict]
    components: dict[str, float]
    context: str
    exemplars: list[Exemplar] = field(default_factory=list)


def _logit(p: float) -> float:
    p = min(max(p, 1e-4), 1 - 1e-4)
    return math.log(p / (1 - p))


def context_words(score: float, components: dict[str, float]) -> str:
    """How much of ``score`` came from the surrounding turns, in one sentence.

    The context stage's score is read against its threshold (``threshold``), the text alone
    (``stacked``) against its own (``stacked_threshold``); both as logit distances from the
    threshold, so the difference is what the neighbours added or took away.
    """
    if "stacked" not in components or "stacked_threshold" not in components:
        return "Scored from the text alone."
    alone = _logit(components["stacked"]) - _logit(components["stacked_threshold"])
    final = _logit(score) - _logit(components.get("threshold", 0.5))
    added = final - alone
    if abs(added) < 0.05:
        return "The surrounding turns did not change this score: it rests on the text alone."
    if alone < 0 <= final:
        return (
            f"Suggested because of the surrounding turns: the text alone scores {components['stacked']:.2f}, "
            f"below its threshold of {components['stacked_threshold']:.2f}; the turns around it lift it over."
        )
    if final < 0 <= alone:
        return (
            f"The text alone reaches the threshold ({components['stacked']:.2f} against "
            f"{components['stacked_threshold']:.2f}), but the surrounding turns pull it below."
        )
    share = abs(added) / (abs(alone) + abs(added))
    direction = "raised" if added > 0 else "lowered"
    return (
        f"The surrounding turns {direction} this score; {share:.0%} of its distance from the threshold "
        "comes from them."
    )


def readable_components(components: dict[str, float]) -> dict[str, float]:
    """The component scores under names a reader knows, without the thresholds."""
    return {
        COMPONENT_LABELS.get(name, name): value
        for name, value in components.items()
        if name not in HIDDEN_COMPONENTS
    }


def explain(item: Mapping, *, model=None, role: str | None = None, k: int = 3) -> Explanation:
    """The :class:`Explanation` of a suggestion row (``id``, ``code``, ``text``, ``score``,
    ``components``, ``evidence``, as :meth:`Project.suggestions` gives them); ``model``, if given,
    finds the ``k`` most similar coded passages (speaker ``role`` of the segment)."""
    components = dict(item["components"])
    exemplars = model.exemplars(item["text"], item["code"], role, k) if model is not None and k else []
    return Explanation(
        item["id"],
        item["code"],
        item["text"],
        float(item["score"]),
        float(components.get("threshold", 0.5)),
        list(item["evidence"]),
        components,
        context_words(float(item["score"]), components),
        exemplars,
    )


def explain_suggestion(project: Project, suggestion_id: str, *, k: int = 3) -> Explanation:
    """The :class:`Explanation` of one stored suggestion (pending or decided), with similar coded
    passages from the project's current model (none before the first ``clhs train``)."""
    row = project.suggestions(status=None, ids=[suggestion_id])
    if row.empty:
        raise ClhsError(f"no suggestion '{suggestion_id}' in the project")
    item = row.iloc[0]
    from .assist import current_model_info, load_current_model

    model = load_current_model(project)[0] if k and current_model_info(project) is not None else None
    attributes = project.documents().set_index("name").at[item["document"], "attributes"]
    return explain(
        item, model=model if hasattr(model, "exemplars") else None, role=(attributes or {}).get("role"), k=k
    )
