"""A team's project: coders who sign in, adjudicators, and project settings such as blind coding.

Passwords are kept only as scrypt hashes (``hashlib.scrypt``: memory-hard, in the standard library);
a check against an unknown name costs as much as one against a known name, so the time taken does
not tell whether a name exists.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

import sqlalchemy as sa

from ..errors import StoreError
from ._core import ProjectCore
from ._schema import coders

MIN_PASSWORD = 8
ROLES = ("coder", "adjudicator")
SETTINGS = {"blind": ("off", "on")}
"""Project settings and their values (the first is the default). ``blind``: each coder sees only their
own codings, decisions and memos (and the machine's suggestions) until an adjudicator looks."""
_N, _R, _P = 2**14, 8, 1  # scrypt cost: about 50 ms and 16 MB per check
_DUMMY = "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$" + "A" * 44  # checked when the name is unknown


def hash_password(password: str) -> str:
    """``scrypt$n$r$p$salt$hash`` (base64) for ``password``."""
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return "$".join(
        ["scrypt", str(_N), str(_R), str(_P), *(base64.b64encode(x).decode() for x in (salt, digest))]
    )


def _matches(stored: str, password: str) -> bool:
    try:
        _, n, r, p, salt, digest = stored.split("$")
        expected = base64.b64decode(digest)
        got = hashlib.scrypt(
            password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=len(expected)
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected)


class TeamMixin(ProjectCore):
    """Coders with passwords and roles; project settings."""

    def add_coder(self, name: str, password: str, *, adjudicator: bool = False, by: str = "system") -> None:
        """Create coder ``name`` (or update an existing one) with a password and a role."""
        if len(password) < MIN_PASSWORD:
            raise StoreError(f"a password needs at least {MIN_PASSWORD} characters")
        coder_id = self.coder_id(name)
        role = "adjudicator" if adjudicator else "coder"
        with self._guard(), self.engine.begin() as conn:
            conn.execute(
                coders.update()
                .where(coders.c.id == coder_id)
                .values(password_hash=hash_password(password), role=role)
            )
            self._log(conn, by, "set-password", "coder", coder_id, {"name": name.strip(), "role": role})

    def verify_coder(self, name: str, password: str) -> bool:
        """Whether ``password`` is ``name``'s; False for unknown names and coders without a password."""
        with self._guard(), self.engine.connect() as conn:
            stored = conn.execute(
                sa.select(coders.c.password_hash).where(coders.c.name == (name or "").strip())
            ).scalar()
        return _matches(stored or _DUMMY, password) and stored is not None

    def coder_role(self, name: str) -> str | None:
        """``coder`` or ``adjudicator`` for a known coder, None for an unknown name."""
        with self._guard(), self.engine.connect() as conn:
            return conn.execute(
                sa.select(coders.c.role).where(coders.c.name == (name or "").strip())
            ).scalar()

    def settings(self) -> dict[str, str]:
        """Every project setting with its value (the default where none was set)."""
        return {key: self.get_meta(f"setting:{key}") or values[0] for key, values in SETTINGS.items()}

    def set_setting(self, key: str, value: str, *, by: str = "system") -> None:
        """Set project setting ``key`` (see :data:`SETTINGS`), audit-logged."""
        if key not in SETTINGS:
            raise StoreError(f"unknown setting '{key}' (known: {', '.join(SETTINGS)})")
        if value not in SETTINGS[key]:
            raise StoreError(f"setting '{key}' is one of {', '.join(SETTINGS[key])}, not '{value}'")
        with self._guard(), self.engine.begin() as conn:
            self.exchange_meta(conn, f"setting:{key}", value)
            self._log(conn, by, "setting", "project", None, {key: value})

    @property
    def blind(self) -> bool:
        """Whether coders see only their own work (``clhs settings blind on``)."""
        return self.get_meta("setting:blind") == "on"
