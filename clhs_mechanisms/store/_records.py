"""Plain records that exchange code (REFI-QDA, training data) reads from a project: no database
types leave the store."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple


class CoderRecord(NamedTuple):
    id: str
    name: str
    kind: str  # human | model
    created_at: str


class DocumentRecord(NamedTuple):
    id: str
    name: str
    kind: str
    sha256: str
    text: str
    attributes: dict
    source_path: str | None
    case_id: str | None
    imported_at: str
    warnings: tuple[str, ...] = ()  # what the reader noticed when the file was imported


class CaseRecord(NamedTuple):
    id: str
    name: str
    attributes: dict


class CodingRecord(NamedTuple):
    id: str
    document_id: str
    start: int
    end: int
    code_id: str
    coder_id: str
    created_at: str


class ProvenanceRecord(NamedTuple):
    """A coding that came from a machine suggestion, with the suggestion and the decision on it."""

    coding_id: str
    start: int
    end: int
    final: str
    action: str | None
    decided_at: str | None
    decider_id: str | None
    suggested: str
    method: str
    score: float
    model_version: str | None
    codebook_version: str
    suggested_at: str


class MemoRecord(NamedTuple):
    id: str
    target_type: str
    target_id: str | None
    coder_id: str
    text: str
    created_at: str
    updated_at: str


class SpanRecord(NamedTuple):
    id: str
    document_id: str
    start: int
    end: int


class UnitRecord(NamedTuple):
    """A current codable segment with its document's name, kind and attributes."""

    id: str
    idx: int
    start: int
    end: int
    text: str
    speaker: str | None
    name: str
    kind: str
    attributes: dict


class HumanCoding(NamedTuple):
    segment_id: str
    code_id: str
    start: int
    end: int


@dataclass(frozen=True)
class StoredCodes:
    """Every code the project has known (with its GUID and label), its ``meta`` entries and the
    codes of its active codings."""

    guids: dict[str, str]
    labels: dict[str, str]
    meta: dict[str, str]
    used: frozenset[str]


@dataclass(frozen=True)
class ProjectSnapshot:
    """One consistent state of a project, everything a REFI-QDA export writes or reports."""

    codes: StoredCodes
    coders: dict[str, CoderRecord]
    documents: list[DocumentRecord]  # by name
    cases: list[CaseRecord]  # by name
    codings: list[CodingRecord]  # active, by document, start, end, creation, id
    provenance: list[ProvenanceRecord]  # of active codings
    memos: list[MemoRecord]  # by creation, id
    memo_segments: dict[str, SpanRecord]  # the segments memos are about
    pending: int  # suggestions nobody decided (pending or stale)
    rejected: int
    inactive: list[tuple[str, int]] = field(default_factory=list)  # (coding status, count)


@dataclass(frozen=True)
class TrainingUnits:
    """What training data is made of: the codable segments and what people did with them."""

    units: list[UnitRecord]  # by document name, reading order
    human_codings: list[HumanCoding]  # active codings by people, on a segment
    decided: frozenset[str]  # segments with a decided suggestion
