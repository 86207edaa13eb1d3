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
- **cases**: a unit's case is its document's case (a document without a case is its own case);
  the cases are the clusters of the clustered tests (``clustered``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ClhsError
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


def _read(h: Any, units: UnitCodes, codebook: Any) -> Reading:
    """The units with the mechanism, the outcome and the contrast groups of one hypothesis."""
    required, any_of = mechanism_rule(h)
    mech = units.column(required, "all") & (units.column(any_of, "any") if any_of else True)
    words = " AND ".join(required) + (" AND any of " if required and any_of else "") + ", ".join(any_of)
    r = Reading(h, words if required else "any of " + ", ".join(any_of), mech, units.column(h.outcome, "any"))
    side = contrast_side(h, codebook)
    if side:
        contr = units.column(h.contrast, "any")
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
    readings = [_read(h, codes[h.unit], codebook) for h in hypotheses]
    return Prepared(readings, incs, codes, cluster, cases, design)
