"""The review queue: which pending suggestion a reviewer should see next.

Pure functions over the pending-suggestions table (``Project.suggestions()``), so the CLI, the
app and the active-learning benchmark (``bench/active_learning.py``) order work the same way.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import ClhsError

MODES = ("uncertain", "code", "document", "confident")

LEAN = 0.4
"""Where a code's suggestions are most worth a review: at ``threshold + LEAN * (1 - threshold)``,
just above the threshold. Chosen by simulated review on held-out train documents
(``bench/active_learning.py --holdout --halvings 10``: 20 splits, batch 25): labels to 90% of
full-data macro-F1 were 309 at lean 0 (plain uncertainty), 308 at 0.2, 299 at 0.3, 286 at 0.4,
311 at 0.5, 293 at 0.6 and 301 at 1.0, against 358 in random order; the mean F1 over 50-450 labels
(relative to full data) also peaks at 0.4 (0.876, against 0.862 at lean 0 and 0.838 random).
Those labels were whole segments; with one decision per label, the app's unit (``--unit pair``,
20 splits), 0.4 needs 1,362 decisions, 0.6 1,316 and 0.8 1,439: within noise, so 0.4 stays."""


def _threshold(components: object) -> float:
    if isinstance(components, dict) and "threshold" in components:
        return float(components["threshold"])
    return 0.5


def _with_uncertainty(pending: pd.DataFrame) -> pd.DataFrame:
    """A copy with ``uncertainty``: 1 on the code's threshold, falling linearly to 0 at score 0 or 1."""
    df = pending.copy()
    t, score = df["components"].map(_threshold).astype(float), df["score"].astype(float)
    scale = t.where(score < t, 1.0 - t).clip(lower=1e-9)
    df["uncertainty"] = (1.0 - (score - t).abs() / scale).clip(0.0, 1.0)
    return df


def learning_order(pending: pd.DataFrame, *, lean: float = LEAN) -> pd.DataFrame:
    """Pending suggestions in active-learning order, with an ``uncertainty`` column.

    Per code, suggestions are ranked by how close their score is to the code's focus point
    ``threshold + lean * (1 - threshold)``; round ``r`` of the queue holds every code's ``r``-th
    ranked suggestion, spread across documents (a document's second item in a round comes after
    every other document's first), then most uncertain first. Round-robin over codes gives a
    rare code as many reviews as a common one (macro-F1 weighs them equally); the focus sits
    above the threshold because positives are scarce, so a borderline positive (confirmed or
    rejected) teaches a code's model more than a borderline negative. Tried on the same holdout
    (whole-segment labels) and dropped (saving against random; this rule: 20% on 10 halvings, 23%
    on 3): a bonus for a segment's closeness on its other codes (18%, 10 halvings), ranking
    segments by closeness summed over their codes (-5% to 14%, 3 halvings), two items per code per
    round (17%, 3 halvings), a random fifth of each batch (15%, 10 halvings); ordering a round by
    the codes' labelled positives was within noise (24%, same mean F1) and needs a count the
    pending table does not carry.
    """
    df = _with_uncertainty(pending)
    if df.empty:
        return df
    t = df["components"].map(_threshold)
    gap = (df["score"] - (t + lean * (1.0 - t))).abs()
    rounds = gap.groupby(df["code"]).rank(method="first").to_numpy()
    df = df.iloc[np.lexsort((-df["score"].to_numpy(), -df["uncertainty"].to_numpy(), rounds))]
    rounds = np.sort(rounds)
    spread = df.groupby([rounds, df["document"].to_numpy()]).cumcount().to_numpy()
    return df.iloc[np.lexsort((np.arange(len(df)), spread, rounds))]


def review_queue(
    pending: pd.DataFrame,
    *,
    mode: str = "uncertain",
    limit: int | None = 20,
    code: str | None = None,
    document: str | None = None,
) -> pd.DataFrame:
    """Pending suggestions in review order, with an ``uncertainty`` column (1 = on the threshold).

    Modes: ``uncertain`` (:func:`learning_order`: each code's most informative suggestion in
    turn), ``code`` (grouped by code, most uncertain first), ``document`` (reading order),
    ``confident`` (highest score first, for bulk confirmation).
    """
    if mode not in MODES:
        raise ClhsError(f"unknown queue mode '{mode}' (use {', '.join(MODES)})")
    df = pending
    if code is not None:
        df = df[df["code"] == code]
    if document is not None:
        df = df[df["document"] == document]
    if mode == "uncertain":
        df = learning_order(df)
    else:
        df = _with_uncertainty(df)
        if mode == "code":
            df = df.sort_values(["code", "uncertainty"], ascending=[True, False], kind="stable")
        elif mode == "document":
            df = df.sort_values(["document", "start", "code"], kind="stable")
        else:
            df = df.sort_values("score", ascending=False, kind="stable")
    return df.head(limit) if limit is not None else df
