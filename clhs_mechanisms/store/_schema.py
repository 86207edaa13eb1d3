"""The tables of a project database, its schema version and the audit log's append-only triggers."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

SCHEMA_VERSION = 4
# 2: the audit log refuses REPLACE on SQLite; 3: documents keep their reader warnings; 4: coders sign in
# (password hash, role), one decision per suggestion *per coder* (blind double coding), coding modifiers

metadata = sa.MetaData()


def _id() -> sa.Column:
    return sa.Column("id", sa.String(36), primary_key=True)


def _fk(name: str, target: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.String(36), sa.ForeignKey(target), nullable=nullable, index=True)


meta_table = sa.Table(
    "meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)
coders = sa.Table(
    "coders",
    metadata,
    _id(),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("kind", sa.String(10), nullable=False),  # human | model
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("password_hash", sa.Text),  # scrypt, for signing in to the app in team mode
    sa.Column("role", sa.String(20), nullable=False, server_default="coder"),  # coder | adjudicator
)
codebooks = sa.Table(
    "codebooks",
    metadata,
    _id(),
    sa.Column("codebook_id", sa.String(200), nullable=False),
    sa.Column("version", sa.String(50), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False, unique=True),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("loaded_at", sa.String(32), nullable=False),
    sa.Column("current", sa.Boolean, nullable=False),
)
codes = sa.Table(
    "codes",
    metadata,
    _id(),
    sa.Column("code_id", sa.String(200), nullable=False, unique=True),
    sa.Column("label", sa.Text, nullable=False),
    sa.Column("domain", sa.String(200), nullable=False),
    sa.Column("parent", sa.String(200)),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("added_in", sa.String(50), nullable=False),
    sa.Column("retired_in", sa.String(50)),
)
cases = sa.Table(
    "cases",
    metadata,
    _id(),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("attributes", sa.Text, nullable=False),
)
documents = sa.Table(
    "documents",
    metadata,
    _id(),
    sa.Column("name", sa.String(500), nullable=False, unique=True),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("attributes", sa.Text, nullable=False),
    sa.Column("source_path", sa.Text),
    _fk("case_id", "cases.id", nullable=True),
    sa.Column("imported_at", sa.String(32), nullable=False),
    sa.Column("warnings", sa.Text, nullable=False, server_default="[]"),  # JSON: what the reader noticed
)
turns = sa.Table(
    "turns",
    metadata,
    _id(),
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
    "segments",
    metadata,
    _id(),
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
    "suggestions",
    metadata,
    _id(),
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
    "codings",
    metadata,
    _id(),
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
    sa.Column("modifiers", sa.Text, nullable=False, server_default="{}"),  # JSON: modifier -> value
)
decisions = sa.Table(
    "decisions",
    metadata,
    _id(),
    _fk("suggestion_id", "suggestions.id"),
    _fk("coder_id", "coders.id"),
    sa.Column("action", sa.String(20), nullable=False),  # accept | reject | edit
    sa.Column("code_id", sa.String(200), sa.ForeignKey("codes.code_id")),
    _fk("coding_id", "codings.id", nullable=True),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.UniqueConstraint("suggestion_id", "coder_id", name="uq_decisions_suggestion_coder"),
)
memos = sa.Table(
    "memos",
    metadata,
    _id(),
    sa.Column("target_type", sa.String(20), nullable=False),  # project | document | segment | coding | code
    sa.Column("target_id", sa.String(200)),
    _fk("coder_id", "coders.id"),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("updated_at", sa.String(32), nullable=False),
)
audit = sa.Table(
    "audit",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.String(32), nullable=False),
    sa.Column("coder", sa.String(200), nullable=False),
    sa.Column("action", sa.String(50), nullable=False),
    sa.Column("entity", sa.String(50), nullable=False),
    sa.Column("entity_id", sa.String(200)),
    sa.Column("detail", sa.Text, nullable=False),
)

_APPEND_ONLY = {  # per database dialect: triggers that refuse to change or delete audit rows
    "sqlite": (
        # INSERT OR REPLACE / REPLACE INTO delete the old row without firing DELETE triggers: an
        # insert that would meet an existing row is refused before the conflict is resolved
        "CREATE TRIGGER IF NOT EXISTS audit_no_replace BEFORE INSERT ON audit "
        "WHEN EXISTS (SELECT 1 FROM audit WHERE seq = NEW.seq) "
        "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
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


def _append_only(conn: Connection) -> None:
    for stmt in _APPEND_ONLY.get(conn.dialect.name, ()):
        conn.exec_driver_sql(stmt)


# Migrations from version N to N + 1, applied in order inside one transaction on open.
MIGRATIONS: dict[int, Callable[[Connection], None]] = {
    1: lambda conn: _append_only(conn) if conn.dialect.name == "sqlite" else None,  # 2: refuse REPLACE
    2: lambda conn: conn.exec_driver_sql(  # 3: reader warnings
        "ALTER TABLE documents ADD COLUMN warnings TEXT NOT NULL DEFAULT '[]'"
    ),
    3: lambda conn: _to_4(conn),
}


def _to_4(conn: Connection) -> None:
    """Coders gain a password hash and a role, codings their modifiers, and a suggestion may have one
    decision per coder (the table is rebuilt on SQLite, which cannot drop a UNIQUE constraint)."""
    conn.exec_driver_sql("ALTER TABLE coders ADD COLUMN password_hash TEXT")
    conn.exec_driver_sql("ALTER TABLE coders ADD COLUMN role VARCHAR(20) NOT NULL DEFAULT 'coder'")
    conn.exec_driver_sql("ALTER TABLE codings ADD COLUMN modifiers TEXT NOT NULL DEFAULT '{}'")
    if conn.dialect.name == "sqlite":
        for index in ("ix_decisions_coder_id", "ix_decisions_coding_id"):
            conn.exec_driver_sql(f"DROP INDEX IF EXISTS {index}")
        conn.exec_driver_sql("ALTER TABLE decisions RENAME TO decisions_v3")
        decisions.create(conn)
        columns = ", ".join(c.name for c in decisions.columns)
        conn.exec_driver_sql(f"INSERT INTO decisions ({columns}) SELECT {columns} FROM decisions_v3")
        conn.exec_driver_sql("DROP TABLE decisions_v3")
    else:
        conn.exec_driver_sql("ALTER TABLE decisions DROP CONSTRAINT decisions_suggestion_id_key")
        conn.exec_driver_sql(
            "ALTER TABLE decisions ADD CONSTRAINT uq_decisions_suggestion_coder "
            "UNIQUE (suggestion_id, coder_id)"
        )
        conn.exec_driver_sql("CREATE INDEX ix_decisions_suggestion_id ON decisions (suggestion_id)")


def create_schema(conn: Connection) -> None:
    """Create every table, and the triggers that keep the audit log append-only."""
    metadata.create_all(conn)
    _append_only(conn)
