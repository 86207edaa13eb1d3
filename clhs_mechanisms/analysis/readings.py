"""How a codebook hypothesis is read on the codings: which units have its mechanism, its outcome and
its contrast, and which case (participant) each unit belongs to.

- **mechanism** side: a unit has it when any mechanism code is present; when the note calls
  the mechanism side a *conjunction*, the mechanism codes the note names are all required and
  the others are "at least one of" (H1: moa_enabling_inherent_motivation together with at
  least one ppi_ code).
- **outcome** side: any outcome code present.
- **contrast** codes stand in for the outcome side unless the note says the mechanism side, or
  (no word in the note) they share a domain with the mechanism codes and none with the outcome
  codes; ``hypotheses`` describes the contrast test.
- **modifier filters**: a note (before "Left out") that names a code, one of the codebook's
  modifiers and values of it ("act_engagement_depth with engagement_level produce or lead",
  "Restrict com_create_contribute to originator patient_family") counts that code only in codings
  with one of those values; a flag named alone ("use the cx flag") applies to the outcome codes
  it may be set on. The filtered code is the unit column ``code[modifier=value|value]``. A filter
  on a code none of whose codings carries the modifier is not applied, and the reading's
  ``caveat`` says so.
- **cases**: a unit's case is its document's case (a document without a case is its own case);
  the cases are the clusters of the clustered tests (``clustered``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ClhsError
from ..modifiers import Modifier, as_dict, modifiers_of
from .clustered import ClusterTables, cluster_tables, unit_cases
from .units import Incidence, incidence, require_codings, select_coders


@dataclass
class Reading:
    """One hypothesis read on its unit's incidence: the units with each side, and the contrast groups
    (``g1``: outcome-only or mechanism-only units, ``g2``: contrast-only units, ``target``: the
    other side)."""

    h: Any
    mechanism: str
    mech: np.ndarray
    outc: np.ndarray
    side: str = ""
    g1: np.ndarray | None = None
    g2: np.ndarray | None = None
    target: np.ndarray | None = None
    names: dict[str, str] = field(default_factory=dict)  # code -> its filtered unit column
    caveat: str = ""

    def name(self, code: str) -> str:
        """The unit column standing for ``code`` (filtered by modifiers, if the note asks)."""
        return self.names.get(code, code)

    def names_of(self, codes: Sequence[str]) -> str:
        return ", ".join(self.name(c) for c in codes)


@dataclass(frozen=True)
class Filter:
    """Count ``code`` only in codings whose ``modifier`` has one of ``values``."""

    code: str
    modifier: str
    values: tuple[str, ...]
    flag: bool = False  # a flag (cx): unset means "no", so codings without it are not a gap

    @property
    def name(self) -> str:
        return f"{self.code}[{self.modifier}={'|'.join(self.values)}]"


@dataclass
class Prepared:
    """Hypotheses read on their units, with each unit's case (an index into ``cases``) per unit kind
    and whether cases hold several units (``design``: within) or one (between)."""

    readings: list[Reading]
    incidences: dict[str, Incidence]
    codes: dict[str, UnitCodes]
    cluster: dict[str, np.ndarray]
    cases: pd.Index
    design: dict[str, str]

    def tables(
        self, r: Reading, mask: np.ndarray | None = None
    ) -> tuple[ClusterTables, ClusterTables | None]:
        """Per-case counts of the main 2x2 table and of the contrast table (None without contrast)."""
        cl, K = self.cluster[r.h.unit], len(self.cases)
        main = cluster_tables(r.mech, r.outc, cl, K, mask)
        if not r.side:
            return main, None
        keep = (r.g1 | r.g2) if mask is None else (r.g1 | r.g2) & mask
        return main, cluster_tables(r.g1, r.target, cl, K, keep)


def mechanism_rule(h: Any) -> tuple[list[str], list[str]]:
    """(required codes, any-of codes) of the mechanism side (see the module docstring)."""
    note = (h.note or "").lower()
    if "conjunction" in note:
        named = [c for c in h.mechanism if re.search(rf"\b{re.escape(c.lower())}\b", note)]
        if named and len(named) < len(h.mechanism):
            return named, [c for c in h.mechanism if c not in named]
        return list(h.mechanism), []
    return [], list(h.mechanism)


def _domain(code: str, codebook: Any) -> str:
    if codebook is not None and code in codebook:
        return codebook.code(code).domain
    return code.split("_", 1)[0]


def contrast_side(h: Any, codebook: Any = None) -> str | None:
    """Which side the contrast codes stand in for: ``outcome``, ``mechanism`` or None (no contrast)."""
    if not h.contrast:
        return None
    note = (h.note or "").lower()
    if re.search(r"stands? in for the mechanism", note):
        return "mechanism"
    if re.search(r"stands? in for the outcome", note):
        return "outcome"
    cd = {_domain(c, codebook) for c in h.contrast}
    md = {_domain(c, codebook) for c in h.mechanism}
    od = {_domain(c, codebook) for c in h.outcome}
    return "mechanism" if cd & md and not cd & od else "outcome"


class UnitCodes:
    """Which units of one incidence carry each code (dense columns, each built once)."""

    def __init__(self, inc: Incidence) -> None:
        self.matrix, self.n = inc.matrix.tocsc(), inc.n_units
        self.index = {c: i for i, c in enumerate(inc.codes)}
        self.cache: dict[str, np.ndarray] = {}

    def has(self, code: str) -> np.ndarray:
        if code not in self.cache:
            col = np.zeros(self.n, dtype=bool)
            if code in self.index:
                i = self.index[code]
                col[self.matrix.indices[self.matrix.indptr[i] : self.matrix.indptr[i + 1]]] = True
            self.cache[code] = col
        return self.cache[code]

    def column(self, codes: Sequence[str], how: str) -> np.ndarray:
        """Units with ``all`` or ``any`` of ``codes`` (all of none: every unit; any of none: no unit)."""
        if not codes:
            return np.full(self.n, how == "all")
        cols = [self.has(c) for c in codes]
        return np.logical_and.reduce(cols) if how == "all" else np.logical_or.reduce(cols)


MODIFIER_WORDS = ("valence", "originator", "engagement_level", "cx flag", "cx-flag", "modifier")


def _mentions(m: Modifier) -> str:
    """A regex for the ways a note names modifier ``m`` (its id, with spaces, or its label)."""
    forms = {m.id, m.id.replace("_", " "), m.label.lower()}
    return "|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True))


def _sentence_filters(h: Any, sentence: str, mods: dict[str, Modifier], codebook: Any) -> list[Filter]:
    """The filters one sentence of a note asks for: the code named last before the modifier, with
    the values listed after it; a flag named alone applies to the outcome codes that take it."""
    places = {c: re.search(rf"\b{re.escape(c)}\b", sentence) for c in (*h.mechanism, *h.outcome, *h.contrast)}
    out = []
    for m in mods.values():
        vals = "|".join(re.escape(v) for v in m.values)
        listed = re.search(
            rf"\b(?:{_mentions(m)})\s+((?:{vals})(?:\s*(?:,|or|and)\s*(?:{vals}))*)\b", sentence
        )
        flag = re.search(rf"\b(?:{_mentions(m)})[ -]flag", sentence) if m.flag else None
        found = listed or flag
        if found is None:
            continue
        named = sorted((p.start(), c) for c, p in places.items() if p and p.start() < found.start())
        named = [c for _, c in named if m.applies(codebook, c)]
        values = m.values
        if listed:
            values = tuple(v for v in m.values if re.search(rf"\b{re.escape(v)}\b", listed.group(1)))
        targets = named[-1:] if named else [c for c in h.outcome if flag and m.applies(codebook, c)]
        out += [Filter(c, m.id, values, m.flag) for c in targets]
    return out


def modifier_filters(h: Any, codebook: Any) -> list[Filter]:
    """The modifier filters ``h``'s note asks for (see the module docstring); none without a codebook."""
    mods = modifiers_of(codebook) if codebook is not None else {}
    note = re.split(r"left out", (h.note or "").lower())[0]
    if not mods or not note:
        return []
    return [
        f
        for sentence in re.split(r"(?<=[.;:])\s+", note)
        for f in _sentence_filters(h, sentence, mods, codebook)
    ]


def _filtered(
    codings: pd.DataFrame, filters: Sequence[Filter]
) -> tuple[pd.DataFrame, set[Filter], dict[Filter, str]]:
    """``codings`` plus, for each filter the data carry, copies of the matching codings under the
    filter's name; the filters applied; a caveat per filter (empty when it applies fully)."""
    extra, applied, caveats = [], set(), {}
    for f in dict.fromkeys(filters):
        rows = codings[codings["code"] == f.code]
        mods = list(rows["modifiers"].map(as_dict)) if "modifiers" in rows.columns else [{}] * len(rows)
        has = np.array([f.modifier in m for m in mods], dtype=bool)
        if len(rows) and not has.any():
            caveats[f] = (
                f"modifier {f.modifier} not coded in these data for {f.code}; tested without the filter"
            )
            continue
        caveats[f] = ""
        if not has.all() and not f.flag:
            caveats[f] = (
                f"{f.modifier} set on {has.sum()} of {len(rows)} {f.code} codings; the others do not count"
            )
        keep = np.array([m.get(f.modifier) in f.values for m in mods], dtype=bool)
        extra.append(rows[keep].assign(code=f.name))
        applied.add(f)
    return (pd.concat([codings, *extra], ignore_index=True) if extra else codings), applied, caveats


def _read(h: Any, units: UnitCodes, codebook: Any, names: dict[str, str] | None = None) -> Reading:
    """The units with the mechanism, the outcome and the contrast groups of one hypothesis, each code
    read as its column in ``names`` (modifier filters) if it has one."""
    names = names or {}
    required, any_of = ([names.get(c, c) for c in side] for side in mechanism_rule(h))
    mech = units.column(required, "all") & (units.column(any_of, "any") if any_of else True)
    words = " AND ".join(required) + (" AND any of " if required and any_of else "") + ", ".join(any_of)
    outcome = [names.get(c, c) for c in h.outcome]
    r = Reading(h, words if required else "any of " + ", ".join(any_of), mech, units.column(outcome, "any"))
    r.names = names
    side = contrast_side(h, codebook)
    if side:
        contr = units.column([names.get(c, c) for c in h.contrast], "any")
        other, target = (r.outc, r.mech) if side == "outcome" else (r.mech, r.outc)
        r.side, r.g1, r.g2, r.target = side, other & ~contr, contr & ~other, target
    return r


def prepare(
    codings: pd.DataFrame,
    segments: pd.DataFrame | None,
    documents: pd.DataFrame | None,
    hypotheses: Sequence[Any],
    *,
    codebook: Any = None,
    coders: Sequence[str] | None = None,
) -> Prepared:
    """Read every hypothesis on its unit and find each unit's case (see ``evaluate_hypotheses``)."""
    require_codings(codings)
    if coders:
        codings = select_coders(codings, coders)
    if not hypotheses:
        raise ClhsError("the codebook has no hypotheses")
    filters = {h.id: modifier_filters(h, codebook) for h in hypotheses}
    codings, applied, caveats = _filtered(codings, [f for fs in filters.values() for f in fs])
    incs: dict[str, Incidence] = {}
    for h in hypotheses:
        if h.unit not in incs:
            incs[h.unit] = incidence(codings, segments, documents, unit=h.unit)
    names = {u: unit_cases(u, inc.units, documents, codings) for u, inc in incs.items()}
    if "case" in incs and len(names["case"]) < 2:
        ids = ", ".join(h.id for h in hypotheses if h.unit == "case")
        raise ClhsError(
            f"hypothesis {ids} is tested on cases, but all codings come from one case "
            f"({names['case'][0]}): a case-level test needs at least two cases"
        )
    cases = pd.Index(pd.unique(np.concatenate(list(names.values()))), dtype=object)
    cluster = {u: cases.get_indexer(n) for u, n in names.items()}
    design = {u: "within" if np.bincount(c).max() > 1 else "between" for u, c in cluster.items()}
    codes = {u: UnitCodes(inc) for u, inc in incs.items()}
    readings = []
    for h in hypotheses:
        readings.append(
            _read(h, codes[h.unit], codebook, {f.code: f.name for f in filters[h.id] if f in applied})
        )
        readings[-1].caveat = _caveat(h, codebook, [caveats[f] for f in filters[h.id]])
    return Prepared(readings, incs, codes, cluster, cases, design)


def _caveat(h: Any, codebook: Any, texts: list[str]) -> str:
    """What the reading of ``h`` could not do as its note asks (modifier filters)."""
    note = re.split(r"left out", (h.note or "").lower())[0]
    if codebook is None and any(w in note for w in MODIFIER_WORDS):
        return "the note asks for modifier filters, which need the codebook (codebook=): tested without them"
    return "; ".join(t for t in dict.fromkeys(texts) if t)
