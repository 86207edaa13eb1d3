"""Coding modifiers in REFI-QDA, as a note on the coding: a coding of ``com_governance_norms`` with
``valence=positive`` gets a [Note], referred to from its [Coding], whose first line is
``clhs-mechanisms modifiers of com_governance_norms: valence=positive`` and whose second line names
them by their labels ("Valence: positive").

A note keeps one REFI-QDA coding per coding, as the provenance notes of accepted suggestions do;
child codes would add a coding per modifier, which other programs count as codings and add up
into their parent codes. On import a note in this form on a coding the import writes becomes that
coding's modifiers (checked against the project's codebook), not a memo.
"""

from __future__ import annotations

import re

from ..codebook import Codebook
from ..modifiers import modifiers_of
from ..store import CodingRecord
from .refi_common import derived_guid

MARK = "clhs-mechanisms modifiers of"
_FIRST = re.compile(rf"^{re.escape(MARK)} ([a-z][a-z0-9_]*): (.+)$")


def modifier_notes(
    codebook: Codebook, exported: list[CodingRecord], mods: dict[str, dict[str, str]]
) -> tuple[list[dict], dict[str, str]]:
    """A note per exported coding with modifiers, and coding id -> its note's GUID."""
    known = modifiers_of(codebook)
    notes, refs = [], {}
    for c in exported:
        values = dict(sorted(mods.get(c.id, {}).items()))
        if not values:
            continue
        pairs = "; ".join(f"{k}={v}" for k, v in values.items())
        labels = ". ".join(f"{known[k].label if k in known else k}: {v}" for k, v in values.items())
        guid = derived_guid("modifiers", c.id)
        notes.append(
            {
                "guid": guid,
                "text": f"{MARK} {c.code_id}: {pairs}\n{labels}.",
                "user": c.coder_id,
                "created": c.created_at,
                "modified": c.created_at,
            }
        )
        refs[c.id] = guid
    return notes, refs


def read_modifier_note(text: str) -> dict[str, str] | None:
    """The modifiers a note in this module's form gives (modifier -> value), else None."""
    first = _FIRST.match(text.strip().split("\n", 1)[0])
    if first is None:
        return None
    pairs = [p.partition("=") for p in first.group(2).split(";")]
    if not all(eq and k.strip() and v.strip() for k, eq, v in pairs):
        return None
    return {k.strip(): v.strip() for k, _, v in pairs}
