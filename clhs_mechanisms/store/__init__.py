"""The project store: one database per project, SQLAlchemy Core, and the only place that speaks SQL.

A project is a directory holding ``project.db`` (SQLite in WAL mode) unless an engine
URL (e.g. PostgreSQL) is given. Every object has a UUID; suggestions and codings are
separate tables, and a suggestion becomes a coding only through a human decision.
Nothing is ever deleted silently: replaced segments are retired, removed codes are
deactivated, deleted codings keep their row, and every change goes to the
append-only audit log. Other modules use :class:`Project` methods, which return
DataFrames, dicts or the plain records defined in ``_records``.
"""

from __future__ import annotations

from sqlalchemy.engine import Connection as Transaction  # what ``exchange_transaction`` yields

from ..errors import StoreError
from ._anchoring import CONTEXT_CHARS, anchor
from ._core import DB_NAME, URL_FILE, CodebookChange
from ._documents import CHANGED_DOCUMENT, ImportResult
from ._edits import Undone
from ._ids import _clock as _clock  # the id generator's state: tests set its clock
from ._ids import code_uuid, new_id, new_ids, now
from ._project import Project
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
from ._schema import SCHEMA_VERSION

__all__ = [
    "CHANGED_DOCUMENT",
    "CONTEXT_CHARS",
    "DB_NAME",
    "SCHEMA_VERSION",
    "Undone",
    "URL_FILE",
    "CaseRecord",
    "CodebookChange",
    "CoderRecord",
    "CodingRecord",
    "DocumentRecord",
    "HumanCoding",
    "ImportResult",
    "MemoRecord",
    "Project",
    "ProjectSnapshot",
    "ProvenanceRecord",
    "SpanRecord",
    "StoreError",
    "StoredCodes",
    "TrainingUnits",
    "Transaction",
    "UnitRecord",
    "anchor",
    "code_uuid",
    "new_id",
    "new_ids",
    "now",
]
