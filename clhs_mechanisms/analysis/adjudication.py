"""Double coding and adjudication: which two coders to compare first, which disagreements are settled.

``default_pair`` picks the two human coders who coded the most segments in common: the pair an
agreement view starts from. ``adjudications`` reads a project's adjudication records from its codings
and memos, and ``mark_resolved`` marks each row of a disagreement list (``agreement.disagreements``)
that one of them settles.

An adjudication is one person's verdict on one code over one span of a document:

- a memo on the document written as ``adjudication_memo`` writes it (the app's *Record adjudication*
  action): the code applies, or does not apply, at ``start-end``;
- a coding whose ``origin`` is ``adjudication`` (the same action, when the code applies);
- a coding by a coder whose role is ``adjudicator`` and who is not one of the coders compared: their
  coding is the final one (the code applies).

A disagreement on a unit is *resolved* when an adjudication of its code in its document overlaps the
unit; the latest one says by whom and with which verdict. Adjudication codings are verdicts, not
ratings: ``rating_table`` leaves them out (``ratings_only``), so recording one never changes the
agreement it settles.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .units import assign_units, factor

ADJUDICATION = "adjudication"  # the origin of a coding recorded as an adjudication
VERDICTS = ("applies", "does not apply")
ADJUDICATION_COLUMNS = ["document", "code", "start", "end", "verdict", "coder", "created_at"]
_MEMO = re.compile(
    r"'(?P<code>[^']+)' (?P<verdict>applies|does not apply) at (?P<start>-?\d+)-(?P<end>-?\d+)\b"
)


def ratings_only(codings: pd.DataFrame) -> pd.DataFrame:
    """``codings`` without adjudications (a verdict on a disagreement is not a rating)."""
    if "origin" not in codings.columns:
        return codings
    return codings[codings["origin"] != ADJUDICATION]


@dataclass(frozen=True)
class CoderPair:
    """The default pair of coders to compare: ``coders`` (None when there is none, ``reason`` says
    why) and ``shared``, the segments both coded."""

    coders: tuple[str, str] | None
    shared: int
    reason: str = ""


def default_pair(codings: pd.DataFrame, segments: pd.DataFrame) -> CoderPair:
    """The two human coders (``coder_kind`` human, where the column exists) with the most segments
    that both coded (a segment counts when a coding of each touches it), ties broken alphabetically;
    adjudications do not count."""
    cod = ratings_only(codings)
    if "coder_kind" in cod.columns:
        cod = cod[cod["coder_kind"] == "human"]
    coders = sorted(map(str, pd.unique(cod["coder"])))
    if len(coders) < 2:
        return CoderPair(
            None,
            0,
            "agreement needs codings by two coders; "
            + (f"so far only {coders[0]} has coded" if coders else "nothing is coded yet"),
        )
    cod = cod.reset_index(drop=True)
    a = assign_units(cod, segments, unit="segment")
    coder_of = factor(cod["coder"].astype(str), pd.Index(coders))[a.coding_rows]
    ok = (a.unit_rows >= 0) & (coder_of >= 0)
    m = sp.csr_matrix(
        (np.ones(int(ok.sum())), (coder_of[ok], a.unit_rows[ok])), shape=(len(coders), len(a.units))
    )
    m.data[:] = 1.0  # duplicates were summed: a segment counts once per coder
    shared = (m @ m.T).toarray()
    best, pair = 0, None
    for i, j in combinations(range(len(coders)), 2):  # in alphabetical order: the first of equals wins
        if shared[i, j] > best:
            best, pair = int(shared[i, j]), (coders[i], coders[j])
    if pair is None:
        return CoderPair(
            None, 0, f"no two of the {len(coders)} coders ({', '.join(coders)}) coded a segment in common"
        )
    return CoderPair(pair, best)


def adjudication_memo(
    coder: str,
    code: str,
    verdict: str,
    start: int,
    end: int,
    coded_by: Iterable[str],
    not_coded_by: Iterable[str],
) -> str:
    """The text of the memo (on the document) that records an adjudication; ``adjudications`` reads it."""
    if verdict not in VERDICTS:
        raise ValueError(f"unknown verdict '{verdict}' (use {' or '.join(VERDICTS)})")
    return (
        f"Adjudication by {coder}: '{code}' {verdict} at {start}-{end} "
        f"(coded by {', '.join(coded_by)}; not by {', '.join(not_coded_by)})."
    )


def adjudications(
    codings: pd.DataFrame,
    memos: pd.DataFrame | None = None,
    *,
    adjudicators: Iterable[str] = (),
    compared: Sequence[str] = (),
) -> pd.DataFrame:
    """Every adjudication (see the module docstring): ``ADJUDICATION_COLUMNS``, oldest first.

    ``memos``: the project's memos (``target_type``, ``target_id`` the document, ``coder``, ``text``);
    ``adjudicators``: coders with that role, whose codings count unless they are among ``compared``.
    """
    parts = []
    if memos is not None and len(memos):
        docs = memos[memos["target_type"] == "document"]
        rows = []
        for coder, doc, text, at in zip(docs["coder"], docs["target_id"], docs["text"], docs["created_at"]):
            prefix = f"Adjudication by {coder}: "
            found = _MEMO.match(text[len(prefix) :]) if text.startswith(prefix) else None
            if found:
                rows.append(
                    (doc, found["code"], int(found["start"]), int(found["end"]), found["verdict"], coder, at)
                )
        parts.append(pd.DataFrame(rows, columns=ADJUDICATION_COLUMNS))
    judges = set(adjudicators) - set(compared)
    final = (codings["coder"].isin(judges)) | (
        codings["origin"] == ADJUDICATION if "origin" in codings.columns else False
    )
    if final.any():
        cod = codings[final]
        parts.append(
            pd.DataFrame(
                {
                    "document": cod["document"].to_numpy(),
                    "code": cod["code"].to_numpy(),
                    "start": cod["start"].to_numpy(),
                    "end": cod["end"].to_numpy(),
                    "verdict": VERDICTS[0],
                    "coder": cod["coder"].to_numpy(),
                    "created_at": cod["created_at"].to_numpy() if "created_at" in cod.columns else "",
                }
            )
        )
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame(columns=ADJUDICATION_COLUMNS)
    out = pd.concat(parts, ignore_index=True)
    return out.sort_values("created_at", kind="stable").reset_index(drop=True)


def mark_resolved(diff: pd.DataFrame, adjudicated: pd.DataFrame | None) -> pd.DataFrame:
    """``diff`` (one row per disagreement: ``document``, ``code``, ``start``, ``end``; ``end`` < 0 for
    a whole document) with ``resolved``, ``resolved_by`` and ``verdict`` from the latest overlapping
    adjudication in ``adjudicated`` (as ``adjudications`` gives them)."""
    out = diff.assign(resolved=False, resolved_by="", verdict="")
    if adjudicated is None or not len(adjudicated) or not len(diff):
        return out
    left = diff[["document", "code", "start", "end"]].reset_index(drop=True).rename_axis("row").reset_index()
    adj = adjudicated.reset_index(drop=True).rename_axis("order").reset_index()
    both = left.merge(adj, on=["document", "code"], suffixes=("", "_adj"))
    whole = (both["end"] < 0) | (both["end_adj"] < 0)
    overlap = whole | ((both["start_adj"] < both["end"]) & (both["end_adj"] > both["start"]))
    latest = both[overlap].sort_values("order").drop_duplicates("row", keep="last")
    rows = latest["row"].to_numpy()
    out.loc[out.index[rows], "resolved"] = True
    out.loc[out.index[rows], "resolved_by"] = latest["coder"].astype(str).to_numpy()
    out.loc[out.index[rows], "verdict"] = latest["verdict"].to_numpy()
    return out
