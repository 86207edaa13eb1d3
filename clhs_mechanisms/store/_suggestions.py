"""Machine suggestions: stored in batches, read for review, and the decisions made on them."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pandas as pd
import sqlalchemy as sa

from ..codebook import unknown_code_message
from ..errors import StoreError
from ._core import ProjectCore, bulk_insert, to_json
from ._ids import new_ids, now
from ._schema import cases, coders, decisions, documents, segments, suggestions

_STALE_BATCH = 500  # segment ids per UPDATE (SQLite's limit on bound parameters)


class SuggestionsMixin(ProjectCore):
    """Suggestions in, suggestions and decisions out."""

    def add_suggestions(
        self,
        rows: Sequence[dict],
        *,
        method: str,
        model_version: str | None,
        segment_ids: Sequence[str] | None = None,
        codes: Sequence[str] | None = None,
        coder: str = "system",
    ) -> int:
        """Store machine suggestions for a batch of segments.

        Each row: ``segment_id, code, score, components (dict), evidence (list of dicts or of
        :class:`~clhs_mechanisms.suggest.Evidence`)``.
        Pending suggestions from earlier runs on the scored segments (``segment_ids``,
        default: those in ``rows``), restricted to ``codes`` if given, become stale. A row for a
        (segment, code) pair whose suggestion a human has decided is not stored: the check runs in the
        transaction that inserts, so a decision made while the rows were scored never comes back as
        pending. Returns the number of suggestions stored.
        """
        cb = self.codebook
        unknown = sorted({r["code"] for r in rows} - set(cb.code_ids))
        if unknown:
            raise StoreError(unknown_code_message(unknown[0], cb.code_ids))
        created = now()
        with self._guard(), self.engine.begin() as conn:
            seg_ids = sorted(set(segment_ids) if segment_ids is not None else {r["segment_id"] for r in rows})
            for i in range(0, len(seg_ids), _STALE_BATCH):
                cond = [
                    suggestions.c.status == "pending",
                    suggestions.c.segment_id.in_(seg_ids[i : i + _STALE_BATCH]),
                ]
                if codes:
                    cond.append(suggestions.c.code_id.in_(list(codes)))
                conn.execute(suggestions.update().where(*cond).values(status="stale"))
            settled = _decided(conn, {r["segment_id"] for r in rows})
            rows = [r for r in rows if (r["segment_id"], r["code"]) not in settled]
            bulk_insert(
                conn,
                suggestions,
                [
                    (
                        i,
                        r["segment_id"],
                        r["code"],
                        float(r["score"]),
                        method,
                        to_json(r.get("components", {})),
                        to_json(r.get("evidence", [])),
                        model_version,
                        cb.version,
                        "pending",
                        created,
                    )
                    for i, r in zip(new_ids(len(rows)), rows)
                ],
            )
            self._log(
                conn,
                coder,
                "suggest",
                "suggestions",
                None,
                {"n": len(rows), "segments": len(seg_ids), "method": method, "model": model_version},
            )
        return len(rows)

    def suggestions(
        self,
        *,
        status: str | None = "pending",
        ids: Sequence[str] | None = None,
        for_coder: str | None = None,
    ) -> pd.DataFrame:
        """Suggestions (of ``status``; only ``ids`` if given) with their segment's document, text,
        speaker and case. ``for_coder``: what that coder has still to review, which with blind coding
        (the ``blind`` setting) includes suggestions others decided but they did not."""
        q = (
            sa.select(
                suggestions.c.id,
                suggestions.c.segment_id,
                documents.c.name.label("document"),
                segments.c.start,
                segments.c.end,
                segments.c.text,
                segments.c.speaker,
                cases.c.name.label("case"),
                suggestions.c.code_id.label("code"),
                suggestions.c.score,
                suggestions.c.method,
                suggestions.c.components,
                suggestions.c.evidence,
                suggestions.c.model_version,
                suggestions.c.status,
                suggestions.c.created_at,
            )
            .select_from(
                suggestions.join(segments, segments.c.id == suggestions.c.segment_id)
                .join(documents, documents.c.id == segments.c.document_id)
                .outerjoin(cases, cases.c.id == documents.c.case_id)
            )
            .order_by(documents.c.name, segments.c.idx, suggestions.c.code_id)
        )
        if for_coder is not None and self.blind:
            decided_by_them = sa.select(decisions.c.id).where(
                decisions.c.suggestion_id == suggestions.c.id,
                decisions.c.coder_id == coders.c.id,
                coders.c.name == for_coder.strip(),
            )
            q = q.where(
                suggestions.c.status.in_(("pending", "decided")),
                segments.c.retired.is_(False),
                ~sa.exists(decided_by_them),
            )
        elif status is not None:
            q = q.where(suggestions.c.status == status)
        if ids is not None:
            q = q.where(suggestions.c.id.in_(list(ids)))
        df = self._frame(q)
        for col in ("components", "evidence"):
            df[col] = df[col].map(json.loads)
        return df

    def suggestion_progress(self) -> pd.DataFrame:
        """Decided and pending suggestions per code (index: code; columns: decided, pending), counted
        in the database: the review page shows it after every decision, without reading the rows."""
        q = (
            sa.select(suggestions.c.code_id.label("code"), suggestions.c.status, sa.func.count().label("n"))
            .where(suggestions.c.status.in_(("pending", "decided")))
            .group_by(suggestions.c.code_id, suggestions.c.status)
        )
        counts = self._frame(q)
        table = counts.pivot_table(index="code", columns="status", values="n", aggfunc="sum", fill_value=0)
        return (
            table.reindex(columns=["decided", "pending"], fill_value=0).astype(int).rename_axis(columns=None)
        )

    def documents_under_review(self) -> list[str]:
        """Names of the documents with pending suggestions, sorted (without reading the suggestions)."""
        q = (
            sa.select(documents.c.name)
            .distinct()
            .select_from(
                suggestions.join(segments, segments.c.id == suggestions.c.segment_id).join(
                    documents, documents.c.id == segments.c.document_id
                )
            )
            .where(suggestions.c.status == "pending")
            .order_by(documents.c.name)
        )
        with self._guard(), self.engine.connect() as conn:
            return list(conn.execute(q).scalars())

    def decisions(self, *, since: str | None = None) -> pd.DataFrame:
        """Every decision (made at or after ``since``, ISO UTC, if given) with its coder, the
        suggested and the final code, the segment text and its document."""
        q = (
            sa.select(
                decisions.c.id,
                decisions.c.suggestion_id,
                coders.c.name.label("coder"),
                decisions.c.action,
                suggestions.c.code_id.label("suggested"),
                decisions.c.code_id.label("code"),
                decisions.c.coding_id,
                decisions.c.created_at,
                segments.c.id.label("segment_id"),
                segments.c.text,
                documents.c.name.label("document"),
                documents.c.attributes,
            )
            .select_from(
                decisions.join(suggestions, suggestions.c.id == decisions.c.suggestion_id)
                .join(segments, segments.c.id == suggestions.c.segment_id)
                .join(documents, documents.c.id == segments.c.document_id)
                .join(coders, coders.c.id == decisions.c.coder_id)
            )
            .order_by(decisions.c.created_at)
        )
        if since is not None:
            q = q.where(decisions.c.created_at >= since)
        df = self._frame(q)
        df["attributes"] = df["attributes"].map(json.loads)
        return df


def _decided(conn, segment_ids: set[str]) -> set[tuple[str, str]]:
    """The (segment, code) pairs among ``segment_ids`` with a decided suggestion."""
    ids, pairs = sorted(segment_ids), set()
    for i in range(0, len(ids), _STALE_BATCH):
        q = sa.select(suggestions.c.segment_id, suggestions.c.code_id).where(
            suggestions.c.status == "decided", suggestions.c.segment_id.in_(ids[i : i + _STALE_BATCH])
        )
        pairs.update(map(tuple, conn.execute(q).all()))
    return pairs
