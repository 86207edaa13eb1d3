"""The core of :class:`~clhs_mechanisms.store.Project`: opening and creating a project, turning
database failures into one-line errors, the audit log, coders, the codebook and ``meta``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import orjson
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ..codebook import Codebook, parse_codebook, unknown_code_message
from ..errors import StoreError
from ._ids import code_uuid, new_id, now
from ._schema import (
    MIGRATIONS,
    SCHEMA_VERSION,
    audit,
    codebooks,
    coders,
    codes,
    codings,
    create_schema,
    meta_table,
)

DB_NAME = "project.db"
URL_FILE = "database.url"  # a project whose database is elsewhere (``url=``) records where, here
POSTGRES_EXTRA = "for PostgreSQL: pip install 'clhs-mechanisms[postgres]'"


@dataclass(frozen=True)
class CodebookChange:
    """What loading a codebook version changed; removed codes keep their codings."""

    version: str
    previous: str | None
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    relabelled: tuple[str, ...] = ()
    renamed: tuple[tuple[str, str], ...] = ()  # (old id, new id) guessed from identical labels
    codings_kept: dict[str, int] = field(default_factory=dict)  # removed code -> its codings, kept
    unchanged: bool = False

    def summary(self) -> str:
        if self.unchanged:
            return f"codebook version {self.version} is already loaded"
        if self.previous == self.version:  # same version number, other content
            parts = [f"codebook {self.version} reloaded with changed content under the same version number"]
        else:
            parts = [f"codebook {self.previous or '(none)'} -> {self.version}"]
        if self.added:
            parts.append(f"{len(self.added)} codes added")
        if self.removed:
            kept = sum(self.codings_kept.values())
            parts.append(
                f"{len(self.removed)} removed ({', '.join(self.removed)}; {kept} codings kept, "
                "code marked retired)"
            )
        for old, new in self.renamed:
            parts.append(f"'{old}' looks renamed to '{new}' (codings stay on '{old}')")
        if self.relabelled:
            parts.append(f"{len(self.relabelled)} relabelled")
        return "; ".join(parts)


def to_json(value: Any) -> str:
    """JSON text of a bulk row's dict or list: orjson is ten times faster than json.dumps, which
    took a tenth of a 100k-segment suggestion pass (numpy scalars are written as numbers)."""
    return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY).decode()


def bulk_insert(conn: Connection, table: sa.Table, rows: list[tuple]) -> None:
    """executemany through the driver: bulk imports skip per-row SQLAlchemy parameter processing."""
    if not rows:
        return
    marker = {"qmark": "?", "numeric": ":{}", "named": ":c{}", "format": "%s", "pyformat": "%s"}[
        conn.dialect.paramstyle
    ]
    names = ", ".join(conn.dialect.identifier_preparer.quote(c.name) for c in table.columns)
    values = ", ".join(marker.format(i + 1) for i in range(len(table.columns)))
    if conn.dialect.paramstyle == "named":
        rows = [{f"c{i + 1}": v for i, v in enumerate(r)} for r in rows]
    conn.exec_driver_sql(f"INSERT INTO {table.name} ({names}) VALUES ({values})", rows)


def _one_line(exc: BaseException) -> str:
    """A driver's message on one line (PostgreSQL's add a tab-indented hint line)."""
    return " ".join(str(exc).split())


def _masked(url: str) -> str:
    """``url`` with its password hidden, for messages."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "the database URL"


def _is_locked(exc: Exception) -> bool:
    return "locked" in str(exc).lower() or "busy" in str(exc).lower()


def _engine(directory: Path, url: str | None) -> Engine:
    if url is None:
        url = f"sqlite:///{directory / DB_NAME}"
    try:
        engine = sa.create_engine(url, future=True)
    except (sa.exc.ArgumentError, ImportError) as exc:  # a malformed URL, or its driver is missing
        raise StoreError(
            f"cannot use this database URL: {_one_line(exc)}",
            where=_masked(url),
            hint=POSTGRES_EXTRA if isinstance(exc, ImportError) else None,
        ) from None
    if engine.dialect.name == "sqlite":

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA busy_timeout = 5000")
            cur.execute("PRAGMA foreign_keys = ON")
            cur.execute("PRAGMA journal_mode = WAL")
            cur.execute("PRAGMA synchronous = NORMAL")
            cur.close()

    return engine


class ProjectCore:
    """A project's database connection and what every other part of :class:`Project` relies on."""

    def __init__(self, directory: Path, engine: Engine) -> None:
        self.directory = directory
        self.engine = engine

    # -- lifecycle ---------------------------------------------------------

    @classmethod
    def init(
        cls, directory: str | Path, codebook: Codebook, *, url: str | None = None, name: str | None = None
    ) -> Self:
        """Create a project in ``directory`` (created if missing; must not hold a project)."""
        d = Path(directory)
        if d.exists() and not d.is_dir():
            raise StoreError("exists and is not a directory", where=str(d))
        for held in (DB_NAME, URL_FILE):
            if (d / held).exists():
                raise StoreError(f"already holds a project ({held} exists)", where=str(d))
        engine = _engine(d, url)  # a bad URL is refused before anything is made
        try:
            d.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create project directory: {exc.strerror}", where=str(d)) from None
        project = cls(d, engine)
        if url is not None:  # recorded first, and taken back if the database cannot be set up
            project._remember_url()
        try:
            with project._guard(), project.engine.begin() as conn:
                if url is not None and sa.inspect(conn).has_table("meta"):
                    raise StoreError("the database already holds a project", where=project.where)
                create_schema(conn)
                conn.execute(
                    meta_table.insert(),
                    [
                        {"key": "schema_version", "value": str(SCHEMA_VERSION)},
                        {"key": "project_id", "value": new_id()},
                        {"key": "name", "value": name or d.resolve().name},
                        {"key": "created_at", "value": now()},
                    ],
                )
                project._log(conn, "system", "init", "project", None, {"directory": str(d)})
        except BaseException:
            if url is not None:
                (d / URL_FILE).unlink(missing_ok=True)
            raise
        project.load_codebook(codebook)
        return project

    def _remember_url(self) -> None:
        """Write the database URL, without its password, to the project directory, so every
        command finds the database from the directory alone (a password comes from the driver's
        own sources, such as PGPASSWORD or ~/.pgpass for PostgreSQL)."""
        text = self.engine.url.set(password=None).render_as_string(hide_password=False)
        tmp = self.directory / (URL_FILE + ".tmp")
        tmp.write_text(text + "\n", encoding="utf-8")
        tmp.replace(self.directory / URL_FILE)

    @classmethod
    def open(cls, directory: str | Path, *, url: str | None = None) -> Self:
        """Open an existing project (its database: ``url``, else the one its directory records,
        else ``project.db`` in it); migrates an older schema, refuses a newer one."""
        d = Path(directory)
        if url is None and (d / URL_FILE).is_file():
            url = (d / URL_FILE).read_text(encoding="utf-8").strip()
        if url is None:
            if not d.exists():
                raise StoreError("no such project directory", where=str(d))
            if not (d / DB_NAME).is_file():
                raise StoreError("not a clhs project (no project.db)", where=str(d), hint="clhs init")
        project = cls(d, _engine(d, url))
        with project._guard():
            with project.engine.connect() as conn:
                if not sa.inspect(conn).has_table("meta"):
                    raise StoreError("not a clhs project database (no meta table)", where=project.where)
                version = int(
                    conn.execute(
                        sa.select(meta_table.c.value).where(meta_table.c.key == "schema_version")
                    ).scalar_one()
                )
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"project schema version {version} is newer than this clhs-mechanisms "
                    f"({SCHEMA_VERSION}); upgrade the package",
                    where=project.where,
                )
            if version < SCHEMA_VERSION:
                project._migrate(version)
        return project

    def _migrate(self, version: int) -> None:
        with self.engine.begin() as conn:
            for v in range(version, SCHEMA_VERSION):
                MIGRATIONS[v](conn)
            conn.execute(
                meta_table.update()
                .where(meta_table.c.key == "schema_version")
                .values(value=str(SCHEMA_VERSION))
            )
            self._log(conn, "system", "migrate", "project", None, {"from": version, "to": SCHEMA_VERSION})

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @property
    def where(self) -> str:
        url = self.engine.url
        if url.get_backend_name() == "sqlite":
            return str(Path(url.database))
        return url.render_as_string(hide_password=True)

    @contextmanager
    def _guard(self) -> Iterator[None]:
        """Turn database failures into one-line StoreErrors."""
        try:
            yield
        except sa.exc.OperationalError as exc:
            if _is_locked(exc):
                raise StoreError(
                    "the project database is locked by another process; try again", where=self.where
                ) from None
            raise StoreError(f"database error: {_one_line(exc.orig)}", where=self.where) from None
        except sa.exc.IntegrityError as exc:
            raise StoreError(
                f"refused by the database (a concurrent change?): {_one_line(exc.orig)}", where=self.where
            ) from None
        except sa.exc.DatabaseError as exc:
            raise StoreError(
                f"the project database is damaged or not a database ({_one_line(exc.orig)})", where=self.where
            ) from None

    @contextmanager
    def _within(self, conn: Connection | None) -> Iterator[Connection]:
        """``conn`` itself, or a new transaction when it is None."""
        if conn is not None:
            yield conn
        else:
            with self.engine.begin() as new:
                yield new

    def _frame(self, query: sa.Select) -> pd.DataFrame:
        """The rows of ``query`` as a DataFrame."""
        with self._guard(), self.engine.connect() as conn:
            result = conn.execute(query)
            return pd.DataFrame(result.fetchall(), columns=list(result.keys()))

    def _log(
        self,
        conn: Connection,
        coder: str,
        action: str,
        entity: str,
        entity_id: str | None,
        detail: dict | None = None,
    ) -> None:
        conn.execute(
            audit.insert(),
            dict(
                at=now(),
                coder=coder,
                action=action,
                entity=entity,
                entity_id=entity_id,
                detail=json.dumps(detail or {}, default=str),
            ),
        )

    # -- coders and meta -----------------------------------------------------

    def coder_id(self, name: str, *, kind: str = "human", conn: Connection | None = None) -> str:
        """The id of the coder called ``name``, created on first use.

        Without ``conn``, in a transaction of its own that tolerates a race: when another process
        creates the same coder first, its row is used. Public writers call this before their own
        transaction, so the first use of a name from several processes refuses nothing.
        """
        name = (name or "").strip()
        if not name:
            raise StoreError("a coder needs a name")
        if conn is None:
            with self._guard():
                for attempt in (1, 2):
                    try:
                        with self.engine.begin() as c:
                            return self.coder_id(name, kind=kind, conn=c)
                    except sa.exc.IntegrityError:  # created meanwhile by another process: read it
                        if attempt == 2:
                            raise
        row = conn.execute(sa.select(coders.c.id, coders.c.kind).where(coders.c.name == name)).first()
        if row is not None:
            return row.id
        cid = new_id()
        conn.execute(coders.insert().values(id=cid, name=name, kind=kind, created_at=now()))
        self._log(conn, name, "create", "coder", cid, {"kind": kind})
        return cid

    def set_meta(self, key: str, value: str) -> None:
        with self._guard(), self.engine.begin() as conn:
            self.exchange_meta(conn, key, value)

    def exchange_meta(self, conn: Connection, key: str, value: str) -> None:
        """Set a ``meta`` entry inside the caller's transaction."""
        if conn.execute(sa.select(meta_table.c.key).where(meta_table.c.key == key)).first():
            conn.execute(meta_table.update().where(meta_table.c.key == key).values(value=value))
        else:
            conn.execute(meta_table.insert().values(key=key, value=value))

    def get_meta(self, key: str) -> str | None:
        with self._guard(), self.engine.connect() as conn:
            return conn.execute(sa.select(meta_table.c.value).where(meta_table.c.key == key)).scalar()

    # -- codebook ----------------------------------------------------------

    @property
    def codebook(self) -> Codebook:
        """The current codebook version (parsed once per version, then reused)."""
        with self._guard(), self.engine.connect() as conn:
            sha = conn.execute(sa.select(codebooks.c.sha256).where(codebooks.c.current.is_(True))).scalar()
            if sha is None:
                raise StoreError("the project has no codebook", where=self.where)
            cached = self.__dict__.get("_codebook")
            if cached is not None and cached.sha256 == sha:
                return cached
            text = conn.execute(sa.select(codebooks.c.text).where(codebooks.c.sha256 == sha)).scalar_one()
        self._codebook = parse_codebook(text, name="codebook (stored in project)")
        return self._codebook

    def load_codebook(
        self, codebook: Codebook, *, coder: str = "system", conn: Connection | None = None
    ) -> CodebookChange:
        """Make ``codebook`` the current version. Removed codes are retired, never deleted.

        With ``conn`` the change joins that transaction (an exchange import loads its codes
        in the same transaction as its documents and codings).
        """
        with self._guard(), self._within(conn) as conn:
            cur = conn.execute(sa.select(codebooks).where(codebooks.c.current.is_(True))).first()
            if cur is not None and cur.sha256 == codebook.sha256:
                return CodebookChange(codebook.version, cur.version, unchanged=True)
            same = conn.execute(
                sa.select(codebooks.c.id).where(codebooks.c.sha256 == codebook.sha256)
            ).first()
            conn.execute(codebooks.update().values(current=False))
            if same is not None:
                conn.execute(codebooks.update().where(codebooks.c.id == same.id).values(current=True))
            else:
                conn.execute(
                    codebooks.insert().values(
                        id=new_id(),
                        codebook_id=codebook.id,
                        version=codebook.version,
                        sha256=codebook.sha256,
                        text=codebook.text,
                        loaded_at=now(),
                        current=True,
                    )
                )
            change = _update_codes(conn, codebook, cur.version if cur else None)
            self._log(
                conn,
                coder,
                "load",
                "codebook",
                codebook.sha256,
                {"version": codebook.version, "summary": change.summary()},
            )
            return change

    def require_code(self, code_id: str) -> None:
        """Refuse a code id that is not in the current codebook."""
        cb = self.codebook
        if code_id not in cb:
            raise StoreError(unknown_code_message(code_id, cb.code_ids))


def _update_codes(conn: Connection, codebook: Codebook, previous: str | None) -> CodebookChange:
    """Bring the ``codes`` table in line with ``codebook``: add, update, retire (never delete)."""
    existing = {r.code_id: r for r in conn.execute(sa.select(codes))}
    added, relabelled = [], []
    for code in codebook.codes:
        old = existing.get(code.id)
        values = dict(label=code.label, domain=code.domain, parent=code.parent, active=True, retired_in=None)
        if old is None:
            conn.execute(
                codes.insert().values(
                    id=code_uuid(codebook.id, code.id), code_id=code.id, added_in=codebook.version, **values
                )
            )
            added.append(code.id)
        else:
            conn.execute(codes.update().where(codes.c.code_id == code.id).values(**values))
            if old.label != code.label:
                relabelled.append(code.id)
    wanted = set(codebook.code_ids)
    removed = sorted(c for c, r in existing.items() if c not in wanted and r.active)
    kept: dict[str, int] = {}
    for code_id in removed:
        conn.execute(
            codes.update().where(codes.c.code_id == code_id).values(active=False, retired_in=codebook.version)
        )
        kept[code_id] = conn.execute(
            sa.select(sa.func.count())
            .select_from(codings)
            .where(codings.c.code_id == code_id, codings.c.status == "active")
        ).scalar_one()
    labels = {c.label.strip().lower(): c.id for c in codebook.codes if c.id in added}
    renamed = tuple(
        (old, labels[existing[old].label.strip().lower()])
        for old in removed
        if existing[old].label.strip().lower() in labels
    )
    return CodebookChange(
        codebook.version,
        previous,
        added=tuple(added) if previous is not None else (),
        removed=tuple(removed),
        relabelled=tuple(relabelled),
        renamed=renamed,
        codings_kept=kept,
    )
