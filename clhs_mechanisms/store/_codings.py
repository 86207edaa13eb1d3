"""Codings, memos and decisions: what people do with the text and with machine suggestions."""

from __future__ import annotations

import operator
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..errors import StoreError
from ..modifiers import dump
from ._anchoring import containing, context
from ._core import ProjectCore
from ._ids import new_id, now
from ._schema import coders, codings, decisions, documents, memos, segments, suggestions

MEMO_TARGETS = ("project", "document", "segment", "coding", "code")


def insert_coding(
    conn: Connection,
    coding_id: str,
    doc_id: str,
    text: str,
    start: int,
    end: int,
    code: str,
    *,
    coder_id: str,
    origin: str,
    suggestion_id: str | None,
    created_at: str,
    where: str | None = None,
    modifiers: dict[str, str] | None = None,
) -> None:
    """Insert one active coding of ``text[start:end]``, linked to the segment holding it,
    with the quote and context that let it be re-anchored later, and its (validated) ``modifiers``.
    Offsets may be any integers (numpy's from a DataFrame are stored as the numbers they are, not
    as bytes)."""
    try:
        start, end = operator.index(start), operator.index(end)
    except TypeError:
        raise StoreError(f"span offsets must be whole numbers, not {start!r}-{end!r}", where=where) from None
    if not 0 <= start < end <= len(text):
        raise StoreError(f"span {start}-{end} is outside the document (0-{len(text)})", where=where)
    seg_rows = (
        conn.execute(
            sa.select(segments.c.id, segments.c.start, segments.c.end).where(
                segments.c.document_id == doc_id, segments.c.retired.is_(False)
            )
        )
        .mappings()
        .all()
    )
    conn.execute(
        codings.insert().values(
            id=coding_id,
            document_id=doc_id,
            segment_id=containing(seg_rows, start, end),
            start=start,
            end=end,
            code_id=code,
            coder_id=coder_id,
            origin=origin,
            suggestion_id=suggestion_id,
            quote=text[start:end],
            status="active",
            created_at=created_at,
            modifiers=dump(modifiers or {}),
            **context(text, start, end),
        )
    )


class CodingsMixin(ProjectCore):
    """Codings by hand, memos, and the decisions that turn suggestions into codings."""

    def add_coding(
        self,
        document: str,
        start: int,
        end: int,
        code: str,
        *,
        coder: str,
        origin: str = "manual",
        suggestion_id: str | None = None,
        conn: Connection | None = None,
        modifiers: dict[str, str] | None = None,
    ) -> str:
        """Apply ``code`` to ``document.text[start:end]`` on behalf of ``coder`` (``document``: its
        name or id), with ``modifiers`` (modifier -> value, checked against the codebook); with
        ``conn`` inside that transaction, whose caller has checked the code and modifiers. The
        same code on the same span by the same coder twice is refused (from a decision, the
        decision links to the coding that exists)."""
        if conn is None:
            self.require_code(code)
            modifiers = self.check_modifiers(code, modifiers) if modifiers else None
            self.coder_id(coder)
            with self._guard(), self.engine.begin() as c:
                return self.add_coding(
                    document,
                    start,
                    end,
                    code,
                    coder=coder,
                    origin=origin,
                    suggestion_id=suggestion_id,
                    conn=c,
                    modifiers=modifiers,
                )
        doc = conn.execute(
            sa.select(documents.c.id, documents.c.text).where(
                sa.or_(documents.c.name == document, documents.c.id == document)
            )
        ).first()
        if doc is None:
            raise StoreError(f"no document '{document}' in the project")
        coder_id = self.coder_id(coder, conn=conn)
        same = conn.execute(
            sa.select(codings.c.id).where(
                codings.c.document_id == doc.id,
                codings.c.coder_id == coder_id,
                codings.c.code_id == code,
                codings.c.start == start,
                codings.c.end == end,
                codings.c.status == "active",
            )
        ).scalar()
        if same is not None:
            if origin == "suggestion":  # accepting what the coder already coded: the decision points at it
                return same
            raise StoreError(f"{coder} already coded '{code}' on {start}-{end} of {document}; nothing added")
        cid = new_id()
        insert_coding(
            conn,
            cid,
            doc.id,
            doc.text,
            start,
            end,
            code,
            coder_id=coder_id,
            origin=origin,
            suggestion_id=suggestion_id,
            created_at=now(),
            where=document,
            modifiers=(mods := {k: v for k, v in (modifiers or {}).items() if v is not None}),
        )
        detail = {"document": document, "code": code, "start": start, "end": end}
        self._log(conn, coder, "code", "coding", cid, {**detail, **({"modifiers": mods} if mods else {})})
        return cid

    def add_codings(self, spans: Iterable[tuple], *, coder: str, origin: str = "manual") -> list[str]:
        """Apply several ``(document, start, end, code)`` or ``(document, start, end, code,
        modifiers)`` in one transaction: all or none."""
        spans = [(*s[:4], self.check_modifiers(s[3], s[4]) if len(s) > 4 and s[4] else None) for s in spans]
        for code in sorted({s[3] for s in spans}):
            self.require_code(code)
        self.coder_id(coder)
        with self._guard(), self.engine.begin() as conn:
            return [
                self.add_coding(d, s, e, c, coder=coder, origin=origin, conn=conn, modifiers=m)
                for d, s, e, c, m in spans
            ]

    def add_memo(
        self, text: str, *, coder: str, target_type: str = "project", target_id: str | None = None
    ) -> str:
        """Write a memo about the project, a document, a segment, a coding or a code."""
        if not text.strip():
            raise StoreError("a memo needs some text")
        if target_type not in MEMO_TARGETS:
            raise StoreError(f"unknown memo target '{target_type}'")
        self.coder_id(coder)
        with self._guard(), self.engine.begin() as conn:
            mid = new_id()
            t = now()
            conn.execute(
                memos.insert().values(
                    id=mid,
                    target_type=target_type,
                    target_id=target_id,
                    coder_id=self.coder_id(coder, conn=conn),
                    text=text,
                    created_at=t,
                    updated_at=t,
                )
            )
            self._log(conn, coder, "memo", target_type, target_id, {"memo": mid})
            return mid

    def decide(
        self,
        suggestion_id: str,
        action: str,
        *,
        coder: str,
        code: str | None = None,
        span: tuple[int, int] | None = None,
        modifiers: dict[str, str] | None = None,
    ) -> str:
        """Accept, reject or edit a suggestion; returns the decision id. ``modifiers`` go on the coding
        an accept or edit makes.

        ``edit`` applies another ``code`` and/or an adjusted ``span`` (start, end in the
        document). Accepting or editing creates a coding by ``coder`` that records the
        suggestion it came from. A suggestion already decided is refused with who decided
        it and when; nothing is overwritten. With the project setting ``blind`` on, every coder
        decides every suggestion for themselves: only a second decision by the same coder is refused.
        """
        if action not in ("accept", "reject", "edit"):
            raise StoreError(f"unknown decision '{action}' (use accept, reject or edit)")
        if action == "edit" and not code and span is None:
            raise StoreError("an edit needs another code or an adjusted span")
        if code:
            self.require_code(code)
        coder_id = self.coder_id(coder)
        mine = coder_id if self.blind else None
        with self._guard():
            try:
                with self.engine.begin() as conn:
                    return self._decide(
                        conn,
                        suggestion_id,
                        action,
                        coder=coder,
                        code=code,
                        span=span,
                        mine=mine,
                        modifiers=modifiers,
                    )
            except sa.exc.IntegrityError:
                with self.engine.connect() as conn:
                    _refuse_if_decided(conn, suggestion_id, mine)
                raise

    def _decide(
        self,
        conn: Connection,
        suggestion_id: str,
        action: str,
        *,
        coder: str,
        code: str | None,
        span: tuple[int, int] | None,
        mine: str | None,
        modifiers: dict[str, str] | None = None,
    ) -> str:
        """The decision in ``conn``; ``mine`` (blind coding): the coder id whose decisions alone count."""
        if mine is None:
            _take(conn, suggestion_id)
        sug = _suggestion(conn, suggestion_id)
        _refuse_if_decided(conn, suggestion_id, mine, pair=(sug.segment_id, sug.code_id))
        if sug.retired:  # its offsets belong to a text that is gone (a suggestion made stale by a newer
            # suggestion pass, on the same text, may still be decided)
            raise StoreError(
                f"suggestion '{suggestion_id}' is out of date: the document was re-imported with another "
                "text since it was made, so it was not applied",
                hint="clhs suggest",
            )
        final = code or sug.code_id
        modifiers = self.check_modifiers(final, modifiers) if modifiers and action != "reject" else None
        coding_id = None
        if action != "reject":
            doc_name = conn.execute(
                sa.select(documents.c.name).where(documents.c.id == sug.document_id)
            ).scalar_one()
            start, end = span if span is not None else (sug.s, sug.e)
            coding_id = self.add_coding(
                doc_name,
                start,
                end,
                final,
                coder=coder,
                origin="suggestion",
                suggestion_id=suggestion_id,
                conn=conn,
                modifiers=modifiers,
            )
        decision_id = new_id()
        conn.execute(
            decisions.insert().values(
                id=decision_id,
                suggestion_id=suggestion_id,
                coder_id=self.coder_id(coder, conn=conn),
                action=action,
                code_id=final if action != "reject" else sug.code_id,
                coding_id=coding_id,
                created_at=now(),
            )
        )
        _settle(conn, sug, final)
        self._log(
            conn,
            coder,
            action,
            "suggestion",
            suggestion_id,
            {"code": sug.code_id, "final": final, "coding": coding_id},
        )
        return decision_id


def _suggestion(conn: Connection, suggestion_id: str) -> sa.Row:
    """The suggestion with its segment's document, span and whether it is retired."""
    sug = conn.execute(
        sa.select(
            suggestions,
            segments.c.document_id,
            segments.c.start.label("s"),
            segments.c.end.label("e"),
            segments.c.retired,
        )
        .join(segments, segments.c.id == suggestions.c.segment_id)
        .where(suggestions.c.id == suggestion_id)
    ).first()
    if sug is None:
        raise StoreError(f"no suggestion '{suggestion_id}'")
    return sug


def _settle(conn: Connection, sug: sa.Row, final: str) -> None:
    """The suggestion is decided, and its pair settled: a newer pass's suggestion for the same
    segment and code must not stay pending."""
    conn.execute(suggestions.update().where(suggestions.c.id == sug.id).values(status="decided"))
    conn.execute(
        suggestions.update()
        .where(
            suggestions.c.segment_id == sug.segment_id,
            suggestions.c.code_id.in_({sug.code_id, final}),
            suggestions.c.status == "pending",
        )
        .values(status="stale")
    )


def _take(conn: Connection, suggestion_id: str) -> None:
    """Mark the suggestion decided as this transaction's first write, or refuse because someone else
    was first (the update waits for their transaction, so two deciders never both pass)."""
    taken = conn.execute(
        suggestions.update()
        .where(suggestions.c.id == suggestion_id, suggestions.c.status != "decided")
        .values(status="decided")
    ).rowcount
    if not taken:
        _refuse_if_decided(conn, suggestion_id)


def _refuse_if_decided(
    conn: Connection, suggestion_id: str, coder_id: str | None = None, *, pair: tuple[str, str] | None = None
) -> None:
    """Refuse a decision on a suggestion already decided (by ``coder_id`` only, when given); with
    ``pair`` (segment, code), also when another suggestion of the pair was decided (an older pass's
    suggestion and the newer one that replaced it are one question)."""
    same = decisions.c.suggestion_id == suggestion_id
    if pair is not None:
        of_pair = sa.select(suggestions.c.id).where(
            suggestions.c.segment_id == pair[0], suggestions.c.code_id == pair[1]
        )
        same = sa.or_(same, decisions.c.suggestion_id.in_(of_pair))
    q = (
        sa.select(coders.c.name, decisions.c.action, decisions.c.created_at)
        .join(coders, coders.c.id == decisions.c.coder_id)
        .where(same)
    )
    prior = conn.execute(q if coder_id is None else q.where(decisions.c.coder_id == coder_id)).first()
    if prior is not None:
        raise StoreError(
            f"suggestion {suggestion_id} was already decided ({prior.action}) by {prior.name} "
            f"at {prior.created_at}; nothing changed"
        )
