"""Modifiers on codings (valence, cx, engagement level, originator, ...): set by the coding's own
coder, validated against the current codebook, audit-logged with before and after so that
``Project.undo`` can take the change back."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..errors import ClhsError, StoreError
from ..modifiers import check_modifiers, dump
from ._edits import MODIFY, EditsMixin
from ._schema import codings


class ModifiersMixin(EditsMixin):
    """Set, read and validate the modifiers of codings."""

    def check_modifiers(self, code: str, values: Mapping[str, object], *, where: str | None = None) -> dict:
        """``values`` validated for a coding of ``code`` against the current codebook and normalised to
        text (None kept: it removes a modifier); a StoreError names the unknown modifier, the value the
        codebook does not define or the code the modifier does not apply to."""
        try:
            return check_modifiers(self.codebook, code, values)
        except StoreError:
            raise
        except ClhsError as exc:
            raise StoreError(exc.message, where=where) from None

    def set_modifiers(
        self, coding_id: str, values: Mapping[str, str | None], *, coder: str
    ) -> dict[str, str]:
        """Set (a value) or remove (None) modifiers of ``coder``'s own coding; returns its modifiers now.

        Modifiers not named keep their value; a modifier the coding carries can always be removed.
        Refused, with nothing changed, for someone else's coding, an invalid modifier or value, or
        when nothing would change.
        """
        if not values:
            raise StoreError("name at least one modifier to set or remove, e.g. valence=negative")
        with self._guard(), self.engine.begin() as conn:
            row = self._own_coding(conn, coding_id, coder)
            before = json.loads(row.modifiers or "{}")
            drop = {k for k, v in values.items() if v is None and k in before}  # even if no longer valid
            checked = self.check_modifiers(row.code_id, {k: v for k, v in values.items() if k not in drop})
            after = {k: v for k, v in {**before, **checked}.items() if v is not None and k not in drop}
            if after == before:
                raise StoreError(f"coding '{coding_id}' already has these modifiers; nothing changed")
            self._write_modifiers(conn, coding_id, before, after, coder=coder, code=row.code_id)
            return after

    def update_modifiers(self, changes: Iterable[tuple[str, Mapping[str, str]]], *, coder: str) -> int:
        """Give each ``(coding id, modifiers)`` exactly those (already validated) modifiers, in one
        transaction, each change audit-logged like :meth:`set_modifiers`; returns how many changed."""
        n = 0
        with self._guard(), self.engine.begin() as conn:
            for coding_id, values in changes:
                row = self._own_coding(conn, coding_id, coder)
                before = json.loads(row.modifiers or "{}")
                if dict(values) != before:
                    self._write_modifiers(
                        conn, coding_id, before, dict(values), coder=coder, code=row.code_id
                    )
                    n += 1
        return n

    def _write_modifiers(
        self, conn: Connection, coding_id: str, before: dict, after: dict, *, coder: str, code: str
    ) -> None:
        conn.execute(codings.update().where(codings.c.id == coding_id).values(modifiers=dump(after)))
        self._log(conn, coder, MODIFY, "coding", coding_id, {"code": code, "before": before, "after": after})

    def coding_modifiers(self) -> dict[str, dict[str, str]]:
        """Active coding id -> its modifiers, for the codings that have any."""
        with self._guard(), self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(codings.c.id, codings.c.modifiers).where(
                    codings.c.status == "active", codings.c.modifiers != "{}"
                )
            ).all()
        return {r.id: mods for r in rows if (mods := json.loads(r.modifiers))}

    def exchange_modifiers(
        self, conn: Connection, coding_id: str, values: Mapping[str, str], *, coder: str = "system"
    ) -> None:
        """Give a coding (validated) modifiers inside an exchange import's transaction."""
        row = conn.execute(
            sa.select(codings.c.code_id, codings.c.modifiers).where(codings.c.id == coding_id)
        ).first()
        if row is None:
            raise StoreError(f"no coding '{coding_id}'")
        before = json.loads(row.modifiers or "{}")
        after = {k: v for k, v in {**before, **values}.items() if v is not None}
        if after != before:
            self._write_modifiers(conn, coding_id, before, after, coder=coder, code=row.code_id)
