"""Thematic saturation: new codes (and new code pairs) as documents are added in interview order.

For documents d_1 .. d_n in order, position i reports the codes first seen in d_i, the running
total, and the same for code pairs (two codes in one unit, by default one segment). Saturation
is reached at position i when the ``consecutive`` documents after it add nothing new; the
point is the first such i (Guest, Bunce & Johnson 2006 count new codes per interview; the
run-length rule follows Guest, Namey & Chen 2020). A curve whose last ``consecutive``
documents still add something has not saturated (``None``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..errors import ClhsError
from .units import (
    PAIR_UNITS,
    UNITS,
    Incidence,
    document_attribute,
    incidence,
    require_codings,
    select_coders,
)

ORDER_ATTRIBUTES = ("interview_date", "date")


def document_order(
    documents: pd.DataFrame | None, coded: Sequence[str], order_by: str | None = None
) -> tuple[list[str], str]:
    """Coded documents in interview order, and the order used.

    ``order_by``: an attribute (its values sorted as text, so ISO dates sort correctly), or
    ``name``, or ``imported`` (import time). Default: ``interview_date`` or ``date`` when every
    coded document has one, else import time when known, else name.
    """
    coded = list(dict.fromkeys(coded))
    if documents is None or len(documents) == 0:
        if order_by not in (None, "name"):
            raise ClhsError(f"ordering by '{order_by}' needs the documents table")
        return sorted(coded), "name"
    name_col = "name" if "name" in documents.columns else "document"
    docs = documents[documents[name_col].isin(coded)]
    if order_by is None:
        for attr in ORDER_ATTRIBUTES:
            try:
                values = document_attribute(docs, attr)
            except ClhsError:
                continue
            if values.notna().all():
                order_by = attr
                break
        else:
            order_by = "imported" if "imported_at" in docs.columns else "name"
    if order_by == "name":
        return sorted(coded), "name"
    if order_by == "imported":
        if "imported_at" not in docs.columns:
            raise ClhsError("the documents table has no import times")
        key = dict(zip(docs[name_col], docs["imported_at"]))
        return sorted(coded, key=lambda d: (str(key.get(d, "")), d)), "imported"
    values = document_attribute(documents, order_by)
    missing = [d for d in coded if pd.isna(values.get(d))]
    if missing:
        raise ClhsError(
            f"{len(missing)} coded documents have no '{order_by}' (e.g. {missing[0]}); cannot order them"
        )
    return sorted(coded, key=lambda d: (str(values[d]), d)), order_by


def saturation_point(new_counts: Sequence[int], consecutive: int) -> int | None:
    """The first position i (1-based, i >= 1) such that documents i+1 .. i+consecutive add nothing new."""
    new = np.asarray(new_counts)
    if consecutive < 1:
        raise ClhsError("saturation needs a run of at least one document")
    for i in range(1, len(new) - consecutive + 1):
        if not new[i : i + consecutive].any():
            return i
    return None


def _select_codings(codings: pd.DataFrame, coders: Sequence[str] | None, kind: str | None) -> pd.DataFrame:
    """The codings of ``coders`` in documents of ``kind`` (all of them when not given)."""
    require_codings(codings)
    if coders:
        codings = select_coders(codings, coders)
    if kind is not None:
        if "kind" not in codings.columns:
            raise ClhsError("the codings table has no document kind")
        codings = codings[codings["kind"] == kind]
        if len(codings) == 0:
            raise ClhsError(f"no codings in {kind} documents")
    return codings


def _first_pairs(inc: Incidence, position: dict[str, int], n_docs: int) -> dict[tuple[str, str], int]:
    """For each code pair sharing a unit, the position of the first document where it does."""
    X = inc.matrix.tocsr()
    unit_pos = np.array([position[d] for d in inc.units["document"].astype(object).to_numpy()])
    first_pair: dict[tuple[str, str], int] = {}
    for r in range(X.shape[0]):
        cols = X.indices[X.indptr[r] : X.indptr[r + 1]]
        if len(cols) < 2:
            continue
        p = unit_pos[r]
        for a_i in range(len(cols)):
            for b_i in range(a_i + 1, len(cols)):
                key = (inc.codes[cols[a_i]], inc.codes[cols[b_i]])
                if p < first_pair.get(key, n_docs):
                    first_pair[key] = p
    return first_pair


def _curve(
    docs: Sequence[str], first_code: dict[str, int], first_pair: dict[tuple[str, str], int]
) -> pd.DataFrame:
    """One row per document: the codes and pairs first seen there, and the running totals."""
    rows = []
    total_codes = total_pairs = 0
    for i, doc in enumerate(docs):
        new_codes = sorted(c for c, p in first_code.items() if p == i)
        new_pairs = sorted(f"{a} & {b}" for (a, b), p in first_pair.items() if p == i)
        total_codes += len(new_codes)
        total_pairs += len(new_pairs)
        rows.append(
            {
                "position": i + 1,
                "document": doc,
                "new_codes": new_codes,
                "n_new_codes": len(new_codes),
                "total_codes": total_codes,
                "new_pairs": new_pairs,
                "n_new_pairs": len(new_pairs),
                "total_pairs": total_pairs,
            }
        )
    return pd.DataFrame(rows)


def saturation(
    codings: pd.DataFrame,
    segments: pd.DataFrame | None = None,
    documents: pd.DataFrame | None = None,
    *,
    order: Sequence[str] | None = None,
    order_by: str | None = None,
    consecutive: int = 3,
    pair_unit: str = "segment",
    coders: Sequence[str] | None = None,
    kind: str | None = None,
) -> pd.DataFrame:
    """The saturation curve: one row per coded document in interview order.

    Columns: ``position`` (1-based), ``document``, ``new_codes`` (list), ``n_new_codes``,
    ``total_codes``, ``new_pairs`` (list of ``a & b``), ``n_new_pairs``, ``total_pairs``.
    ``attrs``: ``codes_saturated_at`` and ``pairs_saturated_at`` (positions, or None),
    ``consecutive``, ``order_by``, ``pair_unit``. ``order`` fixes the order explicitly;
    ``kind`` keeps documents of one kind (``interview`` or ``literature``).
    """
    codings = _select_codings(codings, coders, kind)
    if pair_unit not in PAIR_UNITS:
        raise ClhsError(
            "code pairs are counted within segments, turns, windows or documents, not cases"
            if pair_unit in UNITS
            else f"unknown unit '{pair_unit}' (use {', '.join(PAIR_UNITS)})"
        )
    coded = list(pd.unique(codings["document"]))
    if order is not None:
        unknown = [d for d in order if d not in set(coded)]
        if unknown:
            raise ClhsError(f"document '{unknown[0]}' has no codings")
        docs = list(dict.fromkeys(order))
        codings = codings[codings["document"].isin(docs)]
        used_order = "given"
    else:
        docs, used_order = document_order(documents, coded, order_by)
    position = {d: i for i, d in enumerate(docs)}
    first_code: dict[str, int] = {}
    for doc, code in zip(codings["document"], codings["code"]):
        p = position[doc]
        if p < first_code.get(code, len(docs)):
            first_code[code] = p
    unit = pair_unit if segments is not None or pair_unit == "document" else "document"
    inc = incidence(codings, segments, documents, unit=unit, scope=docs)
    curve = _curve(docs, first_code, _first_pairs(inc, position, len(docs)))
    curve.attrs.update(
        codes_saturated_at=saturation_point(curve["n_new_codes"], consecutive),
        pairs_saturated_at=saturation_point(curve["n_new_pairs"], consecutive),
        consecutive=consecutive,
        order_by=used_order,
        pair_unit=unit,
    )
    return curve


def saturation_summary(curve: pd.DataFrame) -> str:
    """One plain sentence per curve (codes, pairs) saying where saturation was reached, if at all."""
    n = len(curve)
    run = curve.attrs.get("consecutive", 3)
    parts = []
    for what, key, col in (
        ("codes", "codes_saturated_at", "total_codes"),
        ("code pairs", "pairs_saturated_at", "total_pairs"),
    ):
        at = curve.attrs.get(key)
        total = int(curve[col].iloc[-1]) if n else 0
        if at is None:
            parts.append(
                f"{what}: not saturated ({total} seen in {n} documents; no run of {run} documents "
                "without a new one after the first)"
            )
        else:
            parts.append(
                f"{what}: saturated after document {at} of {n} ({curve['document'].iloc[at - 1]}): "
                f"documents {at + 1}-{at + run} added none; {int(curve[col].iloc[at - 1])} of {total} "
                f"seen by then"
            )
    return "\n".join(parts)
