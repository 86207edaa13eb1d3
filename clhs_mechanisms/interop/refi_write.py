"""Writing a checked REFI-QDA project into the store, in one transaction: users, cases, sources
as documents, codings and notes as memos, keeping the other tool's GUIDs, authors and dates."""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from dataclasses import dataclass, field

from ..corpus.model import Document
from ..corpus.transcript import parse_transcript
from ..errors import ClhsError
from ..segment import Segmenter
from ..store import Project, Transaction, now
from .offsets import SourceText
from .refi_common import derived_guid, short_name, stored_time
from .refi_model import QCoding, QProject, QSelection, QSource
from .refi_modifiers import read_modifier_note
from .refi_plan import CodePlan, apply_codes
from .report import ExchangeReport

IMPORT_USER = "REFI-QDA import"
_OUR_SOURCE = re.compile(
    r"^clhs-mechanisms (interview|literature) document; original file SHA-256: ([0-9a-f]{64})$"
)

Memo = tuple[str, str, str, "str | None", "str | None", "str | None"]  # guid, text, target, id, user, time


@dataclass
class SourceFile:
    """A text source of the file with its bytes, its text, and where its selections lie in it."""

    source: QSource
    data: bytes
    text: SourceText
    spans: dict[str, tuple[int, int]] = field(default_factory=dict)  # selection guid -> span in text


class ProjectWriter:
    """Writes one checked project file through ``project``'s exchange methods inside ``conn``."""

    def __init__(
        self,
        project: Project,
        conn: Transaction,
        qp: QProject,
        report: ExchangeReport,
        *,
        where: str,
        kind: str,
        segmenter: Segmenter,
        coder: str,
    ) -> None:
        self.project, self.conn, self.qp, self.report = project, conn, qp, report
        self.where, self.kind, self.segmenter, self.coder = where, kind, segmenter, coder
        self.counts: dict[str, int] = defaultdict(int)
        self.users: dict[str, str] = {}
        self.default_user: str | None = None
        self.targets: dict[str, tuple[str, str | None]] = {}  # note guid -> (target type, target id)
        self.extra_memos: list[Memo] = []  # descriptions of sources and selections
        self.variables = {guid: name for guid, (name, _) in qp.variables.items()}
        self.written: dict[str, str] = {}  # coding guid -> code, for the codings this import writes
        self.kept: set[str] = set()  # codings of the file the project already had

    def write(
        self,
        plan: CodePlan,
        texts: list[SourceFile],
        note_texts: dict[str, str],
        case_of_source: dict[str, str],
    ) -> dict[str, int]:
        """Everything, in the order later steps need; returns the counts for the report."""
        apply_codes(self.project, self.conn, plan, self.coder)
        before = {what: self.project.exchange_count(self.conn, what) for what in ("coders", "cases")}
        for guid, name in self.qp.users.items():
            self.users[guid] = self.project.exchange_coder(self.conn, guid, name)
            if self.users[guid] != guid:
                self.report.changed("users merged with a coder of the same name", name)
        case_ids, case_names = self._cases()
        existing_memos = self.project.exchange_memo_ids(self.conn)
        doc_of = {}
        names = self.project.exchange_document_names(self.conn)
        for t in texts:
            doc_of[t.source.guid] = self._document(
                t, names, case_of_source.get(t.source.guid), case_ids, case_names
            )
        self._note_targets(plan)
        for t in texts:
            if t.source.guid in doc_of:
                self._codings(t, doc_of[t.source.guid], plan)
        self._memos(note_texts, existing_memos)
        for what, key in (("coders", "users"), ("cases", "cases")):
            self.counts[key] = self.project.exchange_count(self.conn, what) - before[what]
        return self.counts

    def user(self, guid: str | None) -> str:
        """The coder id for a creating user's GUID (listed, unlisted, or none given)."""
        if guid and guid in self.users:
            return self.users[guid]
        if guid:
            self.users[guid] = self.project.exchange_coder(self.conn, guid, f"user {guid[:8]}")
            self.report.changed("users referred to but not listed (named by their GUID)", guid)
            return self.users[guid]
        if self.default_user is None:
            guid = derived_guid("import-user", IMPORT_USER)
            self.default_user = self.project.exchange_coder(self.conn, guid, IMPORT_USER)
        self.report.changed(f"items without a creating user (attributed to '{IMPORT_USER}')")
        return self.default_user

    def _cases(self) -> tuple[dict[str, str], dict[str, str]]:
        case_ids: dict[str, str] = {}
        case_names: dict[str, str] = {}
        for case in self.qp.cases:
            attrs = {self.variables.get(g, g): v for g, v in case.variables.items()}
            name = case.name or f"case {case.guid[:8]}"
            case_ids[case.guid] = self.project.exchange_case(self.conn, case.guid, name, attrs)
            case_names[case.guid] = name
        return case_ids, case_names

    def _existing(self, t: SourceFile, names: dict[str, str]) -> str | None:
        """The id of the project's document this source already is (same GUID, or same name and text)."""
        src, text = t.source, t.text.text
        stored = self.project.exchange_document_text(self.conn, src.guid)
        if stored is not None:
            if stored != text:
                raise ClhsError(
                    f"source '{src.name}' ({src.guid}) is already in the project with a "
                    "different text; nothing imported",
                    where=self.where,
                )
            return src.guid
        if src.name in names and self.project.exchange_document_text(self.conn, names[src.name]) == text:
            return names[src.name]
        return None

    def _document(
        self,
        t: SourceFile,
        names: dict[str, str],
        case_guid: str | None,
        case_ids: dict[str, str],
        case_names: dict[str, str],
    ) -> str:
        """Store a source as a document (unless it is one already); returns its document id."""
        src = t.source
        existing = self._existing(t, names)
        if existing is not None:
            self.counts["documents already in the project"] += 1
            return existing
        name = src.name.strip() or f"source {src.guid[:8]}"
        if name in names:
            base, n = name, 2
            while name in names:
                name, n = f"{base} ({n})", n + 1
            self.report.changed("documents renamed (the name was taken)", f"{src.name} -> {name}")
        ours = _OUR_SOURCE.match(src.description.strip())
        doc_kind = ours.group(1) if ours else self.kind
        sha = ours.group(2) if ours else hashlib.sha256(t.data).hexdigest()
        if src.description.strip() and not ours:
            self.extra_memos.append(
                (
                    derived_guid("source-description", src.guid),
                    src.description.strip(),
                    "document",
                    src.guid,
                    src.user,
                    src.created,
                )
            )
        attrs = {self.variables.get(g, g): v for g, v in src.variables.items()}
        if case_guid is not None:
            if not src.variables:
                attrs = {**self.project.exchange_case_attributes(self.conn, case_ids[case_guid]), **attrs}
            attrs.setdefault("participant", case_names[case_guid])
        text = t.text.text
        document = Document(
            name=name,
            kind=doc_kind,
            text=text,
            turns=tuple(parse_transcript(text)),
            sha256=sha,
            attributes={k: str(v) for k, v in attrs.items()},
            source_path=None,
        )
        self.project.exchange_document(
            self.conn,
            src.guid,
            document,
            self.segmenter.segment(document),
            case_id=case_ids.get(case_guid) if case_guid else None,
            imported_at=stored_time(src.created) or now(),
            coder=self.coder,
        )
        names[name] = src.guid
        self.counts["documents"] += 1
        return src.guid

    def _target(self, note: str, value: tuple[str, str | None]) -> None:
        if note in self.targets:
            self.report.changed("notes referred to from several places (kept on the first)", note)
        else:
            self.targets[note] = value

    def _note_targets(self, plan: CodePlan) -> None:
        """Notes on the project and on codes (those on folders and domains become project memos)."""
        for note in self.qp.project_note_refs:
            self._target(note, ("project", None))
        for q in self.qp.all_codes():
            for note in q.note_refs:
                if q.guid in plan.codes:
                    self._target(note, ("code", plan.codes[q.guid]))
                else:
                    self._target(note, ("project", None))
                    self.report.changed("notes on folders or domains (kept as project memos)", q.name)

    def _codings(self, t: SourceFile, doc_id: str, plan: CodePlan) -> None:
        """A source's codings, and the notes and descriptions on it and its selections."""
        src = t.source
        for note in src.note_refs:
            self._target(note, ("document", doc_id))
        planned: list[tuple[QCoding, tuple[int, int]]] = [(c, (0, len(t.text.text))) for c in src.codings]
        if src.codings:
            self.report.changed("codings of a whole source (applied to its full text)", src.name)
        for s in src.selections:
            if s.guid in t.spans:
                planned.extend((c, t.spans[s.guid]) for c in s.codings)
                self._selection_notes(src, s, doc_id, t.spans[s.guid])
        for c, span in planned:
            if c.code in plan.codes:
                self._coding(c, doc_id, span, plan.codes[c.code])

    def _coding(self, c: QCoding, doc_id: str, span: tuple[int, int], code: str) -> None:
        """Write one coding (unless it is in the project already); its notes are about it."""
        for note in c.note_refs:
            self._target(note, ("coding", c.guid))
        if self.project.exchange_has_coding(self.conn, c.guid):
            self.counts["codings already in the project"] += 1
            self.kept.add(c.guid)
            return
        self.project.exchange_coding(
            self.conn,
            c.guid,
            doc_id,
            *span,
            code,
            coder_id=self.user(c.user),
            created_at=stored_time(c.created) or now(),
            coder=self.coder,
        )
        self.counts["codings"] += 1
        self.written[c.guid] = code

    def _selection_notes(self, src: QSource, s: QSelection, doc_id: str, span: tuple[int, int]) -> None:
        """A selection's notes go to the segment it matches, else its first coding, else the document."""
        seg = self.project.exchange_segment_at(self.conn, doc_id, *span)
        for note in s.note_refs:
            if seg:
                self._target(note, ("segment", seg))
            elif s.codings:
                self._target(note, ("coding", s.codings[0].guid))
            else:
                self._target(note, ("document", doc_id))
                self.report.changed(
                    "notes on selections that match no segment (kept on the document)",
                    f"{src.name}: {span[0]}-{span[1]}",
                )
        if not s.codings and not s.note_refs and not s.description.strip():
            self.report.lost("selections without codings or notes", f"{src.name}: {span[0]}-{span[1]}")
        if s.description.strip():
            memo_target = (
                ("coding", s.codings[0].guid)
                if s.codings
                else ("segment", seg)
                if seg
                else ("document", doc_id)
            )
            self.extra_memos.append(
                (
                    derived_guid("selection-description", s.guid),
                    s.description.strip(),
                    *memo_target,
                    s.user,
                    s.created,
                )
            )

    def _modifiers(self, coding: str | None, text: str) -> bool:
        """Whether a note on a coding gives that coding's modifiers (``refi_modifiers``): they are
        stored when the codebook allows them for the coding's code; otherwise the note stays a memo."""
        values = read_modifier_note(text)
        if values is None or coding not in self.written.keys() | self.kept:
            return False
        if coding in self.kept:
            self.counts["modifier notes of codings already in the project"] += 1
            return True
        try:
            checked = self.project.check_modifiers(self.written[coding], values)
        except ClhsError as exc:
            self.report.changed("modifier notes the codebook does not allow (kept as memos)", str(exc))
            return False
        self.project.exchange_modifiers(self.conn, coding, checked, coder=self.coder)
        self.counts["modifiers"] += len(checked)
        return True

    def _memos(self, note_texts: dict[str, str], existing: set[str]) -> None:
        """Notes as memos on their targets, then the descriptions kept as memos."""
        by_guid = {n.guid: n for n in self.qp.notes}
        for guid, text in note_texts.items():
            if guid in existing:
                self.counts["memos already in the project"] += 1
                continue
            n = by_guid.get(guid)
            kind, tid = self.targets.get(guid, ("project", None))
            if not text.strip():
                self.report.lost("empty notes", guid)
                continue
            if kind == "coding" and self._modifiers(tid, text):
                continue
            created = stored_time((n.created or n.modified) if n else None) or now()
            self.project.exchange_memo(
                self.conn,
                guid,
                kind,
                tid,
                coder_id=self.user(n.user if n else None),
                text=text,
                created_at=created,
                updated_at=stored_time(n.modified if n else None) or created,
                coder=self.coder,
            )
            self.counts["memos"] += 1
        for guid, text, kind, tid, author, created in self.extra_memos:
            if guid in existing:
                continue
            self.project.exchange_memo(
                self.conn,
                guid,
                kind,
                tid,
                coder_id=self.user(author),
                text=text,
                created_at=stored_time(created) or now(),
                updated_at=stored_time(created) or now(),
                coder=self.coder,
            )
            self.counts["memos"] += 1
            self.report.changed("descriptions of sources and selections (kept as memos)", short_name(text))
