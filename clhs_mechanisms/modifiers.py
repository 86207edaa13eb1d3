"""Coding modifiers: the values a codebook's ``conventions.modifiers`` let a coding carry.

A modifier (valence, cx, engagement level, originator, ...) has an id, the values it may take
and ``applies_to``: code ids, domain ids or ``all``. A coding's modifiers are a dict of modifier
id -> value, stored as text (a flag's ``true`` as ``"true"``). Used by the store (validation),
the exchange formats and the hypotheses (filters).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .codebook import Codebook, unknown_code_message
from .errors import ClhsError


@dataclass(frozen=True)
class Modifier:
    """One modifier of the codebook's conventions."""

    id: str
    label: str
    values: tuple[str, ...]
    applies_to: tuple[str, ...]
    description: str = ""

    def applies(self, codebook: Codebook, code_id: str) -> bool:
        """Whether the modifier may be set on codings of ``code_id`` (a code, its domain, or all)."""
        if "all" in self.applies_to or code_id in self.applies_to:
            return True
        return code_id in codebook and codebook.code(code_id).domain in self.applies_to

    @property
    def flag(self) -> bool:
        """A modifier with a single value (cx): unset means "no"."""
        return len(self.values) == 1


def value_text(value: Any) -> str:
    """A modifier value as stored: ``True`` -> ``"true"``, anything else as its text."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def modifiers_of(codebook: Codebook) -> dict[str, Modifier]:
    """The codebook's modifiers by id, in the codebook's order."""
    out = {}
    for m in (codebook.conventions or {}).get("modifiers") or []:
        out[m["id"]] = Modifier(
            m["id"],
            m.get("label") or m["id"],
            tuple(value_text(v) for v in m.get("values") or ()),
            tuple(m.get("applies_to") or ()),
            " ".join(str(m.get("description") or "").split()),
        )
    return out


def applicable(codebook: Codebook, code_id: str) -> list[Modifier]:
    """The modifiers a coding of ``code_id`` may carry."""
    return [m for m in modifiers_of(codebook).values() if m.applies(codebook, code_id)]


def check_modifiers(codebook: Codebook, code_id: str, values: Mapping[str, Any]) -> dict[str, str | None]:
    """``values`` validated for a coding of ``code_id`` and normalised to text (None stays None: it
    removes the modifier). An unknown modifier, a value the modifier does not define, or a modifier
    that does not apply to the code raises ClhsError naming them."""
    if not isinstance(values, Mapping):
        raise ClhsError(f"modifiers of '{code_id}' must be an object of modifier -> value, not {values!r}")
    if code_id not in codebook:
        raise ClhsError(unknown_code_message(code_id, codebook.code_ids))
    known = modifiers_of(codebook)
    out: dict[str, str | None] = {}
    for key, raw in values.items():
        m = known.get(key)
        if m is None:
            have = ", ".join(known) or "none"
            raise ClhsError(f"unknown modifier '{key}' (the codebook's modifiers: {have})")
        if not m.applies(codebook, code_id):
            raise ClhsError(
                f"modifier '{key}' does not apply to code '{code_id}' "
                f"(it applies to: {', '.join(m.applies_to)})"
            )
        if raw is None:
            out[key] = None
            continue
        value = value_text(raw)
        if value not in m.values:
            raise ClhsError(
                f"modifier '{key}' has no value '{value}' for code '{code_id}' "
                f"(values: {', '.join(m.values)})"
            )
        out[key] = value
    return out


def dump(values: Mapping[str, str]) -> str:
    """The stored JSON text of a coding's modifiers (keys sorted, so equal dicts are equal text)."""
    return json.dumps(dict(sorted(values.items())), ensure_ascii=False)


def as_dict(value: Any) -> dict[str, str]:
    """A codings table's ``modifiers`` cell as a dict: a dict, its JSON text, or empty (None, NaN, "")."""
    if isinstance(value, Mapping):
        return {str(k): value_text(v) for k, v in value.items() if v is not None}
    if isinstance(value, str) and value.strip():
        return as_dict(json.loads(value))
    if value is None or (isinstance(value, float) and math.isnan(value)) or value == "":
        return {}
    raise ClhsError(f"modifiers must be a dict of modifier -> value, not {value!r}")
