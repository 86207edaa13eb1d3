"""Taking work back: change or delete one's own coding, and undo one's last decision or coding.

The audit log is the command log (as in Taguette): every undoable change is an entry by its
coder, and an undo is a new entry naming the entries it reverses, so the history of what was
done and taken back stays readable and nothing is rewritten.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..errors import StoreError
from ..modifiers import dump, modifiers_of
from ._anchoring import containing, context
from ._core import ProjectCore
from ._schema import audit, coders, codings, decisions, documents, segments, suggestions

MODIFY = "modify"  # the audit action of a change of a coding's modifiers (``_modifiers``)
UNDOABLE = ("accept", "reject", "edit", "code", "recode", "delete", MODIFY)
_LOOKBACK = 500  # audit entries of one coder searched for the last undoable one


@dataclass(frozen=True)
class Undone:
    """What an undo reversed: the action, what it acted on, and a sentence for the person."""

    action: str
    entity: str
    entity_id: str
    message: str


class EditsMixin(ProjectCore):
    """Change, delete and undo, each refused unless the coder owns what it changes."""

    def _own_coding(self, conn: Connection, coding_id: str, coder: str) -> sa.Row:
        row = conn.execute(
            sa.select(codings, coders.c.name.label("coder"))
            .join(coders, coders.c.id == codings.c.coder_id)
            .where(codings.c.id == coding_id)
        ).first()
        if row is None or row.status != "active":
            raise StoreError(f"no active coding '{coding_id}' (deleted meanwhile?); nothing changed")
        if row.coder != coder:
            raise StoreError(
                f"coding '{coding_id}' is {row.coder}'s: only its coder can change or delete it; "
                "nothing changed"
            )
        return row

    def delete_coding(self, coding_id: str, *, coder: str) -> None:
        """Mark ``coder``'s own coding deleted (the row and the audit trail remain)."""
        with self._guard(), self.engine.begin() as conn:
            row = self._own_coding(conn, coding_id, coder)
            conn.execute(codings.update().where(codings.c.id == coding_id).values(status="deleted"))
            self._log(conn, coder, "delete", "coding", coding_id, {"code": row.code_id})

    def recode(
        self, coding_id: str, *, coder: str, code: str | None = None, span: tuple[int, int] | None = None
    ) -> None:
        """Change the code and/or the span of ``coder``'s own coding; the audit entry keeps the old
        values, so the change can be undone and its history read."""
        if code is None and span is None:
            raise StoreError("a change needs another code or another span")
        if code is not None:
            self.require_code(code)
        with self._guard(), self.engine.begin() as conn:
            row = self._own_coding(conn, coding_id, coder)
            before = {"code": row.code_id, "start": row.start, "end": row.end}
            after = {"code": code or row.code_id, "start": (span or (row.start, row.end))[0]}
            after["end"] = (span or (row.start, row.end))[1]
            if after == before:
                raise StoreError("the coding already has this code and span; nothing changed")
            mods = json.loads(row.modifiers or "{}")
            kept = self._modifiers_for(after["code"], mods)
            if kept != mods:  # those the new code does not take are dropped, and come back on undo
                before["modifiers"], after["modifiers"] = mods, kept
            self._set_coding(conn, row, after)
            self._log(conn, coder, "recode", "coding", coding_id, {"before": before, "after": after})

    def _modifiers_for(self, code: str, mods: dict[str, str]) -> dict[str, str]:
        """The modifiers of ``mods`` that a coding of ``code`` may carry."""
        if not mods:
            return mods
        known, cb = modifiers_of(self.codebook), self.codebook
        return {k: v for k, v in mods.items() if k in known and known[k].applies(cb, code)}

    def _set_coding(self, conn: Connection, row: sa.Row, values: dict) -> None:
        """Give a coding another code and span (and modifiers, if given), with the quote, context and
        segment that go with it."""
        text = conn.execute(sa.select(documents.c.text).where(documents.c.id == row.document_id)).scalar_one()
        start, end = int(values["start"]), int(values["end"])
        if not 0 <= start < end <= len(text):
            raise StoreError(f"span {start}-{end} is outside the document (0-{len(text)}); nothing changed")
        seg_rows = (
            conn.execute(
                sa.select(segments.c.id, segments.c.start, segments.c.end).where(
                    segments.c.document_id == row.document_id, segments.c.retired.is_(False)
                )
            )
            .mappings()
            .all()
        )
        duplicate = conn.execute(
            sa.select(codings.c.id).where(
                codings.c.document_id == row.document_id,
                codings.c.coder_id == row.coder_id,
                codings.c.code_id == values["code"],
                codings.c.start == start,
                codings.c.end == end,
                codings.c.status == "active",
                codings.c.id != row.id,
            )
        ).first()
        if duplicate is not None:
            raise StoreError(f"that would duplicate coding '{duplicate.id}'; nothing changed")
        conn.execute(
            codings.update()
            .where(codings.c.id == row.id)
            .values(
                code_id=values["code"],
                start=start,
                end=end,
                segment_id=containing(seg_rows, start, end),
                quote=text[start:end],
                **context(text, start, end),
                **({"modifiers": dump(values["modifiers"])} if "modifiers" in values else {}),
            )
        )

    def undo(self, *, coder: str) -> Undone:
        """Take back ``coder``'s last decision, coding, change or deletion that is not undone yet.

        A decision's suggestion is pending again and the coding it made is deleted; a coding is
        deleted; a change gets its old code and span back; a deletion is restored. Repeated undos
        go further back. Refused, with nothing changed, when there is nothing to undo or when
        someone else has changed what the entry acted on since.
        """
        with self._guard(), self.engine.begin() as conn:
            entry = _last_undoable(conn, coder)
            if entry is None:
                raise StoreError(f"nothing to undo: {coder} has no decision or coding left to take back")
            covered, message = self._reverse(conn, entry)
            self._log(
                conn, coder, "undo", entry.entity, entry.entity_id, {"of": covered, "action": entry.action}
            )
            return Undone(entry.action, entry.entity, entry.entity_id, message)

    def _reverse(self, conn: Connection, entry: sa.Row) -> tuple[list[int], str]:
        """Reverse one audit entry; the audit sequence numbers it covers, and what was done."""
        detail = json.loads(entry.detail or "{}")
        if entry.entity == "suggestion":
            return self._reverse_decision(conn, entry)
        row = conn.execute(sa.select(codings).where(codings.c.id == entry.entity_id)).first()
        if row is None:
            raise StoreError(f"coding '{entry.entity_id}' is gone; nothing to undo")
        if entry.action == "delete":
            if row.status != "deleted":
                raise StoreError(f"coding '{row.id}' is not deleted any more; nothing changed")
            conn.execute(codings.update().where(codings.c.id == row.id).values(status="active"))
            return [entry.seq], f"restored the deleted coding of '{row.code_id}'"
        if row.status != "active":
            raise StoreError(f"coding '{row.id}' was deleted since; nothing changed")
        if entry.action == "recode":
            self._set_coding(conn, row, detail["before"])
            return [entry.seq], f"gave the coding its code '{detail['before']['code']}' and span back"
        if entry.action == MODIFY:
            return [entry.seq], self._reverse_modifiers(conn, row, detail)
        conn.execute(codings.update().where(codings.c.id == row.id).values(status="deleted"))
        return [entry.seq], f"removed the coding of '{row.code_id}' at {row.start}-{row.end}"

    def _reverse_modifiers(self, conn: Connection, row: sa.Row, detail: dict) -> str:
        """Give a coding the modifiers it had before a change, unless they were changed since."""
        if json.loads(row.modifiers or "{}") != detail["after"]:
            raise StoreError(f"the modifiers of coding '{row.id}' were changed since; nothing changed")
        before = detail["before"]
        conn.execute(codings.update().where(codings.c.id == row.id).values(modifiers=dump(before)))
        shown = ", ".join(f"{k}={v}" for k, v in sorted(before.items())) or "none"
        return f"gave the coding of '{row.code_id}' its modifiers back ({shown})"

    def _reverse_decision(self, conn: Connection, entry: sa.Row) -> tuple[list[int], str]:
        decision = conn.execute(
            sa.select(decisions)
            .join(coders, coders.c.id == decisions.c.coder_id)
            .where(decisions.c.suggestion_id == entry.entity_id, coders.c.name == entry.coder)
        ).first()
        if decision is None:
            raise StoreError(f"suggestion '{entry.entity_id}' has no decision any more; nothing to undo")
        covered = [entry.seq]
        if decision.coding_id is not None:
            coding = conn.execute(sa.select(codings).where(codings.c.id == decision.coding_id)).first()
            if coding is not None and coding.status == "active":
                conn.execute(codings.update().where(codings.c.id == coding.id).values(status="deleted"))
            made = conn.execute(
                sa.select(audit.c.seq).where(
                    audit.c.action == "code", audit.c.entity_id == decision.coding_id
                )
            ).scalar()
            covered += [made] if made is not None else []
        conn.execute(decisions.delete().where(decisions.c.id == decision.id))
        retired = conn.execute(
            sa.select(segments.c.retired)
            .join(suggestions, suggestions.c.segment_id == segments.c.id)
            .where(suggestions.c.id == entry.entity_id)
        ).scalar()
        others = conn.execute(  # blind coding: other coders' decisions on it stay
            sa.select(decisions.c.id).where(decisions.c.suggestion_id == entry.entity_id)
        ).first()
        status = "stale" if retired else ("decided" if others else "pending")
        conn.execute(suggestions.update().where(suggestions.c.id == entry.entity_id).values(status=status))
        again = {"pending": "is pending again", "decided": "is yours to decide again"}.get(
            status, "is undone (its text was replaced since)"
        )
        return covered, f"your {entry.action} of '{decision.code_id}' {again}"


def _last_undoable(conn: Connection, coder: str) -> sa.Row | None:
    """The coder's latest undoable audit entry that no undo covers yet. A coding made by a decision
    is undone with its decision, never on its own."""
    rows = conn.execute(
        sa.select(audit)
        .where(audit.c.coder == coder, audit.c.action.in_((*UNDOABLE, "undo")))
        .order_by(audit.c.seq.desc())
        .limit(_LOOKBACK)
    ).all()
    undone = {seq for r in rows if r.action == "undo" for seq in json.loads(r.detail or "{}").get("of", [])}
    for row in rows:
        if row.action == "undo" or row.seq in undone:
            continue
        if row.action == "code" and row.entity == "coding":
            made_by_decision = conn.execute(
                sa.select(codings.c.suggestion_id).where(codings.c.id == row.entity_id)
            ).scalar()
            if made_by_decision is not None:
                continue
        if row.entity in ("coding", "suggestion"):
            return row
    return None
