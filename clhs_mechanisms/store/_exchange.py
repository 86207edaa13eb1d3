"""Exchange with other tools (clhs_mechanisms.interop): consistent reads for an export, and
writes that keep the other tool's GUIDs, authors and dates.

Every ``exchange_*`` method works inside the caller's transaction (``exchange_transaction``),
so an import lands whole or not at all.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..corpus.model import Document
from ..errors import StoreError
from ..segment import Segment
from ._codings import insert_coding
from ._core import ProjectCore
from ._documents import insert_units
from ._ids import now
from ._records import (
    CaseRecord,
    CoderRecord,
    CodingRecord,
    DocumentRecord,
    HumanCoding,
    MemoRecord,
    ProjectSnapshot,
    ProvenanceRecord,
    SpanRecord,
    StoredCodes,
    TrainingUnits,
    UnitRecord,
)
from ._schema import (
    cases,
    coders,
    codes,
    codings,
    decisions,
    documents,
    memos,
    meta_table,
    segments,
    suggestions,
)

_COUNTED = {"coders": coders, "cases": cases}


def _stored_codes(conn: Connection) -> StoredCodes:
    rows = conn.execute(sa.select(codes.c.code_id, codes.c.id, codes.c.label)).all()
    used = conn.execute(sa.select(codings.c.code_id).where(codings.c.status == "active").distinct())
    return StoredCodes(
        guids={r.code_id: r.id for r in rows},
        labels={r.code_id: r.label for r in rows},
        meta=dict(conn.execute(sa.select(meta_table.c.key, meta_table.c.value)).all()),
        used=frozenset(used.scalars()),
    )


def _records(conn: Connection, query: sa.Select, record: type) -> list:
    return [record(**row._mapping) for row in conn.execute(query)]


def _provenance(conn: Connection) -> list[ProvenanceRecord]:
    q = (
        sa.select(
            codings.c.id.label("coding_id"),
            codings.c.start,
            codings.c.end,
            codings.c.code_id.label("final"),
            decisions.c.action,
            decisions.c.created_at.label("decided_at"),
            decisions.c.coder_id.label("decider_id"),
            suggestions.c.code_id.label("suggested"),
            suggestions.c.method,
            suggestions.c.score,
            suggestions.c.model_version,
            suggestions.c.codebook_version,
            suggestions.c.created_at.label("suggested_at"),
        )
        .select_from(
            codings.join(suggestions, suggestions.c.id == codings.c.suggestion_id).outerjoin(
                decisions, decisions.c.suggestion_id == suggestions.c.id
            )
        )
        .where(codings.c.status == "active")
    )
    return _records(conn, q, ProvenanceRecord)


def _count(conn: Connection, table: sa.Table, *where: sa.ColumnElement) -> int:
    return conn.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar_one()


def _with_attributes(record: type, rows: Sequence[sa.Row]) -> list:
    """Records with their JSON columns (attributes, and a document's warnings) parsed."""
    parsed = []
    for row in rows:
        values = {**row._mapping, "attributes": json.loads(row.attributes)}
        if "warnings" in values:
            values["warnings"] = tuple(json.loads(values["warnings"]))
        parsed.append(record(**values))
    return parsed


class ExchangeMixin(ProjectCore):
    """Reads and writes for interop: REFI-QDA export and import, training data."""

    @contextmanager
    def _snapshot(self) -> Iterator[Connection]:
        """A read transaction, so a reader sees one consistent state of the project."""
        with self._guard(), self.engine.connect() as conn, conn.begin():
            yield conn

    # -- consistent reads ------------------------------------------------------

    def stored_codes(self) -> StoredCodes:
        """The GUID and label of every code the project has known, its ``meta``, and the codes in use."""
        with self._snapshot() as conn:
            return _stored_codes(conn)

    def export_snapshot(self) -> ProjectSnapshot:
        """Everything a project export needs, read in one transaction."""
        with self._snapshot() as conn:
            memo_rows = _records(
                conn,
                sa.select(*[memos.c[f] for f in MemoRecord._fields]).order_by(memos.c.created_at, memos.c.id),
                MemoRecord,
            )
            seg_ids = [m.target_id for m in memo_rows if m.target_type == "segment" and m.target_id]
            spans = _records(
                conn,
                sa.select(segments.c.id, segments.c.document_id, segments.c.start, segments.c.end).where(
                    segments.c.id.in_(seg_ids)
                ),
                SpanRecord,
            )
            coding_q = (
                sa.select(*[codings.c[f] for f in CodingRecord._fields])
                .where(codings.c.status == "active")
                .order_by(
                    codings.c.document_id, codings.c.start, codings.c.end, codings.c.created_at, codings.c.id
                )
            )
            return ProjectSnapshot(
                codes=_stored_codes(conn),
                coders={  # never the password hash or role: an exchange names people, nothing more
                    r.id: r
                    for r in _records(
                        conn,
                        sa.select(coders.c.id, coders.c.name, coders.c.kind, coders.c.created_at),
                        CoderRecord,
                    )
                },
                documents=_with_attributes(
                    DocumentRecord, conn.execute(sa.select(documents).order_by(documents.c.name)).all()
                ),
                cases=_with_attributes(
                    CaseRecord, conn.execute(sa.select(cases).order_by(cases.c.name)).all()
                ),
                codings=_records(conn, coding_q, CodingRecord),
                provenance=_provenance(conn),
                memos=memo_rows,
                memo_segments={s.id: s for s in spans},
                pending=_count(conn, suggestions, suggestions.c.status.in_(("pending", "stale"))),
                rejected=_count(conn, decisions, decisions.c.action == "reject"),
                inactive=[
                    tuple(r)
                    for r in conn.execute(
                        sa.select(codings.c.status, sa.func.count())
                        .where(codings.c.status != "active")
                        .group_by(codings.c.status)
                    )
                ],
            )

    def training_units(self) -> TrainingUnits:
        """The current codable segments, the human codings on them and the segments with a decided
        suggestion, read in one transaction."""
        with self._snapshot() as conn:
            coded = _records(
                conn,
                sa.select(codings.c.segment_id, codings.c.code_id, codings.c.start, codings.c.end)
                .join(coders, coders.c.id == codings.c.coder_id)
                .where(
                    codings.c.status == "active", coders.c.kind == "human", codings.c.segment_id.is_not(None)
                ),
                HumanCoding,
            )
            decided = conn.execute(
                sa.select(suggestions.c.segment_id).join(
                    decisions, decisions.c.suggestion_id == suggestions.c.id
                )
            ).scalars()
            rows = conn.execute(
                sa.select(
                    segments.c.id,
                    segments.c.idx,
                    segments.c.start,
                    segments.c.end,
                    segments.c.text,
                    segments.c.speaker,
                    documents.c.name,
                    documents.c.kind,
                    documents.c.attributes,
                )
                .join(documents, documents.c.id == segments.c.document_id)
                .where(segments.c.retired.is_(False), segments.c.codable.is_(True))
                .order_by(documents.c.name, segments.c.idx)
            ).all()
            return TrainingUnits(_with_attributes(UnitRecord, rows), coded, frozenset(decided))

    # -- inside an import's transaction -------------------------------------------

    @contextmanager
    def exchange_transaction(self) -> Iterator[Connection]:
        """One write transaction for an import; database failures become StoreErrors."""
        with self._guard(), self.engine.begin() as conn:
            yield conn

    @staticmethod
    def exchange_count(conn: Connection, what: str) -> int:
        """How many ``coders`` or ``cases`` the project has."""
        return _count(conn, _COUNTED[what])

    @staticmethod
    def exchange_document_names(conn: Connection) -> dict[str, str]:
        """Document name -> id."""
        return dict(conn.execute(sa.select(documents.c.name, documents.c.id)).all())

    @staticmethod
    def exchange_document_text(conn: Connection, doc_id: str) -> str | None:
        """The text of the document with id ``doc_id``, or None if there is none."""
        return conn.execute(sa.select(documents.c.text).where(documents.c.id == doc_id)).scalar()

    @staticmethod
    def exchange_segment_at(conn: Connection, doc_id: str, start: int, end: int) -> str | None:
        """The id of the current segment of the document spanning exactly ``start``-``end``."""
        return conn.execute(
            sa.select(segments.c.id).where(
                segments.c.document_id == doc_id,
                segments.c.start == start,
                segments.c.end == end,
                segments.c.retired.is_(False),
            )
        ).scalar()

    @staticmethod
    def exchange_memo_ids(conn: Connection) -> set[str]:
        return set(conn.execute(sa.select(memos.c.id)).scalars())

    @staticmethod
    def exchange_has_coding(conn: Connection, coding_id: str) -> bool:
        return conn.execute(sa.select(codings.c.id).where(codings.c.id == coding_id)).first() is not None

    @staticmethod
    def exchange_case_attributes(conn: Connection, case_id: str) -> dict[str, str]:
        value = conn.execute(sa.select(cases.c.attributes).where(cases.c.id == case_id)).scalar()
        return json.loads(value) if value else {}

    def exchange_coder(self, conn: Connection, guid: str, name: str, *, kind: str = "human") -> str:
        """The coder with id ``guid`` (or, failing that, called ``name``), created with that id if new."""
        name = (name or "").strip() or f"user {guid[:8]}"
        row = conn.execute(sa.select(coders.c.id).where(coders.c.id == guid)).first()
        if row is None:
            row = conn.execute(sa.select(coders.c.id).where(coders.c.name == name)).first()
        if row is not None:
            return row.id
        conn.execute(coders.insert().values(id=guid, name=name, kind=kind, created_at=now()))
        self._log(conn, name, "create", "coder", guid, {"kind": kind, "via": "exchange"})
        return guid

    @staticmethod
    def exchange_case(conn: Connection, guid: str, name: str, attributes: dict[str, str]) -> str:
        """The case with id ``guid`` (or called ``name``), created with that id and attributes if new."""
        row = conn.execute(
            sa.select(cases.c.id).where(sa.or_(cases.c.id == guid, cases.c.name == name))
        ).first()
        if row is not None:
            return row.id
        conn.execute(cases.insert().values(id=guid, name=name, attributes=json.dumps(attributes)))
        return guid

    def exchange_document(
        self,
        conn: Connection,
        doc_id: str,
        document: Document,
        units: Sequence[Segment],
        *,
        case_id: str | None,
        imported_at: str,
        coder: str = "system",
    ) -> None:
        """Store a document under the id ``doc_id`` with its turns and segments."""
        conn.execute(
            documents.insert().values(
                id=doc_id,
                name=document.name,
                kind=document.kind,
                sha256=document.sha256,
                text=document.text,
                attributes=json.dumps(dict(document.attributes)),
                source_path=document.source_path,
                case_id=case_id,
                imported_at=imported_at,
            )
        )
        insert_units(conn, doc_id, document, units)
        self._log(
            conn,
            coder,
            "import",
            "document",
            doc_id,
            {"name": document.name, "sha256": document.sha256, "segments": len(units), "via": "exchange"},
        )

    def exchange_coding(
        self,
        conn: Connection,
        coding_id: str,
        doc_id: str,
        start: int,
        end: int,
        code: str,
        *,
        coder_id: str,
        created_at: str,
        origin: str = "import",
        coder: str = "system",
    ) -> None:
        """Store a coding with the id, author and creation time it had in the other tool."""
        text = self.exchange_document_text(conn, doc_id)
        if text is None:
            raise StoreError(f"no document with id '{doc_id}' in the project")
        insert_coding(
            conn,
            coding_id,
            doc_id,
            text,
            start,
            end,
            code,
            coder_id=coder_id,
            origin=origin,
            suggestion_id=None,
            created_at=created_at,
        )
        self._log(
            conn,
            coder,
            "code",
            "coding",
            coding_id,
            {"document": doc_id, "code": code, "start": start, "end": end, "via": "exchange"},
        )

    def exchange_memo(
        self,
        conn: Connection,
        memo_id: str,
        target_type: str,
        target_id: str | None,
        *,
        coder_id: str,
        text: str,
        created_at: str,
        updated_at: str,
        coder: str = "system",
    ) -> None:
        """Store a memo with the id, author and dates it had in the other tool."""
        conn.execute(
            memos.insert().values(
                id=memo_id,
                target_type=target_type,
                target_id=target_id,
                coder_id=coder_id,
                text=text,
                created_at=created_at,
                updated_at=updated_at,
            )
        )
        self._log(conn, coder, "memo", target_type, target_id, {"memo": memo_id, "via": "exchange"})

    @staticmethod
    def exchange_code_guid(conn: Connection, code_id: str, guid: str) -> bool:
        """Give a code the GUID it had in the other tool (unless another code has it); True if set."""
        if conn.execute(sa.select(codes.c.id).where(codes.c.id == guid)).first() is not None:
            return False
        return bool(conn.execute(codes.update().where(codes.c.code_id == code_id).values(id=guid)).rowcount)
