"""The project store: one database per project, SQLAlchemy Core.

A project is a directory holding ``project.db`` (SQLite in WAL mode) unless an engine
URL (e.g. PostgreSQL) is given. Every object has a UUID; suggestions and codings are
separate tables, and a suggestion becomes a coding only through a human decision.
Nothing is ever deleted silently: replaced segments are retired, removed codes are
deactivated, deleted codings keep their row, and every change goes to the
append-only audit log.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import orjson
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from .codebook import Codebook, parse_codebook, unknown_code_message
from .corpus.model import Document
from .errors import StoreError
from .segment import Segment

SCHEMA_VERSION = 1
DB_NAME = "project.db"
URL_FILE = "database.url"  # a project whose database is elsewhere (``url=``) records where, here
CODE_NAMESPACE = uuid.UUID("6f1f8c2e-4a8b-5d0e-9c1b-2f3a4b5c6d7e")
CONTEXT_CHARS = 40
CHANGED_DOCUMENT = ("a different version of this document is already in the project; "
                    "use --replace to replace it (its codings are re-anchored)")

metadata = sa.MetaData()


def _id() -> sa.Column:
    return sa.Column("id", sa.String(36), primary_key=True)


def _fk(name: str, target: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.String(36), sa.ForeignKey(target), nullable=nullable, index=True)


meta_table = sa.Table("meta", metadata, sa.Column("key", sa.String(64), primary_key=True),
                      sa.Column("value", sa.Text, nullable=False))
coders = sa.Table(
    "coders", metadata, _id(),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("kind", sa.String(10), nullable=False),  # human | model
    sa.Column("created_at", sa.String(32), nullable=False),
)
codebooks = sa.Table(
    "codebooks", metadata, _id(),
    sa.Column("codebook_id", sa.String(200), nullable=False),
    sa.Column("version", sa.String(50), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False, unique=True),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("loaded_at", sa.String(32), nullable=False),
    sa.Column("current", sa.Boolean, nullable=False),
)
codes = sa.Table(
    "codes", metadata, _id(),
    sa.Column("code_id", sa.String(200), nullable=False, unique=True),
    sa.Column("label", sa.Text, nullable=False),
    sa.Column("domain", sa.String(200), nullable=False),
    sa.Column("parent", sa.String(200)),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("added_in", sa.String(50), nullable=False),
    sa.Column("retired_in", sa.String(50)),
)
cases = sa.Table(
    "cases", metadata, _id(),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("attributes", sa.Text, nullable=False),
)
documents = sa.Table(
    "documents", metadata, _id(),
    sa.Column("name", sa.String(500), nullable=False, unique=True),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("attributes", sa.Text, nullable=False),
    sa.Column("source_path", sa.Text),
    _fk("case_id", "cases.id", nullable=True),
    sa.Column("imported_at", sa.String(32), nullable=False),
)
turns = sa.Table(
    "turns", metadata, _id(),
    _fk("document_id", "documents.id"),
    sa.Column("idx", sa.Integer, nullable=False),
    sa.Column("speaker", sa.String(200)),
    sa.Column("start", sa.Integer, nullable=False),
    sa.Column("end", sa.Integer, nullable=False),
    sa.Column("time_start", sa.Float),
    sa.Column("time_end", sa.Float),
    sa.Column("attributes", sa.Text, nullable=False),
    sa.Column("retired", sa.Boolean, nullable=False),
)
segments = sa.Table(
    "segments", metadata, _id(),
    _fk("document_id", "documents.id"),
    sa.Column("turn_id", sa.String(36), sa.ForeignKey("turns.id"), nullable=False),
    sa.Column("idx", sa.Integer, nullable=False),
    sa.Column("start", sa.Integer, nullable=False),
    sa.Column("end", sa.Integer, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("speaker", sa.String(200)),
    sa.Column("codable", sa.Boolean, nullable=False),
    sa.Column("retired", sa.Boolean, nullable=False),
)
suggestions = sa.Table(
    "suggestions", metadata, _id(),
    _fk("segment_id", "segments.id"),
    sa.Column("code_id", sa.String(200), sa.ForeignKey("codes.code_id"), nullable=False, index=True),
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("method", sa.String(50), nullable=False),
    sa.Column("components", sa.Text, nullable=False),  # JSON: component method -> score
    sa.Column("evidence", sa.Text, nullable=False),  # JSON: [{start, end, text, why}]
    sa.Column("model_version", sa.String(100)),
    sa.Column("codebook_version", sa.String(50), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),  # pending | decided | stale
    sa.Column("created_at", sa.String(32), nullable=False),
)
codings = sa.Table(
    "codings", metadata, _id(),
    _fk("document_id", "documents.id"),
    _fk("segment_id", "segments.id", nullable=True),
    sa.Column("start", sa.Integer, nullable=False),
    sa.Column("end", sa.Integer, nullable=False),
    sa.Column("code_id", sa.String(200), sa.ForeignKey("codes.code_id"), nullable=False, index=True),
    _fk("coder_id", "coders.id"),
    sa.Column("origin", sa.String(20), nullable=False),  # manual | suggestion | import
    _fk("suggestion_id", "suggestions.id", nullable=True),
    sa.Column("quote", sa.Text, nullable=False),
    sa.Column("context_before", sa.Text, nullable=False),
    sa.Column("context_after", sa.Text, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),  # active | deleted | orphaned
    sa.Column("created_at", sa.String(32), nullable=False),
)
decisions = sa.Table(
    "decisions", metadata, _id(),
    sa.Column("suggestion_id", sa.String(36), sa.ForeignKey("suggestions.id"), nullable=False, unique=True),
    _fk("coder_id", "coders.id"),
    sa.Column("action", sa.String(20), nullable=False),  # accept | reject | edit
    sa.Column("code_id", sa.String(200), sa.ForeignKey("codes.code_id")),
    _fk("coding_id", "codings.id", nullable=True),
    sa.Column("created_at", sa.String(32), nullable=False),
)
memos = sa.Table(
    "memos", metadata, _id(),
    sa.Column("target_type", sa.String(20), nullable=False),  # project | document | segment | coding | code
    sa.Column("target_id", sa.String(200)),
    _fk("coder_id", "coders.id"),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("updated_at", sa.String(32), nullable=False),
)
audit = sa.Table(
    "audit", metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.String(32), nullable=False),
    sa.Column("coder", sa.String(200), nullable=False),
    sa.Column("action", sa.String(50), nullable=False),
    sa.Column("entity", sa.String(50), nullable=False),
    sa.Column("entity_id", sa.String(200)),
    sa.Column("detail", sa.Text, nullable=False),
)
_DOCUMENT_BY_NAME = sa.select(documents.c.id, documents.c.sha256, documents.c.text).where(
    documents.c.name == sa.bindparam("name"))  # built once: an import runs it per document

# Migrations from version N to N + 1, applied in order inside one transaction on open.
MIGRATIONS: dict[int, Callable[[Connection], None]] = {}

_APPEND_ONLY = {  # per database dialect: triggers that refuse to change or delete audit rows
    "sqlite": (
        "CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit "
        "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
        "CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit "
        "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
    ),
    "postgresql": (
        "CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$",
        "CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON audit "
        "FOR EACH ROW EXECUTE FUNCTION audit_append_only()",
    ),
}


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


_clock = {"ms": 0, "rand_a": 0, "counter": 0}
_clock_lock = threading.Lock()


def new_ids(n: int) -> list[str]:
    """``n`` time-ordered UUIDs (version 7, RFC 9562), in creation order.

    48 bits of Unix milliseconds, 12 random bits per millisecond, then a 62-bit counter
    that starts at a random value each millisecond: ids made in one process sort in
    creation order, so rows append to the end of SQLite's primary-key index instead of
    landing all over it (imports commit about three times faster than with random ids).
    """
    with _clock_lock:
        ms = time.time_ns() // 1_000_000
        if ms > _clock["ms"]:
            _clock.update(ms=ms, rand_a=secrets.randbits(12), counter=secrets.randbits(61))
        first = _clock["counter"]  # same millisecond or the clock went back: keep counting
        _clock["counter"] += n
        ms, rand_a = _clock["ms"], _clock["rand_a"]
    h = f"{ms:012x}"
    prefix = f"{h[:8]}-{h[8:]}-7{rand_a:03x}-"
    ids, c, stop = [], first, first + n
    while c < stop:  # one run per value of the fourth group (nearly always the whole batch)
        end = min(stop, ((c >> 48) + 1) << 48)
        group = f"{prefix}{((0b10 << 62) | c) >> 48:04x}-"
        ids += [f"{group}{low:012x}" for low in range(c & 0xFFFFFFFFFFFF, (c & 0xFFFFFFFFFFFF) + end - c)]
        c = end
    return ids


def new_id() -> str:
    """One time-ordered UUID (see :func:`new_ids`)."""
    return new_ids(1)[0]


def _json(value: Any) -> str:
    """JSON text of a bulk row's dict or list: orjson is ten times faster than json.dumps, which
    took a tenth of a 100k-segment suggestion pass (numpy scalars are written as numbers)."""
    return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY).decode()


def code_uuid(codebook_id: str, code_id: str) -> str:
    """A code's GUID: the same code keeps it across versions, projects and exports."""
    return str(uuid.uuid5(CODE_NAMESPACE, f"{codebook_id}/{code_id}"))


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
        parts = [f"codebook {self.previous or '(none)'} -> {self.version}"]
        if self.added:
            parts.append(f"{len(self.added)} codes added")
        if self.removed:
            kept = sum(self.codings_kept.values())
            parts.append(f"{len(self.removed)} removed ({', '.join(self.removed)}; {kept} codings kept, "
                         "code marked retired)")
        for old, new in self.renamed:
            parts.append(f"'{old}' looks renamed to '{new}' (codings stay on '{old}')")
        if self.relabelled:
            parts.append(f"{len(self.relabelled)} relabelled")
        return "; ".join(parts)


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


def anchor(text: str, quote: str, before: str, after: str, hint: int) -> int | None:
    """Where ``quote`` now starts in ``text``: the occurrence whose context matches best."""
    if not quote:
        return None
    best, best_key = None, None
    for m in re.finditer(re.escape(quote), text):
        pos = m.start()
        left = text[max(0, pos - len(before)):pos]
        right = text[m.end():m.end() + len(after)]
        score = _common_suffix(left, before) + _common_prefix(right, after)
        key = (-score, abs(pos - hint))
        if best_key is None or key < best_key:
            best, best_key = pos, key
    return best


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def _common_suffix(a: str, b: str) -> int:
    return _common_prefix(a[::-1], b[::-1])


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


class Project:
    """A coding project: its database and the operations every interface shares."""

    def __init__(self, directory: Path, engine: Engine) -> None:
        self.directory = directory
        self.engine = engine

    # -- lifecycle ---------------------------------------------------------

    @staticmethod
    def _engine(directory: Path, url: str | None) -> Engine:
        if url is None:
            url = f"sqlite:///{directory / DB_NAME}"
        try:
            engine = sa.create_engine(url, future=True)
        except (sa.exc.ArgumentError, ImportError) as exc:  # a malformed URL, or its driver is missing
            hint = " (for PostgreSQL: pip install 'clhs-mechanisms[postgres]')" if isinstance(exc, ImportError) else ""
            raise StoreError(f"cannot use this database URL: {_one_line(exc)}{hint}", where=_masked(url)) from None
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

    @classmethod
    def init(cls, directory: str | Path, codebook: Codebook, *, url: str | None = None,
             name: str | None = None) -> "Project":
        """Create a project in ``directory`` (created if missing; must not hold a project)."""
        d = Path(directory)
        if d.exists() and not d.is_dir():
            raise StoreError("exists and is not a directory", where=str(d))
        for held in (DB_NAME, URL_FILE):
            if (d / held).exists():
                raise StoreError(f"already holds a project ({held} exists)", where=str(d))
        engine = cls._engine(d, url)  # a bad URL is refused before anything is made
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
                metadata.create_all(conn)
                for stmt in _APPEND_ONLY.get(conn.dialect.name, ()):
                    conn.exec_driver_sql(stmt)
                conn.execute(meta_table.insert(), [
                    {"key": "schema_version", "value": str(SCHEMA_VERSION)},
                    {"key": "project_id", "value": new_id()},
                    {"key": "name", "value": name or d.resolve().name},
                    {"key": "created_at", "value": now()},
                ])
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
    def open(cls, directory: str | Path, *, url: str | None = None) -> "Project":
        """Open an existing project (its database: ``url``, else the one its directory records,
        else ``project.db`` in it); migrates an older schema, refuses a newer one."""
        d = Path(directory)
        if url is None and (d / URL_FILE).is_file():
            url = (d / URL_FILE).read_text(encoding="utf-8").strip()
        if url is None:
            if not d.exists():
                raise StoreError("no such project directory", where=str(d))
            if not (d / DB_NAME).is_file():
                raise StoreError("not a clhs project (no project.db; create one with `clhs init`)", where=str(d))
        project = cls(d, cls._engine(d, url))
        with project._guard():
            with project.engine.connect() as conn:
                if not sa.inspect(conn).has_table("meta"):
                    raise StoreError("not a clhs project database (no meta table)", where=project.where)
                version = int(conn.execute(sa.select(meta_table.c.value).where(
                    meta_table.c.key == "schema_version")).scalar_one())
            if version > SCHEMA_VERSION:
                raise StoreError(f"project schema version {version} is newer than this clhs-mechanisms "
                                 f"({SCHEMA_VERSION}); upgrade the package", where=project.where)
            if version < SCHEMA_VERSION:
                project._migrate(version)
        return project

    def _migrate(self, version: int) -> None:
        with self.engine.begin() as conn:
            for v in range(version, SCHEMA_VERSION):
                MIGRATIONS[v](conn)
            conn.execute(meta_table.update().where(meta_table.c.key == "schema_version")
                         .values(value=str(SCHEMA_VERSION)))
            self._log(conn, "system", "migrate", "project", None, {"from": version, "to": SCHEMA_VERSION})

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> "Project":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @property
    def where(self) -> str:
        url = self.engine.url
        return str(Path(url.database)) if url.get_backend_name() == "sqlite" else url.render_as_string(hide_password=True)

    @contextmanager
    def _guard(self) -> Iterator[None]:
        """Turn database failures into one-line StoreErrors."""
        try:
            yield
        except sa.exc.OperationalError as exc:
            if _is_locked(exc):
                raise StoreError("the project database is locked by another process; try again",
                                 where=self.where) from None
            raise StoreError(f"database error: {_one_line(exc.orig)}", where=self.where) from None
        except sa.exc.IntegrityError as exc:
            raise StoreError(f"refused by the database (a concurrent change?): {_one_line(exc.orig)}",
                             where=self.where) from None
        except sa.exc.DatabaseError as exc:
            raise StoreError(f"the project database is damaged or not a database ({_one_line(exc.orig)})",
                             where=self.where) from None

    def _log(self, conn: Connection, coder: str, action: str, entity: str, entity_id: str | None,
             detail: dict | None = None) -> None:
        conn.execute(audit.insert(), dict(at=now(), coder=coder, action=action, entity=entity, entity_id=entity_id,
                                          detail=json.dumps(detail or {}, default=str)))

    # -- coders ------------------------------------------------------------

    def coder_id(self, name: str, *, kind: str = "human", conn: Connection | None = None) -> str:
        """The id of the coder called ``name``, created on first use."""
        name = (name or "").strip()
        if not name:
            raise StoreError("a coder needs a name")
        if conn is None:
            with self._guard(), self.engine.begin() as c:
                return self.coder_id(name, kind=kind, conn=c)
        row = conn.execute(sa.select(coders.c.id, coders.c.kind).where(coders.c.name == name)).first()
        if row is not None:
            return row.id
        cid = new_id()
        conn.execute(coders.insert().values(id=cid, name=name, kind=kind, created_at=now()))
        self._log(conn, name, "create", "coder", cid, {"kind": kind})
        return cid

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

    def load_codebook(self, codebook: Codebook, *, coder: str = "system",
                      conn: Connection | None = None) -> CodebookChange:
        """Make ``codebook`` the current version. Removed codes are retired, never deleted.

        With ``conn`` the change joins that transaction (an exchange import loads its codes
        in the same transaction as its documents and codings).
        """
        with self._guard(), self._within(conn) as conn:
            cur = conn.execute(sa.select(codebooks).where(codebooks.c.current.is_(True))).first()
            same = conn.execute(sa.select(codebooks.c.id).where(codebooks.c.sha256 == codebook.sha256)).first()
            if cur is not None and cur.sha256 == codebook.sha256:
                return CodebookChange(codebook.version, cur.version, unchanged=True)
            conn.execute(codebooks.update().values(current=False))
            if same is not None:
                conn.execute(codebooks.update().where(codebooks.c.id == same.id).values(current=True))
            else:
                conn.execute(codebooks.insert().values(
                    id=new_id(), codebook_id=codebook.id, version=codebook.version, sha256=codebook.sha256,
                    text=codebook.text, loaded_at=now(), current=True))
            existing = {r.code_id: r for r in conn.execute(sa.select(codes))}
            new_ids = set(codebook.code_ids)
            added, relabelled = [], []
            for code in codebook.codes:
                old = existing.get(code.id)
                values = dict(label=code.label, domain=code.domain, parent=code.parent, active=True, retired_in=None)
                if old is None:
                    conn.execute(codes.insert().values(id=code_uuid(codebook.id, code.id), code_id=code.id,
                                                       added_in=codebook.version, **values))
                    added.append(code.id)
                else:
                    conn.execute(codes.update().where(codes.c.code_id == code.id).values(**values))
                    if old.label != code.label:
                        relabelled.append(code.id)
            removed = sorted(c for c, r in existing.items() if c not in new_ids and r.active)
            kept: dict[str, int] = {}
            for code_id in removed:
                conn.execute(codes.update().where(codes.c.code_id == code_id)
                             .values(active=False, retired_in=codebook.version))
                kept[code_id] = conn.execute(sa.select(sa.func.count()).select_from(codings).where(
                    codings.c.code_id == code_id, codings.c.status == "active")).scalar_one()
            labels = {c.label.strip().lower(): c.id for c in codebook.codes if c.id in added}
            renamed = tuple((old, labels[existing[old].label.strip().lower()]) for old in removed
                            if existing[old].label.strip().lower() in labels)
            change = CodebookChange(codebook.version, cur.version if cur else None,
                                    added=tuple(added) if cur else (), removed=tuple(removed),
                                    relabelled=tuple(relabelled), renamed=renamed, codings_kept=kept)
            self._log(conn, coder, "load", "codebook", codebook.sha256,
                      {"version": codebook.version, "summary": change.summary()})
            return change

    def require_code(self, code_id: str) -> None:
        """Refuse a code id that is not in the current codebook."""
        cb = self.codebook
        if code_id not in cb:
            raise StoreError(unknown_code_message(code_id, cb.code_ids))

    # -- documents ---------------------------------------------------------

    def import_document(self, document: Document, units: Sequence[Segment], *, replace: bool = False,
                        coder: str = "system") -> ImportResult:
        """Store one document with its turns and segments, in one transaction.

        The same file again adds nothing (status ``unchanged``). A changed file with the
        same name is refused unless ``replace``; then existing codings are re-anchored by
        their quote and context, and those that cannot be are kept as ``orphaned``.
        """
        with self._guard(), self.engine.begin() as conn:
            old = conn.execute(_DOCUMENT_BY_NAME, {"name": document.name}).first()
            if old is not None and old.sha256 == document.sha256:
                return ImportResult(document.name, "unchanged", old.id)
            if old is not None and not replace:
                raise StoreError(CHANGED_DOCUMENT, where=document.name)
            case_id = self._case(conn, document)
            values = dict(kind=document.kind, sha256=document.sha256, text=document.text,
                          attributes=json.dumps(dict(document.attributes)), source_path=document.source_path,
                          case_id=case_id, imported_at=now())
            if old is None:
                doc_id = new_id()
                conn.execute(documents.insert(), dict(id=doc_id, name=document.name, **values))
            else:
                doc_id = old.id
                conn.execute(documents.update().where(documents.c.id == doc_id).values(**values))
                for table in (turns, segments):
                    conn.execute(table.update().where(table.c.document_id == doc_id).values(retired=True))
            seg_rows = self._insert_units(conn, doc_id, document, units)
            reanchored, lost = 0, []
            if old is not None:
                reanchored, lost = self._reanchor(conn, doc_id, old.text, document.text, seg_rows, coder)
                conn.execute(suggestions.update().where(
                    suggestions.c.status == "pending",
                    suggestions.c.segment_id.in_(sa.select(segments.c.id).where(
                        segments.c.document_id == doc_id, segments.c.retired.is_(True)))).values(status="stale"))
            status = "added" if old is None else "replaced"
            self._log(conn, coder, "import" if old is None else "replace", "document", doc_id,
                      {"name": document.name, "sha256": document.sha256, "segments": len(units),
                       "reanchored": reanchored, "unanchored": len(lost)})
        return ImportResult(document.name, status, doc_id, len(document.turns), len(units), document.words,
                            reanchored, tuple(lost))

    def _case(self, conn: Connection, document: Document) -> str | None:
        participant = document.attributes.get("participant")
        if not participant:
            return None
        attrs = {k: v for k, v in document.attributes.items() if k not in ("file", "participant")}
        row = conn.execute(sa.select(cases.c.id, cases.c.attributes).where(cases.c.name == participant)).first()
        if row is None:
            cid = new_id()
            conn.execute(cases.insert().values(id=cid, name=participant, attributes=json.dumps(attrs)))
            return cid
        merged = {**json.loads(row.attributes), **attrs}
        conn.execute(cases.update().where(cases.c.id == row.id).values(attributes=json.dumps(merged)))
        return row.id

    @staticmethod
    def _insert_units(conn: Connection, doc_id: str, document: Document,
                      segs: Sequence[Segment]) -> list[dict]:
        """Insert the turns and segments of a document; returns each segment's id, start and end."""
        turn_ids = new_ids(len(document.turns))
        _bulk_insert(conn, turns, [
            (turn_ids[i], doc_id, i, t.speaker, t.start, t.end, t.time_start, t.time_end,
             json.dumps(dict(t.attributes)) if t.attributes else "{}", False)
            for i, t in enumerate(document.turns)])
        seg_ids = new_ids(len(segs))
        _bulk_insert(conn, segments, [(i, doc_id, turn_ids[s.turn], s.index, s.start, s.end, s.text, s.speaker,
                                       s.codable, False) for i, s in zip(seg_ids, segs)])
        return [{"id": i, "start": s.start, "end": s.end} for i, s in zip(seg_ids, segs)]

    def _reanchor(self, conn: Connection, doc_id: str, old_text: str, new_text: str, seg_rows: list[dict],
                  coder: str) -> tuple[int, list[str]]:
        moved, lost = 0, []
        scale = len(new_text) / max(1, len(old_text))
        rows = conn.execute(sa.select(codings).where(codings.c.document_id == doc_id,
                                                     codings.c.status == "active")).all()
        for c in rows:
            pos = anchor(new_text, c.quote, c.context_before, c.context_after, int(c.start * scale))
            if pos is None:
                conn.execute(codings.update().where(codings.c.id == c.id).values(status="orphaned", segment_id=None))
                lost.append(f"{c.code_id} at {c.start}-{c.end}: \"{c.quote[:60]}\"")
                self._log(conn, coder, "orphan", "coding", c.id, {"quote": c.quote})
                continue
            end = pos + len(c.quote)
            conn.execute(codings.update().where(codings.c.id == c.id).values(
                start=pos, end=end, segment_id=_containing(seg_rows, pos, end),
                context_before=new_text[max(0, pos - CONTEXT_CHARS):pos],
                context_after=new_text[end:end + CONTEXT_CHARS]))
            moved += 1
        return moved, lost

    # -- codings and memos -------------------------------------------------

    def add_coding(self, document: str, start: int, end: int, code: str, *, coder: str,
                   origin: str = "manual", suggestion_id: str | None = None,
                   conn: Connection | None = None) -> str:
        """Apply ``code`` to ``document.text[start:end]`` on behalf of ``coder``."""
        if conn is None:
            self.require_code(code)
            with self._guard(), self.engine.begin() as c:
                return self.add_coding(document, start, end, code, coder=coder, origin=origin,
                                       suggestion_id=suggestion_id, conn=c)
        doc = conn.execute(sa.select(documents.c.id, documents.c.text).where(
            sa.or_(documents.c.name == document, documents.c.id == document))).first()
        if doc is None:
            raise StoreError(f"no document '{document}' in the project")
        cid = new_id()
        _insert_coding(conn, cid, doc.id, doc.text, start, end, code, coder_id=self.coder_id(coder, conn=conn),
                       origin=origin, suggestion_id=suggestion_id, created_at=now(), where=document)
        self._log(conn, coder, "code", "coding", cid, {"document": document, "code": code, "start": start, "end": end})
        return cid

    def delete_coding(self, coding_id: str, *, coder: str) -> None:
        """Mark a coding deleted (the row and the audit trail remain)."""
        with self._guard(), self.engine.begin() as conn:
            n = conn.execute(codings.update().where(codings.c.id == coding_id, codings.c.status == "active")
                             .values(status="deleted")).rowcount
            if not n:
                raise StoreError(f"no active coding '{coding_id}'")
            self._log(conn, coder, "delete", "coding", coding_id)

    def add_memo(self, text: str, *, coder: str, target_type: str = "project", target_id: str | None = None) -> str:
        """Write a memo about the project, a document, a segment, a coding or a code."""
        if not text.strip():
            raise StoreError("a memo needs some text")
        if target_type not in ("project", "document", "segment", "coding", "code"):
            raise StoreError(f"unknown memo target '{target_type}'")
        with self._guard(), self.engine.begin() as conn:
            mid = new_id()
            t = now()
            conn.execute(memos.insert().values(id=mid, target_type=target_type, target_id=target_id,
                                               coder_id=self.coder_id(coder, conn=conn), text=text,
                                               created_at=t, updated_at=t))
            self._log(conn, coder, "memo", target_type, target_id, {"memo": mid})
            return mid

    # -- suggestions and decisions ------------------------------------------

    def add_suggestions(self, rows: Sequence[dict], *, method: str, model_version: str | None,
                        segment_ids: Sequence[str] | None = None, codes: Sequence[str] | None = None,
                        coder: str = "system") -> int:
        """Store machine suggestions for a batch of segments.

        Each row: ``segment_id, code, score, components (dict), evidence (list of dicts or of
        :class:`~clhs_mechanisms.suggest.Evidence`)``.
        Pending suggestions from earlier runs on the scored segments (``segment_ids``,
        default: those in ``rows``), restricted to ``codes`` if given, become stale.
        """
        cb = self.codebook
        unknown = sorted({r["code"] for r in rows} - set(cb.code_ids))
        if unknown:
            raise StoreError(unknown_code_message(unknown[0], cb.code_ids))
        created = now()
        with self._guard(), self.engine.begin() as conn:
            seg_ids = sorted(set(segment_ids) if segment_ids is not None else {r["segment_id"] for r in rows})
            for i in range(0, len(seg_ids), 500):
                cond = [suggestions.c.status == "pending", suggestions.c.segment_id.in_(seg_ids[i:i + 500])]
                if codes:
                    cond.append(suggestions.c.code_id.in_(list(codes)))
                conn.execute(suggestions.update().where(*cond).values(status="stale"))
            _bulk_insert(conn, suggestions, [
                (i, r["segment_id"], r["code"], float(r["score"]), method, _json(r.get("components", {})),
                 _json(r.get("evidence", [])), model_version, cb.version, "pending", created)
                for i, r in zip(new_ids(len(rows)), rows)])
            self._log(conn, coder, "suggest", "suggestions", None,
                      {"n": len(rows), "segments": len(seg_ids), "method": method, "model": model_version})
        return len(rows)

    def decide(self, suggestion_id: str, action: str, *, coder: str, code: str | None = None,
               span: tuple[int, int] | None = None) -> str:
        """Accept, reject or edit a suggestion; returns the decision id.

        ``edit`` applies another ``code`` and/or an adjusted ``span`` (start, end in the
        document). Accepting or editing creates a coding by ``coder`` that records the
        suggestion it came from. A suggestion already decided is refused with who decided
        it and when; nothing is overwritten.
        """
        if action not in ("accept", "reject", "edit"):
            raise StoreError(f"unknown decision '{action}' (use accept, reject or edit)")
        if action == "edit" and not code and span is None:
            raise StoreError("an edit needs another code or an adjusted span")
        if code:
            self.require_code(code)
        with self._guard():
            try:
                with self.engine.begin() as conn:
                    sug = conn.execute(sa.select(suggestions, segments.c.document_id, segments.c.start.label("s"),
                                                 segments.c.end.label("e"))
                                       .join(segments, segments.c.id == suggestions.c.segment_id)
                                       .where(suggestions.c.id == suggestion_id)).first()
                    if sug is None:
                        raise StoreError(f"no suggestion '{suggestion_id}'")
                    self._refuse_if_decided(conn, suggestion_id)
                    final = code or sug.code_id
                    coding_id = None
                    if action != "reject":
                        doc_name = conn.execute(sa.select(documents.c.name).where(
                            documents.c.id == sug.document_id)).scalar_one()
                        start, end = span if span is not None else (sug.s, sug.e)
                        coding_id = self.add_coding(doc_name, start, end, final, coder=coder, origin="suggestion",
                                                    suggestion_id=suggestion_id, conn=conn)
                    decision_id = new_id()
                    conn.execute(decisions.insert().values(
                        id=decision_id, suggestion_id=suggestion_id, coder_id=self.coder_id(coder, conn=conn),
                        action=action, code_id=final if action != "reject" else sug.code_id, coding_id=coding_id,
                        created_at=now()))
                    conn.execute(suggestions.update().where(suggestions.c.id == suggestion_id)
                                 .values(status="decided"))
                    self._log(conn, coder, action, "suggestion", suggestion_id,
                              {"code": sug.code_id, "final": final, "coding": coding_id})
                    return decision_id
            except sa.exc.IntegrityError:
                with self.engine.connect() as conn:
                    self._refuse_if_decided(conn, suggestion_id)
                raise

    @staticmethod
    def _refuse_if_decided(conn: Connection, suggestion_id: str) -> None:
        prior = conn.execute(sa.select(coders.c.name, decisions.c.action, decisions.c.created_at)
                             .join(coders, coders.c.id == decisions.c.coder_id)
                             .where(decisions.c.suggestion_id == suggestion_id)).first()
        if prior is not None:
            raise StoreError(f"suggestion {suggestion_id} was already decided ({prior.action}) by {prior.name} "
                             f"at {prior.created_at}; nothing changed")

    def suggestions(self, *, status: str | None = "pending") -> pd.DataFrame:
        """Suggestions with their segment's document, text, speaker and case."""
        q = (sa.select(suggestions.c.id, suggestions.c.segment_id, documents.c.name.label("document"),
                       segments.c.start, segments.c.end, segments.c.text, segments.c.speaker,
                       cases.c.name.label("case"), suggestions.c.code_id.label("code"), suggestions.c.score,
                       suggestions.c.method, suggestions.c.components, suggestions.c.evidence,
                       suggestions.c.model_version, suggestions.c.status, suggestions.c.created_at)
             .select_from(suggestions.join(segments, segments.c.id == suggestions.c.segment_id)
                          .join(documents, documents.c.id == segments.c.document_id)
                          .outerjoin(cases, cases.c.id == documents.c.case_id))
             .order_by(documents.c.name, segments.c.idx, suggestions.c.code_id))
        if status is not None:
            q = q.where(suggestions.c.status == status)
        df = self.read_sql(q)
        for col in ("components", "evidence"):
            df[col] = df[col].map(json.loads)
        return df

    def documents_under_review(self) -> list[str]:
        """Names of the documents with pending suggestions, sorted (without reading the suggestions)."""
        q = (sa.select(documents.c.name).distinct()
             .select_from(suggestions.join(segments, segments.c.id == suggestions.c.segment_id)
                          .join(documents, documents.c.id == segments.c.document_id))
             .where(suggestions.c.status == "pending").order_by(documents.c.name))
        with self._guard(), self.engine.connect() as conn:
            return list(conn.execute(q).scalars())

    def decisions(self, *, since: str | None = None) -> pd.DataFrame:
        """Every decision (made at or after ``since``, ISO UTC, if given) with its coder, the
        suggested and the final code, the segment text and its document."""
        q = (sa.select(decisions.c.id, decisions.c.suggestion_id, coders.c.name.label("coder"), decisions.c.action,
                       suggestions.c.code_id.label("suggested"), decisions.c.code_id.label("code"),
                       decisions.c.coding_id, decisions.c.created_at, segments.c.text,
                       documents.c.name.label("document"), documents.c.attributes)
             .select_from(decisions.join(suggestions, suggestions.c.id == decisions.c.suggestion_id)
                          .join(segments, segments.c.id == suggestions.c.segment_id)
                          .join(documents, documents.c.id == segments.c.document_id)
                          .join(coders, coders.c.id == decisions.c.coder_id))
             .order_by(decisions.c.created_at))
        if since is not None:
            q = q.where(decisions.c.created_at >= since)
        df = self.read_sql(q)
        df["attributes"] = df["attributes"].map(json.loads)
        return df

    def set_meta(self, key: str, value: str) -> None:
        with self._guard(), self.engine.begin() as conn:
            self.exchange_meta(conn, key, value)

    def get_meta(self, key: str) -> str | None:
        with self._guard(), self.engine.connect() as conn:
            return conn.execute(sa.select(meta_table.c.value).where(meta_table.c.key == key)).scalar()

    # -- queries -------------------------------------------------------------

    def read_sql(self, query: sa.Select) -> pd.DataFrame:
        with self._guard(), self.engine.connect() as conn:
            result = conn.execute(query)
            return pd.DataFrame(result.fetchall(), columns=list(result.keys()))

    def documents(self) -> pd.DataFrame:
        """One row per document: id, name, kind, case, attributes (dict), counts."""
        nseg = (sa.select(segments.c.document_id, sa.func.count().label("segments"))
                .where(segments.c.retired.is_(False)).group_by(segments.c.document_id).subquery())
        q = (sa.select(documents.c.id, documents.c.name, documents.c.kind, documents.c.sha256,
                       documents.c.attributes, documents.c.imported_at, cases.c.name.label("case"),
                       sa.func.coalesce(nseg.c.segments, 0).label("segments"))
             .select_from(documents.outerjoin(cases, documents.c.case_id == cases.c.id)
                          .outerjoin(nseg, nseg.c.document_id == documents.c.id))
             .order_by(documents.c.name))
        df = self.read_sql(q)
        df["attributes"] = df["attributes"].map(json.loads)
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

    def document_text(self, name: str) -> str:
        with self._guard(), self.engine.connect() as conn:
            text = conn.execute(sa.select(documents.c.text).where(documents.c.name == name)).scalar()
        if text is None:
            raise StoreError(f"no document '{name}' in the project")
        return text

    def segments(self, *, document: str | None = None, codable_only: bool = False) -> pd.DataFrame:
        """Current segments with their document name, in reading order."""
        q = (sa.select(segments.c.id, documents.c.name.label("document"), segments.c.idx,
                       turns.c.idx.label("turn"), segments.c.start, segments.c.end, segments.c.text,
                       segments.c.speaker, segments.c.codable)
             .join(documents, segments.c.document_id == documents.c.id)
             .join(turns, turns.c.id == segments.c.turn_id)
             .where(segments.c.retired.is_(False)).order_by(documents.c.name, segments.c.idx))
        if document is not None:
            q = q.where(documents.c.name == document)
        if codable_only:
            q = q.where(segments.c.codable.is_(True))
        return self.read_sql(q)

    def codings(self, *, include_inactive: bool = False, since: str | None = None) -> pd.DataFrame:
        """Codings with document, code, domain, coder, span, quote and document attributes (those
        made at or after ``since``, ISO UTC, if given)."""
        q = (sa.select(codings.c.id, documents.c.name.label("document"), documents.c.kind,
                       segments.c.speaker, cases.c.name.label("case"), codings.c.code_id.label("code"),
                       codes.c.label.label("code_label"), codes.c.domain, coders.c.name.label("coder"),
                       coders.c.kind.label("coder_kind"), codings.c.start, codings.c.end, codings.c.quote,
                       codings.c.origin, codings.c.status, codings.c.segment_id, codings.c.created_at,
                       documents.c.attributes)
             .select_from(codings.join(documents, codings.c.document_id == documents.c.id)
                          .join(codes, codes.c.code_id == codings.c.code_id)
                          .join(coders, coders.c.id == codings.c.coder_id)
                          .outerjoin(segments, segments.c.id == codings.c.segment_id)
                          .outerjoin(cases, cases.c.id == documents.c.case_id))
             .order_by(documents.c.name, codings.c.start, codings.c.code_id))
        if not include_inactive:
            q = q.where(codings.c.status == "active")
        if since is not None:
            q = q.where(codings.c.created_at >= since)
        df = self.read_sql(q)
        df["attributes"] = df["attributes"].map(json.loads)
        return df

    def memos(self) -> pd.DataFrame:
        """Every memo with its author, target and dates."""
        return self.read_sql(sa.select(memos.c.id, memos.c.target_type, memos.c.target_id,
                                       coders.c.name.label("coder"), memos.c.text, memos.c.created_at,
                                       memos.c.updated_at)
                             .join(coders, coders.c.id == memos.c.coder_id).order_by(memos.c.created_at))

    def coders(self) -> pd.DataFrame:
        return self.read_sql(sa.select(coders).order_by(coders.c.name))

    def audit_log(self) -> pd.DataFrame:
        return self.read_sql(sa.select(audit).order_by(audit.c.seq))

    def status(self) -> dict[str, Any]:
        """Counts of everything a researcher asks about first."""
        def count(table: sa.Table, *where: Any) -> int:
            return conn.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar_one()

        with self._guard(), self.engine.connect() as conn:
            cb = conn.execute(sa.select(codebooks.c.codebook_id, codebooks.c.version)
                              .where(codebooks.c.current.is_(True))).first()
            return {
                "project": str(self.directory),
                "codebook": f"{cb.codebook_id} {cb.version}" if cb else None,
                "codes": count(codes, codes.c.active.is_(True)),
                "documents": count(documents),
                "interviews": count(documents, documents.c.kind == "interview"),
                "literature": count(documents, documents.c.kind == "literature"),
                "cases": count(cases),
                "turns": count(turns, turns.c.retired.is_(False)),
                "segments": count(segments, segments.c.retired.is_(False)),
                "codable_segments": count(segments, segments.c.retired.is_(False), segments.c.codable.is_(True)),
                "codings": count(codings, codings.c.status == "active"),
                "orphaned_codings": count(codings, codings.c.status == "orphaned"),
                "suggestions": count(suggestions),
                "pending_suggestions": count(suggestions, suggestions.c.status == "pending"),
                "decisions": count(decisions),
                "memos": count(memos),
                "coders": count(coders),
            }

    # -- exchange --------------------------------------------------------------
    # For clhs_mechanisms.interop: importing a REFI-QDA project keeps the other tool's
    # GUIDs, authors and dates. Every method here works inside the caller's transaction
    # (``exchange_transaction``), so an import lands whole or not at all.

    @contextmanager
    def _within(self, conn: Connection | None) -> Iterator[Connection]:
        """``conn`` itself, or a new transaction when it is None."""
        if conn is not None:
            yield conn
        else:
            with self.engine.begin() as new:
                yield new

    @contextmanager
    def exchange_transaction(self) -> Iterator[Connection]:
        """One write transaction for an import; database failures become StoreErrors."""
        with self._guard(), self.engine.begin() as conn:
            yield conn

    @contextmanager
    def exchange_snapshot(self) -> Iterator[Connection]:
        """A read transaction, so an export sees one consistent state of the project."""
        with self._guard(), self.engine.connect() as conn, conn.begin():
            yield conn

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

    def exchange_case(self, conn: Connection, guid: str, name: str, attributes: dict[str, str]) -> str:
        """The case with id ``guid`` (or called ``name``), created with that id and attributes if new."""
        row = conn.execute(sa.select(cases.c.id).where(sa.or_(cases.c.id == guid, cases.c.name == name))).first()
        if row is not None:
            return row.id
        conn.execute(cases.insert().values(id=guid, name=name, attributes=json.dumps(attributes)))
        return guid

    def exchange_document(self, conn: Connection, doc_id: str, document: Document, units: Sequence[Segment], *,
                          case_id: str | None, imported_at: str, coder: str = "system") -> None:
        """Store a document under the id ``doc_id`` with its turns and segments."""
        conn.execute(documents.insert().values(
            id=doc_id, name=document.name, kind=document.kind, sha256=document.sha256, text=document.text,
            attributes=json.dumps(dict(document.attributes)), source_path=document.source_path, case_id=case_id,
            imported_at=imported_at))
        self._insert_units(conn, doc_id, document, units)
        self._log(conn, coder, "import", "document", doc_id,
                  {"name": document.name, "sha256": document.sha256, "segments": len(units), "via": "exchange"})

    def exchange_coding(self, conn: Connection, coding_id: str, doc_id: str, start: int, end: int, code: str, *,
                        coder_id: str, created_at: str, origin: str = "import", coder: str = "system") -> None:
        """Store a coding with the id, author and creation time it had in the other tool."""
        doc = conn.execute(sa.select(documents.c.text).where(documents.c.id == doc_id)).first()
        if doc is None:
            raise StoreError(f"no document with id '{doc_id}' in the project")
        _insert_coding(conn, coding_id, doc_id, doc.text, start, end, code, coder_id=coder_id, origin=origin,
                       suggestion_id=None, created_at=created_at)
        self._log(conn, coder, "code", "coding", coding_id,
                  {"document": doc_id, "code": code, "start": start, "end": end, "via": "exchange"})

    def exchange_memo(self, conn: Connection, memo_id: str, target_type: str, target_id: str | None, *,
                      coder_id: str, text: str, created_at: str, updated_at: str, coder: str = "system") -> None:
        """Store a memo with the id, author and dates it had in the other tool."""
        conn.execute(memos.insert().values(id=memo_id, target_type=target_type, target_id=target_id,
                                           coder_id=coder_id, text=text, created_at=created_at,
                                           updated_at=updated_at))
        self._log(conn, coder, "memo", target_type, target_id, {"memo": memo_id, "via": "exchange"})

    def exchange_code_guid(self, conn: Connection, code_id: str, guid: str) -> bool:
        """Give a code the GUID it had in the other tool (unless another code has it); True if set."""
        if conn.execute(sa.select(codes.c.id).where(codes.c.id == guid)).first() is not None:
            return False
        return bool(conn.execute(codes.update().where(codes.c.code_id == code_id).values(id=guid)).rowcount)

    def exchange_meta(self, conn: Connection, key: str, value: str) -> None:
        """Set a ``meta`` entry inside the caller's transaction."""
        if conn.execute(sa.select(meta_table.c.key).where(meta_table.c.key == key)).first():
            conn.execute(meta_table.update().where(meta_table.c.key == key).values(value=value))
        else:
            conn.execute(meta_table.insert().values(key=key, value=value))


def _bulk_insert(conn: Connection, table: sa.Table, rows: list[tuple]) -> None:
    """executemany through the driver: bulk imports skip per-row SQLAlchemy parameter processing."""
    if not rows:
        return
    marker = {"qmark": "?", "numeric": ":{}", "named": ":c{}", "format": "%s", "pyformat": "%s"}[
        conn.dialect.paramstyle]
    names = ", ".join(conn.dialect.identifier_preparer.quote(c.name) for c in table.columns)
    values = ", ".join(marker.format(i + 1) for i in range(len(table.columns)))
    if conn.dialect.paramstyle == "named":
        rows = [{f"c{i + 1}": v for i, v in enumerate(r)} for r in rows]
    conn.exec_driver_sql(f"INSERT INTO {table.name} ({names}) VALUES ({values})", rows)


def _insert_coding(conn: Connection, coding_id: str, doc_id: str, text: str, start: int, end: int, code: str, *,
                   coder_id: str, origin: str, suggestion_id: str | None, created_at: str,
                   where: str | None = None) -> None:
    """Insert one active coding of ``text[start:end]``, linked to the segment holding it,
    with the quote and context that let it be re-anchored later."""
    if not 0 <= start < end <= len(text):
        raise StoreError(f"span {start}-{end} is outside the document (0-{len(text)})", where=where)
    seg_rows = conn.execute(sa.select(segments.c.id, segments.c.start, segments.c.end).where(
        segments.c.document_id == doc_id, segments.c.retired.is_(False))).mappings().all()
    conn.execute(codings.insert().values(
        id=coding_id, document_id=doc_id, segment_id=_containing(seg_rows, start, end), start=start, end=end,
        code_id=code, coder_id=coder_id, origin=origin, suggestion_id=suggestion_id, quote=text[start:end],
        context_before=text[max(0, start - CONTEXT_CHARS):start], context_after=text[end:end + CONTEXT_CHARS],
        status="active", created_at=created_at))


def _containing(seg_rows: Sequence[Any], start: int, end: int) -> str | None:
    """The segment that contains the span, else the one it overlaps most."""
    best, best_overlap = None, 0
    for s in seg_rows:
        s = dict(s)
        overlap = min(end, s["end"]) - max(start, s["start"])
        if s["start"] <= start and end <= s["end"]:
            return s["id"]
        if overlap > best_overlap:
            best, best_overlap = s["id"], overlap
    return best
