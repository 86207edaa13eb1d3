"""Speaker roles as one vocabulary: projects spell them their own way ("QI lead", "qi_leads",
"Patient (teen)", "Nurse Practitioner"), and a role feature must not depend on the spelling."""

from __future__ import annotations

import re
from collections.abc import Iterable

OTHER = "other"  # no role, or one the model was not trained on and cannot place
_WORD = re.compile(r"[a-z0-9]+")
_SYNONYMS = {
    "leader": "lead",
    "leadership": "lead",
    "mom": "parent",
    "mum": "parent",
    "mother": "parent",
    "father": "parent",
    "dad": "parent",
    "caregiver": "carer",
    "caretaker": "carer",
    "doctor": "physician",
    "md": "physician",
    "gastroenterologist": "physician",
    "rn": "nurse",
    "np": "nurse",
    "investigator": "researcher",
    "scientist": "researcher",
    "adolescent": "teen",
    "teenager": "teen",
    "youth": "teen",
    "qi": "qi",
    "analyst": "analyst",
}
_KEEP = {"analysis", "diabetes", "sickle", "cystic", "fibrosis", "process", "access", "class"}


def _singular(word: str) -> str:
    if word in _KEEP or len(word) <= 3 or word.endswith(("ss", "us", "is")):
        return word
    if word.endswith("ies"):
        return word[:-3] + "y"
    return word[:-1] if word.endswith("s") else word


def role_key(role: str | None) -> str:
    """One spelling of a role: lower case, words joined by ``_``, plurals singular, common
    synonyms folded ("leader" -> "lead", "mother" -> "parent"); words in parentheses go first
    ("patient (teen)" -> "teen_patient"). Empty or missing: :data:`OTHER`."""
    if not role or not role.strip():
        return OTHER
    text = role.lower()
    inner = " ".join(re.findall(r"\(([^)]*)\)", text))
    outer = re.sub(r"\([^)]*\)", " ", text)
    words = [_SYNONYMS.get(w, w) for w in map(_singular, _WORD.findall(f"{inner} {outer}"))]
    return "_".join(words) or OTHER


def place_role(role: str | None, known: Iterable[str]) -> str:
    """The known role key ``role`` stands for: its own key if known, else the known role whose
    words it contains most of (the longest), else :data:`OTHER` ("Head nurse" -> "nurse" when only
    "nurse" is known; "pilot" -> "other")."""
    known = set(known)
    key = role_key(role)
    if key in known:
        return key
    words = set(key.split("_"))
    fits = [k for k in known if k != OTHER and set(k.split("_")) <= words]
    return max(fits, key=lambda k: (len(k.split("_")), k)) if fits else OTHER
