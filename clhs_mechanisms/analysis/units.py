"""Coding units: which codes are present in which unit, as a sparse unit x code matrix.

Every analysis starts from three plain tables (pandas DataFrames), so the functions work
the same on a project, on an export, or on data built in a notebook:

- **codings**: one row per coding: ``document``, ``code``, ``coder``, ``start``, ``end``
  (code-point offsets, end-exclusive); extra columns are ignored.
- **segments**: one row per segment: ``document``, ``start``, ``end``; ``turn`` (speaker
  turn index) for turn units; ``idx`` (reading order), ``text`` and ``codable`` if known.
- **documents**: one row per document: ``name``, ``case`` (participant, may be empty) and
  ``attributes`` (a dict per row); used for case units and attribute strata.

``Frames.from_project(project)`` builds all three from a :class:`~clhs_mechanisms.store.Project`.

Units (``unit=``):

- ``segment``: a coding counts in every segment its span overlaps (at least one character);
- ``turn``: a speaker turn (all segments of one turn);
- ``document``: a whole document;
- ``case``: a participant (all documents of one case; a document without a case is its own case);
- ``window``: sliding windows of ``window + 1`` consecutive segments of a document, so two codes
  co-occur when they are at most ``window`` segments apart (a shorter document is one window).

The unit universe is every codable segment (turn, document, case) of the documents in scope
plus every unit that carries a coding; by default the documents in scope are those with at
least one coding by the selected coders, so uncoded documents do not dilute the unit count N.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..errors import ClhsError

UNITS = ("segment", "turn", "document", "case", "window")  # units of an incidence matrix
COOCCURRENCE_UNITS = UNITS + ("span",)  # span: codings whose spans are related, no unit count
PAIR_UNITS = tuple(u for u in UNITS if u != "case")  # where saturation counts code pairs
AGREEMENT_UNITS = ("segment", "turn", "document", "character")  # character: every character, as NVivo does
SPAN_RELATIONS = ("overlap", "inclusion", "exact")
CODING_COLUMNS = ("document", "code", "start", "end")


@dataclass(frozen=True)
class Frames:
    """The three input tables of every analysis function."""

    codings: pd.DataFrame
    segments: pd.DataFrame
    documents: pd.DataFrame

    @classmethod
    def from_project(cls, project: Any, *, coders: Sequence[str] | None = None) -> Frames:
        """Active codings, current segments and documents of ``project`` (optionally some coders only)."""
        codings = project.codings()
        if coders:
            codings = select_coders(codings, coders)
        return cls(codings, project.segments(), project.documents())


def require_columns(df: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ClhsError(f"{what} table lacks column(s) {', '.join(missing)}")


def require_codings(codings: pd.DataFrame) -> None:
    """A clear message instead of a division by zero when nothing is coded yet."""
    require_columns(codings, CODING_COLUMNS, "codings")
    if len(codings) == 0:
        raise ClhsError(
            "there are no codings to analyse: code some documents or accept suggestions first",
            hint="clhs import adds documents",
        )


def select_coders(codings: pd.DataFrame, coders: Sequence[str]) -> pd.DataFrame:
    """The codings of ``coders`` only; an unknown coder or one without codings is a user error."""
    require_columns(codings, ("coder",), "codings")
    known = pd.unique(codings["coder"])
    for name in coders:
        if name not in set(known):
            have = ", ".join(sorted(map(str, known))) or "none"
            raise ClhsError(f"coder '{name}' has no codings (coders with codings: {have})")
    return codings[codings["coder"].isin(list(coders))]


def check_codes(codings: pd.DataFrame | Sequence[str], codes: Sequence[str] | None) -> list[str]:
    """The codes to analyse: ``codes`` if given (each must be used), else every code used, sorted.

    ``codings`` is the codings table or the list of codes it uses.
    """
    used = set(pd.unique(codings["code"])) if isinstance(codings, pd.DataFrame) else set(codings)
    if codes is None:
        return sorted(used)
    codes = list(dict.fromkeys(codes))
    for code in codes:
        if code not in used:
            raise ClhsError(
                f"code '{code}' is never used in these codings, so nothing can be computed for it"
            )
    return codes


def factor(values: pd.Series | np.ndarray, categories: pd.Index) -> np.ndarray:
    """Position of each value in ``categories`` (-1 if absent); fast on long columns of few distinct
    values."""
    codes, uniques = pd.factorize(values)
    mapping = np.append(categories.get_indexer(uniques), -1).astype(np.int64)
    return mapping[codes]  # code -1 (missing value) picks the appended -1


def sorted_unique(x: np.ndarray) -> np.ndarray:
    """np.unique for integer arrays by sorting (much faster than hashing for millions of values)."""
    s = np.sort(x, kind="stable")
    return s[np.r_[True, s[1:] != s[:-1]]] if len(s) else s


def group(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sort-based grouping: (unique keys, index of each group's first element, group of each element)."""
    order = np.argsort(keys, kind="stable")
    sk = keys[order]
    starts = np.r_[True, sk[1:] != sk[:-1]] if len(sk) else np.zeros(0, dtype=bool)
    gid_sorted = np.cumsum(starts) - 1
    inverse = np.empty(len(keys), dtype=np.int64)
    inverse[order] = gid_sorted
    return sk[starts], order[starts], inverse


def documents_in_scope(
    codings: pd.DataFrame, segments: pd.DataFrame | None, scope: str | Sequence[str] = "coded"
) -> pd.Index:
    """Documents whose units are counted: ``coded`` (any coding), ``all``, or an explicit list."""
    if isinstance(scope, str):
        coded = list(pd.factorize(codings["document"])[1])
        if scope == "coded":
            return pd.Index(coded, dtype=object)
        if scope == "all":
            docs = coded + (list(pd.factorize(segments["document"])[1]) if segments is not None else [])
            return pd.Index(list(dict.fromkeys(docs)), dtype=object)
        raise ClhsError(f"unknown document scope '{scope}' (use coded, all or a list of document names)")
    return pd.Index(list(dict.fromkeys(scope)), dtype=object)


def reviewed_segments(
    segments: pd.DataFrame, codings: pd.DataFrame, decided: Iterable[str] = ()
) -> pd.DataFrame:
    """The segments a coder has looked at: those a coding touches and those whose suggestion was
    decided (segment ids in ``decided``). As the unit universe, N grows only with what people review,
    not by every segment of a document in which someone reviewed one suggestion."""
    require_columns(segments, ("id", "document", "start", "end"), "segments")
    keep = segments["id"].isin(set(decided)).to_numpy().copy()
    by_doc = {doc: group for doc, group in codings[["document", "start", "end"]].groupby("document")}
    for doc, rows in segments.groupby("document").indices.items():
        spans = by_doc.get(doc)
        if spans is None:
            continue
        s = segments["start"].to_numpy()[rows][:, None]
        e = segments["end"].to_numpy()[rows][:, None]
        touched = ((spans["start"].to_numpy()[None, :] < e) & (spans["end"].to_numpy()[None, :] > s)).any(
            axis=1
        )
        keep[rows] |= touched
    return segments[keep]


def map_spans_to_segments(
    doc: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    seg_doc: np.ndarray,
    seg_start: np.ndarray,
    seg_end: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Every (span, segment) pair whose ranges share at least one character.

    ``doc``/``seg_doc`` are integer document indexes; segments of one document must not
    overlap each other. Vectorised: each span's first and last overlapping segment come from
    two binary searches over the segments sorted by (document, start). Returns
    ``(span_row, segment_row)`` arrays (segment rows refer to the input order).
    """
    stride = int(max(seg_end.max(initial=0), end.max(initial=0))) + 1
    gs = seg_doc.astype(np.int64) * stride + seg_start
    ge = seg_doc.astype(np.int64) * stride + seg_end
    if np.all(gs[1:] >= gs[:-1]):
        order = np.arange(len(gs))
    else:
        order = np.argsort(gs, kind="stable")
        gs, ge = gs[order], ge[order]
    if len(gs) > 1 and np.any(gs[1:] < ge[:-1]):
        raise ClhsError("segments of one document overlap each other; cannot map codings to segments")
    cs = doc.astype(np.int64) * stride + start
    ce = doc.astype(np.int64) * stride + end
    # sorted needles make the binary searches cache-friendly (codings from the store come sorted)
    by_start = np.arange(len(cs)) if np.all(cs[1:] >= cs[:-1]) else np.argsort(cs, kind="stable")
    first = np.searchsorted(ge, cs[by_start], side="right")  # first segment ending after the span starts
    last = np.searchsorted(gs, ce[by_start], side="left")  # one past the last segment starting before it ends
    count = np.maximum(last - first, 0)
    if np.all(count == 1):
        return by_start, order[first]
    starts = np.cumsum(count) - count
    offsets = np.arange(int(count.sum())) - np.repeat(starts, count)
    return np.repeat(by_start, count), order[np.repeat(first, count) + offsets]


@dataclass
class Incidence:
    """Which codes are present in which unit: a sparse 0/1 matrix plus the unit table.

    ``units`` has one row per unit with ``document`` (for case units: the case), ``key``
    (segment index, turn index or first segment of a window; -1 otherwise), ``cluster``
    (the document, or the case for case units: what a bootstrap resamples and a
    permutation stays within) and, for segment-based units,
    ``start``/``end`` of the unit in its document.
    """

    unit: str
    matrix: sp.csr_matrix
    codes: list[str]
    units: pd.DataFrame
    codings_outside: int = 0

    @property
    def n_units(self) -> int:
        return self.matrix.shape[0]

    def frequencies(self) -> np.ndarray:
        return np.asarray(self.matrix.sum(axis=0)).ravel()


def _binary_csr(rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int]) -> sp.csr_matrix:
    """A 0/1 CSR matrix with a one at each (row, col); repeated pairs count once."""
    key = sorted_unique(rows.astype(np.int64) * shape[1] + cols)
    r, c = np.divmod(key, shape[1])
    indptr = np.zeros(shape[0] + 1, dtype=np.int64)
    indptr[1:] = np.cumsum(np.bincount(r, minlength=shape[0]))
    return sp.csr_matrix((np.ones(len(key), dtype=np.int32), c.astype(np.int32), indptr), shape=shape)


def _case_of(documents: pd.DataFrame | None, codings: pd.DataFrame) -> dict[str, str]:
    """Document name -> case name (a document without a case is its own case)."""
    mapping: dict[str, str] = {}
    if documents is not None and "case" in documents.columns:
        name_col = "name" if "name" in documents.columns else "document"
        for name, case in zip(documents[name_col], documents["case"]):
            mapping[name] = case if isinstance(case, str) and case else name
    elif "case" in codings.columns:
        for name, case in zip(codings["document"], codings["case"]):
            mapping[name] = case if isinstance(case, str) and case else name
    return mapping


@dataclass
class Assignment:
    """Which coding touches which unit: ``coding_rows[i]`` (a position in the codings table)
    touches ``unit_rows[i]`` (a row of ``units``, laid out as in :class:`Incidence`)."""

    unit: str
    units: pd.DataFrame
    coding_rows: np.ndarray
    unit_rows: np.ndarray
    documents: pd.Index
    coding_documents: np.ndarray  # each coding's position in ``documents`` (-1: out of scope)


def _turn_units(
    turn: np.ndarray,
    seg_doc: np.ndarray,
    seg_start: np.ndarray,
    seg_end: np.ndarray,
    order: np.ndarray,
    doc_cat: pd.Categorical,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Turn units from the segments in reading ``order``, and each segment's turn unit (-1: not usable)."""
    key = seg_doc[order] * (int(turn.max(initial=0)) + 1) + turn[order]
    ukey, first_pos, u_of_ordered = group(key)
    u_of_seg = np.full(len(seg_doc), -1, dtype=np.int64)
    u_of_seg[order] = u_of_ordered
    starts = np.full(len(ukey), np.iinfo(np.int64).max)
    ends = np.zeros(len(ukey), dtype=np.int64)
    np.minimum.at(starts, u_of_ordered, seg_start[order])
    np.maximum.at(ends, u_of_ordered, seg_end[order])
    table = pd.DataFrame(
        {
            "document": doc_cat[first_pos],
            "key": turn[order][first_pos],
            "start": starts,
            "end": ends,
            "cluster": seg_doc[order][first_pos],
        }
    )
    return table, u_of_seg


def _coding_documents(
    codings: pd.DataFrame, segments: pd.DataFrame | None, scope: str | Sequence[str]
) -> tuple[pd.Index, np.ndarray]:
    """The documents in scope, and each coding's position among them (-1: out of scope)."""
    doc_idx, doc_uniques = pd.factorize(codings["document"])
    if isinstance(scope, str) and scope == "coded":
        return pd.Index(doc_uniques, dtype=object), doc_idx.astype(np.int64)
    docs = documents_in_scope(codings, segments, scope)
    return docs, np.append(docs.get_indexer(doc_uniques), -1).astype(np.int64)[doc_idx]


def _window_units(
    window: int,
    ordered_doc: np.ndarray,
    pos: np.ndarray,
    ordered_idx: np.ndarray,
    ordered_start: np.ndarray,
    ordered_end: np.ndarray,
    doc_cat: pd.Categorical,
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Window units from the usable segments in reading order (``ordered_*``), and where codings fall.

    Windows are ``window + 1`` consecutive segments of one document (a shorter document is one
    window), so a segment belongs to up to ``window + 1`` of them. ``pos``: the reading-order
    position of each segment a coding touches. Returns the units table, how many windows each
    touched segment lies in, and those windows' rows (concatenated in the order of ``pos``).
    """
    if window < 0:
        raise ClhsError("the proximity window must be 0 or more segments")
    if len(ordered_doc) == 0:
        raise ClhsError("no segments in the documents in scope")
    bounds = np.flatnonzero(np.r_[True, ordered_doc[1:] != ordered_doc[:-1], True])
    lo, hi = bounds[:-1], bounds[1:]
    n_win = np.maximum(1, hi - lo - window)
    base = np.cumsum(n_win) - n_win
    doc_of_pos = np.repeat(np.arange(len(lo)), hi - lo)
    firsts = np.repeat(lo, n_win) + (np.arange(n_win.sum()) - np.repeat(base, n_win))
    lasts = np.minimum(firsts + window, np.repeat(hi, n_win) - 1)
    d = doc_of_pos[pos]
    w_lo = np.maximum(lo[d], pos - window)
    w_hi = np.minimum(pos, lo[d] + n_win[d] - 1)
    count = np.maximum(w_hi - w_lo + 1, 0)
    offsets = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
    window_rows = np.repeat(base[d] + (w_lo - lo[d]), count) + offsets
    table = pd.DataFrame(
        {
            "document": doc_cat[firsts],
            "key": ordered_idx[firsts],
            "start": ordered_start[firsts],
            "end": ordered_end[lasts],
            "cluster": ordered_doc[firsts],
        }
    )
    return table, count, window_rows


def assign_units(
    codings: pd.DataFrame,
    segments: pd.DataFrame | None = None,
    documents: pd.DataFrame | None = None,
    *,
    unit: str = "segment",
    window: int = 1,
    scope: str | Sequence[str] = "coded",
    codable_only: bool = True,
) -> Assignment:
    """Map every coding of the documents in scope to the units it touches (see the module docstring)."""
    if unit not in UNITS:
        raise ClhsError(f"unknown unit '{unit}' (use {', '.join(UNITS)})")
    docs, cod_doc = _coding_documents(codings, segments, scope)
    live = np.flatnonzero(cod_doc >= 0)
    if unit in ("document", "case"):
        a = _document_assignment(codings, docs, documents, unit, live, cod_doc[live])
        a.coding_documents = cod_doc
        return a
    if segments is None:
        raise ClhsError(f"{unit} units need the segments table")
    require_columns(
        segments, ("document", "start", "end") + (("turn",) if unit == "turn" else ()), "segments"
    )
    seg_doc_all = factor(segments["document"], docs)
    in_scope = seg_doc_all >= 0
    seg_doc = seg_doc_all[in_scope]
    seg_start = segments["start"].to_numpy(np.int64)[in_scope]
    seg_end = segments["end"].to_numpy(np.int64)[in_scope]
    seg_idx = (
        segments["idx"].to_numpy(np.int64)[in_scope]
        if "idx" in segments.columns
        else np.arange(int(in_scope.sum()))
    )
    c_start, c_end = codings["start"].to_numpy(np.int64)[live], codings["end"].to_numpy(np.int64)[live]
    span_rows, seg_rows = map_spans_to_segments(cod_doc[live], c_start, c_end, seg_doc, seg_start, seg_end)
    span_rows = live[span_rows]
    usable = np.ones(len(seg_doc), dtype=bool)
    if codable_only and "codable" in segments.columns:
        usable = segments["codable"].to_numpy(dtype=bool)[in_scope].copy()
        usable[seg_rows] = True
    gkey = seg_doc * (int(seg_end.max(initial=0)) + 1) + seg_start
    order = np.arange(len(gkey)) if np.all(gkey[1:] >= gkey[:-1]) else np.argsort(gkey, kind="stable")
    order = order[usable[order]]
    position = np.full(len(seg_doc), -1, dtype=np.int64)
    position[order] = np.arange(len(order))
    doc_cat = pd.Categorical.from_codes(seg_doc[order], categories=docs)
    if unit == "segment":
        table = pd.DataFrame(
            {
                "document": doc_cat,
                "key": seg_idx[order],
                "start": seg_start[order],
                "end": seg_end[order],
                "cluster": seg_doc[order],
            }
        )
        return Assignment(unit, table, span_rows, position[seg_rows], docs, cod_doc)
    if unit == "turn":
        turn = segments["turn"].to_numpy(np.int64)[in_scope]
        table, u_of_seg = _turn_units(turn, seg_doc, seg_start, seg_end, order, doc_cat)
        return Assignment(unit, table, span_rows, u_of_seg[seg_rows], docs, cod_doc)
    table, count, window_rows = _window_units(
        window, seg_doc[order], position[seg_rows], seg_idx[order], seg_start[order], seg_end[order], doc_cat
    )
    return Assignment(unit, table, np.repeat(span_rows, count), window_rows, docs, cod_doc)


def incidence(
    codings: pd.DataFrame,
    segments: pd.DataFrame | None = None,
    documents: pd.DataFrame | None = None,
    *,
    unit: str = "segment",
    window: int = 1,
    codes: Sequence[str] | None = None,
    scope: str | Sequence[str] = "coded",
    codable_only: bool = True,
) -> Incidence:
    """The unit x code incidence matrix (1 = at least one coding of the code touches the unit).

    Codings by several coders are pooled (a code is present when any of them applied it);
    select coders first (``select_coders``) to analyse one coder. Codes default to every code
    used; an explicit code never used is a user error.
    """
    require_codings(codings)
    code_idx, code_uniques = pd.factorize(codings["code"])
    code_list = check_codes(list(code_uniques), codes)
    code_map = np.append(pd.Index(code_list, dtype=object).get_indexer(code_uniques), -1).astype(np.int64)
    cod_code = code_map[code_idx]
    a = assign_units(
        codings, segments, documents, unit=unit, window=window, scope=scope, codable_only=codable_only
    )
    codes_of = cod_code[a.coding_rows]
    valid = (codes_of >= 0) & (a.unit_rows >= 0)
    touched = np.bincount(a.coding_rows[valid], minlength=len(codings)) > 0
    outside = int(((a.coding_documents >= 0) & (cod_code >= 0) & ~touched).sum())
    matrix = _binary_csr(a.unit_rows[valid], codes_of[valid], (len(a.units), len(code_list)))
    return Incidence(unit, matrix, code_list, a.units, outside)


def unit_labels(inc: Incidence, rows: np.ndarray | None = None) -> list[str]:
    """Readable unit names: ``doc#3`` (segment 3), ``doc#turn2``, ``doc#w3-5`` (window), ``doc`` or
    ``case``."""
    t = inc.units if rows is None else inc.units.iloc[rows]
    if inc.unit in ("document", "case"):
        return [str(d) for d in t["document"]]
    if inc.unit == "turn":
        return [f"{d}#turn{k}" for d, k in zip(t["document"], t["key"])]
    if inc.unit == "window":
        return [f"{d}#w{k}" for d, k in zip(t["document"], t["key"])]
    return [f"{d}#{k}" for d, k in zip(t["document"], t["key"])]


def _document_assignment(
    codings: pd.DataFrame,
    docs: pd.Index,
    documents: pd.DataFrame | None,
    unit: str,
    live: np.ndarray,
    cod_doc: np.ndarray,
) -> Assignment:
    if unit == "document":
        table = pd.DataFrame(
            {"document": np.asarray(docs, dtype=object), "key": -1, "cluster": np.arange(len(docs))}
        )
        return Assignment(unit, table, live, cod_doc, docs, cod_doc)
    case_of = _case_of(documents, codings)
    case_names = pd.Index(list(dict.fromkeys(case_of.get(d, d) for d in docs)), dtype=object)
    case_of_doc = case_names.get_indexer(pd.Index([case_of.get(d, d) for d in docs], dtype=object))
    table = pd.DataFrame(
        {"document": np.asarray(case_names, dtype=object), "key": -1, "cluster": np.arange(len(case_names))}
    )
    return Assignment(unit, table, live, case_of_doc[cod_doc], docs, cod_doc)


def document_attribute(documents: pd.DataFrame, attribute: str) -> pd.Series:
    """Document name -> value of ``attribute`` (from the ``attributes`` dicts or a column).

    An attribute that no document has is a user error naming the attributes that exist;
    documents without it get ``NaN``.
    """
    name_col = "name" if "name" in documents.columns else "document"
    if attribute in documents.columns and attribute not in ("name", "attributes"):
        values = documents[attribute]
    elif "attributes" in documents.columns:
        values = documents["attributes"].map(lambda a: a.get(attribute) if isinstance(a, dict) else None)
    else:
        values = pd.Series([None] * len(documents))
    values = pd.Series(values.to_numpy(), index=documents[name_col].to_numpy())
    if values.isna().all():
        known: set[str] = set()
        if "attributes" in documents.columns:
            for a in documents["attributes"]:
                if isinstance(a, dict):
                    known.update(a)
        known.update(c for c in documents.columns if c not in ("name", "attributes", "id", "sha256"))
        have = ", ".join(sorted(known)) or "none"
        raise ClhsError(f"no document has the attribute '{attribute}' (attributes: {have})")
    return values
