"""Reads of a project as DataFrames and dicts: documents, segments, codings, memos, coders, the
audit log and counts (what analysis, the app and the CLI show)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import pandas as pd
import sqlalchemy as sa

from ..errors import StoreError
from ._core import ProjectCore
from ._schema import (
    audit,
    cases,
    codebooks,
    coders,
    codes,
    codings,
    decisions,
    documents,
    memos,
    segments,
    suggestions,
    turns,
)


class ReadsMixin(ProjectCore):
    """Everything a researcher reads back out of the project."""

    def documents(self) -> pd.DataFrame:
        """One row per document: id, name, kind, case, attributes (dict), counts, reader warnings (list)."""
        nseg = (
            sa.select(segments.c.document_id, sa.func.count().label("segments"))
            .where(segments.c.retired.is_(False))
            .group_by(segments.c.document_id)
            .subquery()
        )
        q = (
            sa.select(
                documents.c.id,
                documents.c.name,
                documents.c.kind,
                documents.c.sha256,
                documents.c.attributes,
                documents.c.imported_at,
                documents.c.warnings,
                cases.c.name.label("case"),
                sa.func.coalesce(nseg.c.segments, 0).label("segments"),
            )
            .select_from(
                documents.outerjoin(cases, documents.c.case_id == cases.c.id).outerjoin(
                    nseg, nseg.c.document_id == documents.c.id
                )
            )
            .order_by(documents.c.name)
        )
        df = self._frame(q)
        df["attributes"] = df["attributes"].map(json.loads)
        df["warnings"] = df["warnings"].map(json.loads)
        return df

    def document_hashes(self) -> dict[str, str]:
        """Every document's name and stored file hash."""
        with self._guard(), self.engine.connect() as conn:
            return dict(conn.execute(sa.select(documents.c.name, documents.c.sha256)).all())

    def document_sha256(self, name: str) -> str | None:
        """The stored file hash of document ``name``, or None if it is not in the project."""
        with self._guard(), self.engine.connect() as conn:
            return conn.execute(sa.select(documents.c.sha256).where(documents.c.name == name)).scalar()

    def document_id(self, name: str) -> str:
        with self._guard(), self.engine.connect() as conn:
            doc_id = conn.execute(sa.select(documents.c.id).where(documents.c.name == name)).scalar()
        if doc_id is None:
            raise StoreError(f"no document '{name}' in the project")
        return doc_id

    def document_texts(self, names: Iterable[str] | None = None) -> dict[str, str]:
        """Document name -> text, for every document or those in ``names`` that are in the project."""
        q = sa.select(documents.c.name, documents.c.text)
        if names is not None:
            q = q.where(documents.c.name.in_(list(names)))
        with self._guard(), self.engine.connect() as conn:
            return dict(conn.execute(q).all())

    def document_text(self, name: str) -> str:
        text = self.document_texts([name]).get(name)
        if text is None:
            raise StoreError(f"no document '{name}' in the project")
        return text

    def segments(self, *, document: str | None = None, codable_only: bool = False) -> pd.DataFrame:
        """Current segments with their document's name and kind, in reading order."""
        q = (
            sa.select(
                segments.c.id,
                documents.c.name.label("document"),
                segments.c.idx,
                turns.c.idx.label("turn"),
                segments.c.start,
                segments.c.end,
                segments.c.text,
                segments.c.speaker,
                segments.c.codable,
                documents.c.kind,
            )
            .join(documents, segments.c.document_id == documents.c.id)
            .join(turns, turns.c.id == segments.c.turn_id)
            .where(segments.c.retired.is_(False))
            .order_by(documents.c.name, segments.c.idx)
        )
        if document is not None:
            q = q.where(documents.c.name == document)
        if codable_only:
            q = q.where(segments.c.codable.is_(True))
        return self._frame(q)

    def codings(self, *, include_inactive: bool = False, since: str | None = None) -> pd.DataFrame:
        """Codings with document, code, domain, coder, span, quote, ``modifiers`` (dict of modifier ->
        value) and document attributes (those made at or after ``since``, ISO UTC, if given)."""
        q = (
            sa.select(
                codings.c.id,
                documents.c.name.label("document"),
                documents.c.kind,
                segments.c.speaker,
                cases.c.name.label("case"),
                codings.c.code_id.label("code"),
                codes.c.label.label("code_label"),
                codes.c.domain,
                coders.c.name.label("coder"),
                coders.c.kind.label("coder_kind"),
                codings.c.start,
                codings.c.end,
                codings.c.quote,
                codings.c.origin,
                codings.c.status,
                codings.c.segment_id,
                codings.c.created_at,
                codings.c.modifiers,
                documents.c.attributes,
            )
            .select_from(
                codings.join(documents, codings.c.document_id == documents.c.id)
                .join(codes, codes.c.code_id == codings.c.code_id)
                .join(coders, coders.c.id == codings.c.coder_id)
                .outerjoin(segments, segments.c.id == codings.c.segment_id)
                .outerjoin(cases, cases.c.id == documents.c.case_id)
            )
            .order_by(documents.c.name, codings.c.start, codings.c.code_id)
        )
        if not include_inactive:
            q = q.where(codings.c.status == "active")
        if since is not None:
            q = q.where(codings.c.created_at >= since)
        df = self._frame(q)
        df["modifiers"] = df["modifiers"].map(json.loads)
        df["attributes"] = df["attributes"].map(json.loads)
        return df

    def memos(self) -> pd.DataFrame:
        """Every memo with its author, target and dates."""
        return self._frame(
            sa.select(
                memos.c.id,
                memos.c.target_type,
                memos.c.target_id,
                coders.c.name.label("coder"),
                memos.c.text,
                memos.c.created_at,
                memos.c.updated_at,
            )
            .join(coders, coders.c.id == memos.c.coder_id)
            .order_by(memos.c.created_at)
        )

    def coders(self) -> pd.DataFrame:
        return self._frame(sa.select(coders).order_by(coders.c.name))

    def audit_log(self) -> pd.DataFrame:
        return self._frame(sa.select(audit).order_by(audit.c.seq))

    def last_change(self) -> int:
        """The project's change counter: the number of the last audit-log entry (every change writes one)."""
        with self._guard(), self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.max(audit.c.seq))).scalar() or 0)

    def status(self) -> dict[str, Any]:
        """Counts of everything a researcher asks about first."""

        def count(table: sa.Table, *where: Any) -> int:
            return conn.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar_one()

        live_segments = segments.c.retired.is_(False)
        with self._guard(), self.engine.connect() as conn:
            cb = conn.execute(
                sa.select(codebooks.c.codebook_id, codebooks.c.version).where(codebooks.c.current.is_(True))
            ).first()
            return {
                "project": str(self.directory),
                "codebook": f"{cb.codebook_id} {cb.version}" if cb else None,
                "codes": count(codes, codes.c.active.is_(True)),
                "documents": count(documents),
                "interviews": count(documents, documents.c.kind == "interview"),
                "literature": count(documents, documents.c.kind == "literature"),
                "cases": count(cases),
                "turns": count(turns, turns.c.retired.is_(False)),
                "segments": count(segments, live_segments),
                "codable_segments": count(segments, live_segments, segments.c.codable.is_(True)),
                "codings": count(codings, codings.c.status == "active"),
                "orphaned_codings": count(codings, codings.c.status == "orphaned"),
                "suggestions": count(suggestions),
                "pending_suggestions": count(suggestions, suggestions.c.status == "pending"),
                "decisions": count(decisions),
                "memos": count(memos),
                "coders": count(coders),
            }
