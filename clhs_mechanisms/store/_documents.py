"""Importing documents: one transaction per document, idempotent, and a changed text replaces
the old one only on request, with its codings re-anchored (or kept as orphaned)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..corpus.model import Document
from ..errors import StoreError
from ..segment import Segment, is_interviewer, speaker_key
from ._anchoring import anchor, containing, context
from ._core import ProjectCore, bulk_insert
from ._ids import new_id, new_ids, now
from ._schema import cases, codings, documents, segments, suggestions, turns

# Says "--replace" itself, not as a hint: tests pin this wording of the library's message.
CHANGED_DOCUMENT = (
    "a different version of this document is already in the project; "
    "use --replace to replace it (its codings are re-anchored)"
)

_DOCUMENT_BY_NAME = sa.select(documents.c.id, documents.c.sha256, documents.c.text).where(
    documents.c.name == sa.bindparam("name")
)  # built once: an import runs it per document


@dataclass(frozen=True)
class ImportResult:
    """The outcome of importing one document."""

    name: str
    status: str  # added | unchanged | replaced
    document_id: str
    turns: int = 0
    segments: int = 0
    words: int = 0
    reanchored: int = 0
    unanchored: tuple[str, ...] = ()  # descriptions of codings that could not be re-anchored
    warnings: tuple[str, ...] = ()  # what the reader noticed (stored with the document)


def insert_units(conn: Connection, doc_id: str, document: Document, segs: Sequence[Segment]) -> list[dict]:
    """Insert the turns and segments of a document; returns each segment's id, start and end."""
    turn_ids = new_ids(len(document.turns))
    bulk_insert(
        conn,
        turns,
        [
            (
                turn_ids[i],
                doc_id,
                i,
                t.speaker,
                t.start,
                t.end,
                t.time_start,
                t.time_end,
                json.dumps(dict(t.attributes)) if t.attributes else "{}",
                False,
            )
            for i, t in enumerate(document.turns)
        ],
    )
    seg_ids = new_ids(len(segs))
    bulk_insert(
        conn,
        segments,
        [
            (i, doc_id, turn_ids[s.turn], s.index, s.start, s.end, s.text, s.speaker, s.codable, False)
            for i, s in zip(seg_ids, segs)
        ],
    )
    return [{"id": i, "start": s.start, "end": s.end} for i, s in zip(seg_ids, segs)]


class DocumentsMixin(ProjectCore):
    """Documents with their turns, segments and cases."""

    def set_interviewers(self, document: str, names: Sequence[str], *, coder: str = "system") -> int:
        """Say who interviewed in ``document``: the turns of the speakers ``names`` (and of role labels
        such as 'Interviewer') become not codable, every other turn codable. Codings stay as they are;
        pending suggestions on turns that are no longer codable leave the queue. The names are kept as
        the document's ``interviewer`` attribute. Returns the number of segments that changed."""
        names = [n.strip() for n in names if n and n.strip()]
        with self._guard(), self.engine.begin() as conn:
            doc = conn.execute(
                sa.select(documents.c.id, documents.c.attributes).where(documents.c.name == document)
            ).first()
            if doc is None:
                raise StoreError(f"no document '{document}' in the project")
            live = sa.and_(segments.c.document_id == doc.id, segments.c.retired.is_(False))
            speakers = set(conn.execute(sa.select(segments.c.speaker).where(live).distinct()).scalars()) - {
                None
            }
            keys = {speaker_key(s) for s in speakers}
            unknown = [n for n in names if speaker_key(n) not in keys]
            if unknown:
                known = ", ".join(sorted(speakers)) or "none"
                raise StoreError(f"no speaker '{unknown[0]}' in {document} (speakers: {known})")
            changed = 0
            for speaker in speakers:
                codable = not is_interviewer(speaker, names)
                changed += conn.execute(
                    segments.update()
                    .where(live, segments.c.speaker == speaker, segments.c.codable.is_not(codable))
                    .values(codable=codable)
                ).rowcount
            not_codable = sa.select(segments.c.id).where(live, segments.c.codable.is_(False))
            conn.execute(
                suggestions.update()
                .where(suggestions.c.status == "pending", suggestions.c.segment_id.in_(not_codable))
                .values(status="stale")
            )
            attributes = {k: v for k, v in json.loads(doc.attributes).items() if k != "interviewer"}
            if names:
                attributes["interviewer"] = "; ".join(names)
            conn.execute(
                documents.update().where(documents.c.id == doc.id).values(attributes=json.dumps(attributes))
            )
            self._log(conn, coder, "interviewers", "document", doc.id, {"names": names, "changed": changed})
        return changed

    def import_document(
        self, document: Document, units: Sequence[Segment], *, replace: bool = False, coder: str = "system"
    ) -> ImportResult:
        """Store one document with its turns and segments, in one transaction.

        The same file again adds nothing (status ``unchanged``). A changed file with the
        same name is refused unless ``replace``; then existing codings are re-anchored by
        their quote and context, and those that cannot be are kept as ``orphaned``.
        """
        with self._guard(), self.engine.begin() as conn:
            old = conn.execute(_DOCUMENT_BY_NAME, {"name": document.name}).first()
            if old is not None and old.sha256 == document.sha256:
                return ImportResult(document.name, "unchanged", old.id, warnings=document.warnings)
            if old is not None and not replace:
                raise StoreError(CHANGED_DOCUMENT, where=document.name)
            values = dict(
                kind=document.kind,
                sha256=document.sha256,
                text=document.text,
                attributes=json.dumps(dict(document.attributes)),
                source_path=document.source_path,
                case_id=self._case(conn, document),
                imported_at=now(),
                warnings=json.dumps(list(document.warnings)),
            )
            if old is None:
                doc_id = new_id()
                conn.execute(documents.insert(), dict(id=doc_id, name=document.name, **values))
            else:
                doc_id = old.id
                conn.execute(documents.update().where(documents.c.id == doc_id).values(**values))
                for table in (turns, segments):
                    conn.execute(table.update().where(table.c.document_id == doc_id).values(retired=True))
            seg_rows = insert_units(conn, doc_id, document, units)
            reanchored, lost = 0, []
            if old is not None:
                reanchored, lost = self._reanchor(conn, doc_id, old.text, document.text, seg_rows, coder)
                retired = sa.select(segments.c.id).where(
                    segments.c.document_id == doc_id, segments.c.retired.is_(True)
                )
                conn.execute(
                    suggestions.update()
                    .where(suggestions.c.status == "pending", suggestions.c.segment_id.in_(retired))
                    .values(status="stale")
                )
            status = "added" if old is None else "replaced"
            self._log(
                conn,
                coder,
                "import" if old is None else "replace",
                "document",
                doc_id,
                {
                    "name": document.name,
                    "sha256": document.sha256,
                    "segments": len(units),
                    "reanchored": reanchored,
                    "unanchored": len(lost),
                },
            )
        return ImportResult(
            document.name,
            status,
            doc_id,
            len(document.turns),
            len(units),
            document.words,
            reanchored,
            tuple(lost),
            document.warnings,
        )

    @staticmethod
    def _case(conn: Connection, document: Document) -> str | None:
        """The id of the document's participant as a case (created, or its attributes merged)."""
        participant = document.attributes.get("participant")
        if not participant:
            return None
        attrs = {k: v for k, v in document.attributes.items() if k not in ("file", "participant")}
        row = conn.execute(
            sa.select(cases.c.id, cases.c.attributes).where(cases.c.name == participant)
        ).first()
        if row is None:
            cid = new_id()
            conn.execute(cases.insert().values(id=cid, name=participant, attributes=json.dumps(attrs)))
            return cid
        merged = {**json.loads(row.attributes), **attrs}
        conn.execute(cases.update().where(cases.c.id == row.id).values(attributes=json.dumps(merged)))
        return row.id

    def _reanchor(
        self, conn: Connection, doc_id: str, old_text: str, new_text: str, seg_rows: list[dict], coder: str
    ) -> tuple[int, list[str]]:
        """Move the document's active codings to their quote in ``new_text``; orphan those not found."""
        moved, lost = 0, []
        scale = len(new_text) / max(1, len(old_text))
        rows = conn.execute(
            sa.select(codings).where(codings.c.document_id == doc_id, codings.c.status == "active")
        ).all()
        for c in rows:
            pos = anchor(new_text, c.quote, c.context_before, c.context_after, int(c.start * scale))
            if pos is None:
                conn.execute(
                    codings.update().where(codings.c.id == c.id).values(status="orphaned", segment_id=None)
                )
                lost.append(f'{c.code_id} at {c.start}-{c.end}: "{c.quote[:60]}"')
                self._log(conn, coder, "orphan", "coding", c.id, {"quote": c.quote})
                continue
            end = pos + len(c.quote)
            conn.execute(
                codings.update()
                .where(codings.c.id == c.id)
                .values(
                    start=pos,
                    end=end,
                    segment_id=containing(seg_rows, pos, end),
                    **context(new_text, pos, end),
                )
            )
            moved += 1
        return moved, lost
