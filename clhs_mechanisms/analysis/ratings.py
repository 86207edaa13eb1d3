"""Rating tables: a project's codings as one row per (code, unit) with a 1/0/NaN rating per coder.

``rating_table`` is the input of ``agreement.agreement`` and ``agreement.disagreements``: 1 when the
coder coded the code in the unit, 0 when not, NaN when the coder did not rate the unit (by default: a
document without any coding by the coder). Units (``AGREEMENT_UNITS``): ``segment``, ``turn``,
``document`` (a code is present for a coder when one of the coder's codings of it touches the unit) or
``character`` (as NVivo does: every character of a document is a unit; stored as runs of characters
with equal ratings, each weighted by its length, so a 10,000-character document costs a handful of
rows, not 10,000). Adjudications are left out: they are verdicts, not ratings (see ``adjudication``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from ..errors import ClhsError
from .adjudication import ratings_only
from .units import AGREEMENT_UNITS, assign_units, check_codes, require_codings, select_coders


def coverage_of(
    codings: pd.DataFrame, coders: Sequence[str], how: str | Mapping[str, Iterable[str]] = "coded"
) -> dict[str, set[str]]:
    """Which documents each coder rated: ``coded`` (those with any coding by the coder), ``all``
    (every document any of them coded), or an explicit mapping coder -> documents."""
    if isinstance(how, Mapping):
        out = {c: set(how.get(c, ())) for c in coders}
    elif how == "coded":
        out = {c: set(pd.unique(codings.loc[codings["coder"] == c, "document"])) for c in coders}
    elif how == "all":
        docs = set(pd.unique(codings["document"]))
        out = {c: set(docs) for c in coders}
    else:
        raise ClhsError(f"unknown coverage '{how}' (use coded, all or a mapping coder -> documents)")
    for c, docs in out.items():
        if not docs:
            raise ClhsError(f"coder '{c}' rated no document")
    return out


def rating_table(
    codings: pd.DataFrame,
    segments: pd.DataFrame | None = None,
    *,
    coders: Sequence[str],
    unit: str = "segment",
    codes: Sequence[str] | None = None,
    coverage: str | Mapping[str, Iterable[str]] = "coded",
    texts: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """One row per (code, unit) with each coder's rating: 1 coded, 0 not coded, NaN not rated.

    Columns: ``code``, ``document``, ``unit`` (label), ``start``, ``end``, ``weight`` (1, or the
    number of characters for character units), then one column per coder. Units are those of
    every document at least one coder rated; a coder rated the documents in ``coverage``.
    Character units need ``texts`` (document -> text) for the document lengths. Adjudication
    codings (``origin`` adjudication) are not ratings and are left out.
    """
    require_codings(codings)
    codings = ratings_only(codings)
    coders = list(dict.fromkeys(coders))
    if len(coders) < 2:
        raise ClhsError(
            f"agreement needs at least two coders; got {len(coders)}" + (f" ({coders[0]})" if coders else "")
        )
    if unit not in AGREEMENT_UNITS:
        raise ClhsError(f"unknown agreement unit '{unit}' (use {', '.join(AGREEMENT_UNITS)})")
    codings = select_coders(codings, coders)
    code_list = check_codes(codings, codes)
    codings = codings[codings["code"].isin(code_list)]
    cover = coverage_of(codings, coders, coverage)
    docs = sorted(set().union(*cover.values()))
    codings = codings[codings["document"].isin(docs)]
    if unit == "character":
        table = _character_ratings(codings, coders, code_list, cover, docs, texts)
    else:
        table = ratings_with_coverage(codings, segments, coders, unit, code_list, cover)
    table.attrs.update(
        unit=unit, coders=coders, codes=code_list, coverage={c: sorted(v) for c, v in cover.items()}
    )
    return table


def _character_ratings(
    codings: pd.DataFrame,
    coders: list[str],
    codes: list[str],
    cover: dict[str, set[str]],
    docs: list[str],
    texts: Mapping[str, str] | None,
) -> pd.DataFrame:
    if texts is None:
        raise ClhsError("character units need the document texts (their lengths)")
    missing = [d for d in docs if d not in texts]
    if missing:
        raise ClhsError(f"no text for document '{missing[0]}'")
    groups = {key: g for key, g in codings.groupby(["code", "document"], sort=False)}
    rows: list[pd.DataFrame] = []
    for code in codes:
        for doc in docs:
            length = len(texts[doc])
            g = groups.get((code, doc))
            if g is None:
                cuts = np.array([0, length])
            else:
                edges = np.concatenate([[0, length], g["start"].to_numpy(), g["end"].to_numpy()])
                cuts = np.unique(np.clip(edges, 0, length))
            starts, ends = cuts[:-1], cuts[1:]
            frame = {
                "code": code,
                "document": doc,
                "unit": [f"{doc}@{s}-{e}" for s, e in zip(starts, ends)],
                "start": starts,
                "end": ends,
                "weight": (ends - starts).astype(np.float64),
            }
            for coder in coders:
                if doc not in cover[coder]:
                    frame[coder] = np.nan
                    continue
                depth = np.zeros(len(cuts))
                if g is not None:
                    mine = g[g["coder"] == coder]
                    np.add.at(depth, np.searchsorted(cuts, np.clip(mine["start"].to_numpy(), 0, length)), 1)
                    np.add.at(depth, np.searchsorted(cuts, np.clip(mine["end"].to_numpy(), 0, length)), -1)
                frame[coder] = (np.cumsum(depth)[:-1] > 0).astype(np.float64)
            rows.append(pd.DataFrame(frame))
    return pd.concat(rows, ignore_index=True)


def ratings_with_coverage(
    codings: pd.DataFrame,
    segments: pd.DataFrame,
    coders: list[str],
    unit: str,
    codes: list[str],
    cover: dict[str, set[str]],
    unknown: Mapping[str, pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """``rating_table`` for coders some of whom may have no codings (the machine below every threshold).

    ``unknown``: coder -> spans (``document``, ``code``, ``start``, ``end``) where that coder's rating
    is not known: a unit they touch is NaN for the code unless the coder coded it there.
    """
    unknown = {c: u for c, u in (unknown or {}).items() if len(u)}
    masks = [f"\x00unknown {c}" for c in unknown]  # one pseudo-coder per coder with unknown spans
    docs = sorted(set().union(*cover.values()))
    spans = [codings[["document", "code", "coder", "start", "end"]]]
    spans += [
        u[["document", "code", "start", "end"]].assign(coder=m) for m, u in zip(masks, unknown.values())
    ]
    codings = pd.concat(spans, ignore_index=True)
    codings = codings[codings["document"].isin(docs)].reset_index(drop=True)
    everyone = [*coders, *masks]
    a = assign_units(codings, segments, unit=unit, scope=docs)
    units = a.units.reset_index(drop=True)
    n_units, k = len(units), len(codes)
    code_of = pd.Index(codes).get_indexer(codings["code"].to_numpy())[a.coding_rows]
    coder_of = pd.Index(everyone).get_indexer(codings["coder"].to_numpy())[a.coding_rows]
    ok = (a.unit_rows >= 0) & (code_of >= 0) & (coder_of >= 0)
    present = np.zeros((len(everyone), k, n_units))
    present[coder_of[ok], code_of[ok], a.unit_rows[ok]] = 1.0
    doc_names = units["document"].astype(object).to_numpy()
    for ci, coder in enumerate(coders):
        present[ci][:, ~np.isin(doc_names, list(cover[coder]))] = np.nan
    for mi, coder in enumerate(unknown):
        mine = present[coders.index(coder)]
        mine[(present[len(coders) + mi] == 1) & (mine == 0)] = np.nan
    key = units["key"].to_numpy()
    labels = [
        str(d) if unit == "document" else (f"{d}#turn{t}" if unit == "turn" else f"{d}#{t}")
        for d, t in zip(doc_names, key)
    ]
    starts = units["start"].to_numpy() if "start" in units else np.zeros(n_units)
    ends = units["end"].to_numpy() if "end" in units else np.full(n_units, -1)
    table = pd.DataFrame(
        {
            "code": np.repeat(np.asarray(codes, dtype=object), n_units),
            "document": np.tile(doc_names, k),
            "unit": np.tile(np.asarray(labels, dtype=object), k),
            "start": np.tile(starts, k),
            "end": np.tile(ends, k),
            "weight": 1.0,
        }
    )
    for ci, coder in enumerate(coders):
        table[coder] = present[ci].reshape(-1)
    table.attrs.update(
        unit=unit, coders=coders, codes=codes, coverage={c: sorted(v) for c, v in cover.items()}
    )
    return table
