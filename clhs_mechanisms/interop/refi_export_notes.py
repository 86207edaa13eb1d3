"""Memos and provenance as REFI-QDA notes for the ``.qdpx`` export, and what each note hangs off.

Memos keep their author and both dates; a coding that came from a machine suggestion gets a note
saying who accepted (or edited) which suggestion, so the decision survives the exchange.
"""

from __future__ import annotations

from collections import defaultdict

from ..store import ProjectSnapshot, ProvenanceRecord
from .refi_common import provenance_guid
from .report import ExchangeReport


def _provenance_text(row: ProvenanceRecord, decider: str | None) -> str:
    """Who decided on which machine suggestion, when, and (if edited) what was coded instead."""
    when = row.decided_at or "an unknown time"
    who = decider or "someone"
    model = f", model {row.model_version}" if row.model_version else ""
    text = (
        f"Machine suggestion {'accepted' if row.action == 'accept' else 'edited'} by {who} on {when}: "
        f"{row.method} suggested '{row.suggested}' with score {row.score:.2f} "
        f"(codebook {row.codebook_version}{model}; suggested {row.suggested_at})."
    )
    if row.action == "edit":
        text += f" Coded as '{row.final}' on {row.start}-{row.end}."
    return text


Refs = dict[tuple[str, str], list[str]]  # (kind, target) -> note guids


def project_notes(
    snap: ProjectSnapshot, coding_ids: set[str], code_guid: dict[str, str], report: ExchangeReport
) -> tuple[list[dict], Refs]:
    """Memos plus one provenance note per exported coding that came from a suggestion, and what
    each note hangs off."""
    notes: list[dict] = []
    refs: Refs = defaultdict(list)
    doc_ids = {d.id for d in snap.documents}
    doc_by_name = {d.name: d.id for d in snap.documents}
    for m in snap.memos:
        notes.append(
            {
                "guid": m.id,
                "text": m.text,
                "user": m.coder_id,
                "created": m.created_at,
                "modified": m.updated_at,
            }
        )
        target = m.target_id
        if m.target_type == "project":
            refs[("project", "")].append(m.id)
        elif m.target_type == "document" and (target in doc_ids or target in doc_by_name):
            refs[("document", target if target in doc_ids else doc_by_name[target])].append(m.id)
        elif m.target_type == "coding" and target in coding_ids:
            refs[("coding", target)].append(m.id)
        elif m.target_type == "segment" and target in snap.memo_segments:
            s = snap.memo_segments[target]
            refs[("span", f"{s.document_id}:{s.start}:{s.end}")].append(m.id)
        elif m.target_type == "code" and (target in code_guid or target in code_guid.values()):
            refs[("code", code_guid.get(target, target))].append(m.id)
        else:
            report.changed(
                "memos whose target is not exported (kept as unattached notes)", f"{m.target_type} {target}"
            )
    memo_ids = {m.id for m in snap.memos}
    for p in snap.provenance:
        guid = provenance_guid(p.coding_id)
        if p.coding_id not in coding_ids or guid in memo_ids:
            continue  # not exported, or carried in by an earlier import as a memo on this coding
        refs[("coding", p.coding_id)].append(guid)
        decider = snap.coders.get(p.decider_id)  # a decider no longer among the coders is left out
        notes.append(
            {
                "guid": guid,
                "text": _provenance_text(p, decider.name if decider else None),
                "user": p.decider_id if decider else None,
                "created": p.decided_at,
                "modified": p.decided_at,
            }
        )
        report.count("provenance notes")
    notes.sort(key=lambda n: (n["created"] or "", n["guid"]))
    return notes, refs
