"""The review queue: which pending suggestion a reviewer should see next.

A pure function over the pending-suggestions table (``Project.suggestions()``), so the
CLI, the app and the active-learning benchmark order work the same way.
"""

from __future__ import annotations

import pandas as pd

from .errors import ClhsError

MODES = ("uncertain", "code", "document", "confident")


def _threshold(components: object) -> float:
    if isinstance(components, dict) and "threshold" in components:
        return float(components["threshold"])
    return 0.5


def _diverse(df: pd.DataFrame) -> pd.DataFrame:
    """Reorder so consecutive items come from different documents and codes where possible.

    Greedy: walk the list in priority order, each round taking at most one item per
    (document) and per (code); what is left goes to the next round.
    """
    rounds: list[list[int]] = []
    for idx, doc, code in zip(df.index, df["document"], df["code"]):
        for taken in rounds:
            if (doc, "d") not in taken[0] and (code, "c") not in taken[0]:
                taken[0].update({(doc, "d"), (code, "c")})
                taken[1].append(idx)
                break
        else:
            rounds.append([{(doc, "d"), (code, "c")}, [idx]])  # type: ignore[list-item]
    order = [i for _, items in rounds for i in items]  # type: ignore[misc]
    return df.loc[order]


def review_queue(pending: pd.DataFrame, *, mode: str = "uncertain", limit: int | None = 20,
                 code: str | None = None, document: str | None = None) -> pd.DataFrame:
    """Pending suggestions in review order, with an ``uncertainty`` column (1 = on the threshold).

    Modes: ``uncertain`` (closest to each code's threshold first, spread across documents
    and codes), ``code`` (grouped by code, most uncertain first), ``document`` (reading
    order), ``confident`` (highest score first, for bulk confirmation).
    """
    if mode not in MODES:
        raise ClhsError(f"unknown queue mode '{mode}' (use {', '.join(MODES)})")
    df = pending.copy()
    if code is not None:
        df = df[df["code"] == code]
    if document is not None:
        df = df[df["document"] == document]
    if df.empty:
        return df.assign(uncertainty=pd.Series(dtype=float))
    thresholds = df["components"].map(_threshold)
    df["uncertainty"] = 1.0 - (df["score"] - thresholds).abs() / thresholds.where(
        df["score"] < thresholds, 1.0 - thresholds).clip(lower=1e-9)
    df["uncertainty"] = df["uncertainty"].clip(0.0, 1.0)
    if mode == "uncertain":
        df = df.sort_values(["uncertainty", "score"], ascending=[False, False], kind="stable")
        window = max(10 * (limit or 0), 500)  # diversify the head; the tail is never shown at once
        df = pd.concat([_diverse(df.iloc[:window]), df.iloc[window:]])
    elif mode == "code":
        df = df.sort_values(["code", "uncertainty"], ascending=[True, False], kind="stable")
    elif mode == "document":
        df = df.sort_values(["document", "start", "code"], kind="stable")
    else:
        df = df.sort_values("score", ascending=False, kind="stable")
    return df.head(limit) if limit is not None else df
