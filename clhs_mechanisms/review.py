"""One reviewer's session over the machine's suggestions: what comes next, and what a decision means.

The app's Review page and the CLI are shells over :class:`ReviewSession`, so the rules live here
and are tested without a browser: a decision is made on the item shown (its span widened only by
a choice made on that item), an accepted suggestion whose span or code changed is stored as an
*edit*, a refused decision (someone else was first) can be kept as a disagreement (a memo and
the reviewer's own coding), the model is retrained every ``retrain_every`` decisions, and undo
takes back the reviewer's last decision or coding.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from .errors import ClhsError
from .queue import review_queue
from .store import Project, Undone

WIDEN = ("segment", "previous", "next")
"""Span choices on an item: the suggested segment, or it joined with the one before or after."""
ACTIONS = ("accept", "reject", "recode")


@dataclass(frozen=True)
class ReviewItem:
    """A pending suggestion with the segments around it (up to two each side, same document)."""

    suggestion: Mapping[str, Any]
    before: tuple[Mapping[str, Any], ...] = ()
    after: tuple[Mapping[str, Any], ...] = ()

    @property
    def id(self) -> str:
        return str(self.suggestion["id"])

    @property
    def code(self) -> str:
        return str(self.suggestion["code"])

    @property
    def document(self) -> str:
        return str(self.suggestion["document"])

    def span(self, widen: str = "segment") -> tuple[int, int]:
        """The span a decision on this item codes: the segment, or it and a neighbour."""
        if widen not in WIDEN:
            raise ClhsError(f"unknown span choice '{widen}' (use {', '.join(WIDEN)})")
        start, end = int(self.suggestion["start"]), int(self.suggestion["end"])
        if widen == "previous" and self.before:
            start = int(self.before[-1]["start"])
        if widen == "next" and self.after:
            end = int(self.after[0]["end"])
        return start, end


@dataclass(frozen=True)
class Outcome:
    """What a decision did: the stored action (accept, edit, reject) and decision id, whether the
    model is due for retraining, or the error that refused it (nothing stored)."""

    action: str
    decision_id: str | None = None
    retrain_due: bool = False
    error: ClhsError | None = None

    @property
    def refused(self) -> str | None:
        """Why the decision was refused, in one line; None when it was stored."""
        return None if self.error is None else str(self.error)


@dataclass
class ReviewSession:
    """One coder reviewing suggestions in ``project``.

    Parameters
    ----------
    project, coder:
        Where decisions go and who makes them.
    retrain_every:
        Decisions between retrains (``Outcome.retrain_due`` says when).
    """

    project: Project
    coder: str
    retrain_every: int = 25
    since_retrain: int = 0
    skipped: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        if not (self.coder or "").strip():
            raise ClhsError("choose who you are before reviewing (a coder name)")
        if self.retrain_every < 1:
            raise ClhsError(f"retrain_every must be at least 1, not {self.retrain_every}")

    def next(
        self, pending: pd.DataFrame, *, mode: str = "uncertain", code: str | None = None
    ) -> ReviewItem | None:
        """The first item of ``pending`` (suggestions, already scored) in review order, skipping what
        this session skipped; None when nothing is left."""
        order = review_queue(pending, mode=mode, limit=None, code=code)
        if self.skipped:
            order = order[~order["id"].isin(self.skipped)]
        return None if order.empty else self.item(order.iloc[0])

    def item(self, suggestion: Mapping[str, Any] | pd.Series) -> ReviewItem:
        """A suggestion row with its context: the segments around it in an interview; in literature,
        only those of the same excerpt (the next row of a table is another paper, not context)."""
        row = dict(suggestion)
        segs = self.project.segments(document=row["document"]).reset_index(drop=True)
        at = segs.index[segs["id"] == row["segment_id"]]
        if not len(at):
            return ReviewItem(row)
        pos = int(at[0])
        row["kind"] = segs["kind"].iloc[pos]
        if row["kind"] == "literature":
            segs = segs[segs["turn"] == segs["turn"].iloc[pos]].reset_index(drop=True)
            pos = int(segs.index[segs["id"] == row["segment_id"]][0])
        pick = ["start", "end", "text", "speaker"]
        before = segs.iloc[max(0, pos - 2) : pos][pick].to_dict("records")
        after = segs.iloc[pos + 1 : pos + 3][pick].to_dict("records")
        return ReviewItem(row, tuple(before), tuple(after))

    def skip(self, item: ReviewItem) -> None:
        """Leave ``item`` for later (for this session only)."""
        self.skipped.add(item.id)

    def decide(
        self,
        item: ReviewItem,
        action: str,
        *,
        widen: str = "segment",
        code: str | None = None,
        modifiers: dict[str, str] | None = None,
    ) -> Outcome:
        """Accept, reject or recode ``item`` (with ``modifiers`` on the coding it makes). Accepting with
        a widened span, or recoding, stores an edit; a refusal (decided by someone else first, text
        replaced, a modifier the codebook does not define) comes back as ``refused``."""
        if action not in ACTIONS:
            raise ClhsError(f"unknown action '{action}' (use {', '.join(ACTIONS)})")
        if action == "recode" and not code:
            raise ClhsError("recoding needs the code to apply instead")
        span = item.span(widen) if action != "reject" else None
        changed = span is not None and span != item.span()
        stored = (
            "reject"
            if action == "reject"
            else ("edit" if changed or (code and code != item.code) else "accept")
        )
        try:
            decision = self.project.decide(
                item.id,
                stored,
                coder=self.coder,
                code=code if stored == "edit" and code != item.code else None,
                span=span if changed else None,
                modifiers=(modifiers or None) if stored != "reject" else None,
            )
        except ClhsError as exc:
            return Outcome(stored, error=exc)
        self.since_retrain += 1
        due = self.since_retrain >= self.retrain_every
        if due:
            self.since_retrain = 0
        return Outcome(stored, decision, retrain_due=due)

    def disagree(
        self, item: ReviewItem, action: str, refused: str, *, code: str | None = None, widen: str = "segment"
    ) -> None:
        """Keep a refused decision as a disagreement: a memo on the segment and, unless it was a
        rejection, the reviewer's own coding of the span (no coding twice)."""
        final = code or item.code
        self.project.add_memo(
            f"Disagreement: {self.coder} would {action} '{final}' here. ({refused})",
            coder=self.coder,
            target_type="segment",
            target_id=str(item.suggestion["segment_id"]),
        )
        if action != "reject":
            start, end = item.span(widen)
            mine = self.project.codings()
            mine = mine[(mine["coder"] == self.coder) & (mine["document"] == item.document)]
            if not ((mine["code"] == final) & (mine["start"] == start) & (mine["end"] == end)).any():
                self.project.add_coding(item.document, start, end, final, coder=self.coder)

    def undo(self) -> Undone:
        """Take back this coder's last decision or coding (see :meth:`Project.undo`)."""
        undone = self.project.undo(coder=self.coder)
        if undone.entity == "suggestion":
            self.since_retrain = max(0, self.since_retrain - 1)
            self.skipped.discard(undone.entity_id)
        return undone

    def recent(self, limit: int = 20) -> pd.DataFrame:
        """This coder's latest active codings, newest first (the "My recent work" list)."""
        codings = self.project.codings()
        mine = codings[codings["coder"] == self.coder]
        return mine.sort_values("created_at", ascending=False).head(limit).reset_index(drop=True)
