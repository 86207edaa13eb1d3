"""Import from REFI-QDA: a codebook (``.qdc``) or a whole project (``.qdpx``) from another tool.

Everything is checked before anything is written (well-formed XML, the 1.0 schema,
duplicate GUIDs, codings that refer to undefined codes, selections outside their text),
and then written in one transaction: an import lands whole or not at all.

Lenient where real files deviate from the standard, and always saying so in the report:

* a ``.qde`` not called ``project.qde``, a ``Sources/`` folder in capitals, another
  version of the QDA-XML namespace, a schemaLocation naming another version;
* text with Windows line ends, whose positions may count ``\\r\\n`` as two characters
  or as one, and ``endPosition`` read end-exclusive or end-inclusive: the reading under
  which the selections fit their text (see :mod:`.offsets`) is used and reported;
* GUIDs in braces or capitals; selections without codings (kept as memos);
* one selection per coding (NVivo, QualCoder, this toolkit) or one per span holding several
  coders' codings: each coding's coder is its own ``creatingUser``, else its selection's;
* empty lists such as Taguette's ``<Sets/>``, which the schema does not allow;
* times in any zone, or none (read as UTC), kept in the store's UTC form.

What the project has no place for (pictures, audio, video, PDF areas, links, graphs,
sets other than hypotheses) is counted in the loss report, never silently dropped.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml

from ..codebook import Codebook, parse_codebook
from ..corpus.model import Document
from ..corpus.transcript import parse_transcript
from ..errors import ClhsError, CodebookError
from ..segment import Segmenter
from ..store import Project, cases, code_uuid, coders, codes, codings, documents, memos, meta_table, now, segments
from .offsets import Convention, Selection, SourceText, choose_convention
from .refi_archive import DEFAULT_MAX_BYTES, QdpxArchive
from .refi_common import (END_EXCLUSIVE_MARK, derived_guid, domain_guid, parse_code_description,
                          parse_hypothesis_description, short_name, stored_time)
from .refi_export import DOMAIN_GUID_KEY
from .refi_model import (QCode, QNote, QProject, QSet, QSource, check_duplicate_guids, parse_xml, read_codebook_tree,
                         read_project_tree)
from .files import write_text_atomic
from .report import ExchangeReport

IMPORT_USER = "REFI-QDA import"
IMPORTED_DOMAIN = ("imported", "Imported codes")
_OUR_SOURCE = re.compile(r"^clhs-mechanisms (interview|literature) document; original file SHA-256: ([0-9a-f]{64})$")
_CODE_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))


def _slug(name: str, fallback: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "_", ascii_name.lower()).strip("_")
    if not slug:
        return fallback
    return slug if slug[0].isalpha() else f"c_{slug}"


def _color(value: str | None) -> str | None:
    if not value:
        return None
    value = value.strip()
    if re.fullmatch(r"#[0-9A-Fa-f]{6}", value):
        return value
    if re.fullmatch(r"#[0-9A-Fa-f]{3}", value):
        return "#" + "".join(ch * 2 for ch in value[1:])
    return None


def _bump(version: str) -> str:
    m = re.match(r"^(\d+)\.(\d+)\.(\d+)", version)
    return f"{m.group(1)}.{int(m.group(2)) + 1}.0" if m else "0.1.0"


def _decode(data: bytes, name: str, report: ExchangeReport) -> str:
    for mark, codec in _BOMS:
        if data.startswith(mark):
            try:
                return data[len(mark):].decode(codec)
            except UnicodeDecodeError:
                break
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        report.changed("text files not in UTF-8 (read as cp1252)", name)
        return data.decode("cp1252", errors="replace")


# -- codes -----------------------------------------------------------------------------


@dataclass
class CodePlan:
    """How the file's codes map onto the project's codebook, and the version that adds the rest."""

    codes: dict[str, str] = field(default_factory=dict)  # file GUID -> project code id
    domains: dict[str, str] = field(default_factory=dict)  # file GUID -> project domain id
    codebook: Codebook | None = None  # the new version, if anything is added
    code_guids: dict[str, str] = field(default_factory=dict)  # new code id -> file GUID
    domain_guids: dict[str, str] = field(default_factory=dict)  # new domain id -> file GUID
    matched: int = 0
    added: int = 0


class _Planner:
    def __init__(self, project_codebook: Codebook, stored: dict[str, str], domain_guids: dict[str, str],
                 report: ExchangeReport, source: str, origin: str, quotes: dict[str, list[str]],
                 coded: set[str]) -> None:
        self.cb = project_codebook
        self.report, self.source, self.origin = report, source, origin
        self.quotes, self.coded = quotes, coded
        self.plan = CodePlan()
        self.by_guid = {guid: code_id for code_id, guid in stored.items()}
        self.domain_by_guid = {guid: d for d, guid in domain_guids.items()}
        self.by_name: dict[str, str] = {}
        for c in project_codebook.codes:
            self.by_name.setdefault(c.label.strip().lower(), c.id)
            self.by_name.setdefault(c.id, c.id)
        self.domain_by_name: dict[str, str] = {}
        for d in project_codebook.domains:
            self.domain_by_name.setdefault(d.label.strip().lower(), d.id)
            self.domain_by_name.setdefault(d.id, d.id)
        self.taken = set(project_codebook.code_ids) | {d.id for d in project_codebook.domains}
        self.new_domains: list[dict] = []
        self.new_codes: list[dict] = []
        self.source_ids: dict[str, str] = {}  # code id written in a Description -> project code id

    def _unique(self, base: str) -> str:
        ident, n = base, 2
        while ident in self.taken:
            ident, n = f"{base}_{n}", n + 1
        self.taken.add(ident)
        return ident

    def match_code(self, q: QCode) -> str | None:
        if q.guid in self.by_guid and self.by_guid[q.guid] in self.cb:
            return self.by_guid[q.guid]
        parsed = parse_code_description(q.description)
        for key in (parsed["id"], q.name.strip().lower()):
            if key and key in self.by_name:
                self.report.changed("codes matched by id or name (their GUIDs differ)",
                                    f"'{q.name}' -> {self.by_name[key]}")
                return self.by_name[key]
        return None

    def match_domain(self, q: QCode) -> str | None:
        if q.guid in self.domain_by_guid:
            return self.domain_by_guid[q.guid]
        parsed = parse_code_description(q.description)
        for key in (parsed["domain_id"], q.name.strip().lower()):
            if key and key in self.domain_by_name:
                return self.domain_by_name[key]
        return None

    def new_domain(self, q: QCode) -> str:
        parsed = parse_code_description(q.description)
        given = parsed["domain_id"]
        ident = self._unique(given if given and _CODE_ID.match(given) else _slug(q.name, "domain"))
        entry: dict[str, Any] = {"id": ident, "label": q.name.strip() or ident}
        description = q.description.strip()
        if parsed["domain_id"]:
            description = "\n".join(line for line in description.split("\n") if not line.startswith("Domain id:"))
        if description.strip():
            entry["description"] = description.strip()
        if _color(q.color):
            entry["color"] = _color(q.color)
        self.new_domains.append(entry)
        self.plan.domain_guids[ident] = q.guid
        return ident

    def imported_domain(self) -> str:
        ident = IMPORTED_DOMAIN[0]
        if any(d["id"] == ident for d in self.new_domains):
            return ident
        if ident in self.cb.code_ids or ident in self.taken and ident not in {d.id for d in self.cb.domains}:
            ident = self._unique(ident)
        elif ident in {d.id for d in self.cb.domains}:
            return ident
        self.taken.add(ident)
        self.new_domains.append({"id": ident, "label": IMPORTED_DOMAIN[1],
                                 "description": f"Codes imported from {self.source} without a domain."})
        return ident

    def new_code(self, q: QCode, domain: str, parent: str | None, *, suffix: str = "") -> str:
        parsed = parse_code_description(q.description)
        base = parsed["id"] if parsed["id"] and _CODE_ID.match(parsed["id"]) and not suffix else _slug(q.name, "code")
        ident = self._unique(base + suffix)
        if parsed["id"]:
            self.source_ids[parsed["id"]] = ident
        label = (q.name.strip() or ident) + (" (general)" if suffix else "")
        entry: dict[str, Any] = {"id": ident, "label": label, "domain": domain}
        if parent:
            entry["parent"] = parent
        entry["definition"] = (parsed["definition"]
                               or f"Imported from {self.origin or self.source}; no definition given.")
        if parsed["include"]:
            entry["include"] = parsed["include"]
        if parsed["exclude"]:
            entry["exclude"] = [{"text": t, "code": c} for t, c in parsed["exclude"] if c]
        examples = parsed["examples"] or [" ".join(t.split())[:300] for t in self.quotes.get(q.guid, [])[:3]]
        if not examples:
            examples = [label]
            self.report.changed("codes without examples (their name stands in; edit the codebook)", ident)
        entry["examples"] = examples
        if parsed["counterexamples"]:
            entry["counterexamples"] = [{"text": t, "code": c} for t, c in parsed["counterexamples"]]
        if parsed["cues"]:
            entry["cues"] = parsed["cues"]
        if parsed["evidence"]:
            status, confidence, note = parsed["evidence"]
            if status != "I" or confidence:
                entry["evidence"] = {"status": status, **({"confidence": confidence} if confidence else {}),
                                     **({"note": note} if note else {})}
        if parsed["sources"]:
            entry["sources"] = parsed["sources"]
        self.new_codes.append(entry)
        if not suffix:
            self.plan.code_guids[ident] = q.guid
        self.plan.added += 1
        return ident

    def visit(self, q: QCode, domain: str | None, parent: str | None, depth: int) -> None:
        if depth == 0:
            dom = self.match_domain(q)
            if dom is not None:
                self.plan.domains[q.guid] = dom
                for child in q.children:
                    self.visit(child, dom, None, 1)
                return
        code = self.match_code(q)
        if code is not None:
            self.plan.codes[q.guid] = code
            self.plan.matched += 1
            for child in q.children:
                self.visit(child, self.cb.code(code).domain, code, depth + 1)
            return
        if depth == 0:
            if q.children or not q.codable:
                dom = self.new_domain(q)
                self.plan.domains[q.guid] = dom
                if q.guid in self.coded:
                    self.plan.codes[q.guid] = self.new_code(q, dom, None, suffix="_general")
                    self.report.changed("coded top-level folders (a domain here, plus a code for their codings)",
                                        q.name)
                for child in q.children:
                    self.visit(child, dom, None, 1)
                return
            domain = self.imported_domain()
        if not q.codable:
            self.report.changed("non-codable folders inside a domain (ordinary codes here)", q.name)
        assert domain is not None
        ident = self.new_code(q, domain, parent)
        self.plan.codes[q.guid] = ident
        for child in q.children:
            self.visit(child, domain, ident, depth + 1)

    def hypotheses(self, sets: list[QSet]) -> list[dict]:
        out = []
        have = {h.id for h in self.cb.hypotheses}
        for s in sets:
            h = parse_hypothesis_description(s.name, s.description)
            if h is None:
                self.report.lost("sets (groupings of codes, sources or notes)", s.name)
                continue
            if h["id"] in have:
                continue
            ok = True
            for key in ("mechanism", "outcome", "contrast"):
                ids = []
                for ref in h.get(key, []):
                    target = self.source_ids.get(ref, ref)
                    if target not in self.cb.code_ids and target not in {c["id"] for c in self.new_codes}:
                        ok = False
                    ids.append(target)
                if key in h:
                    h[key] = ids
            if not ok:
                self.report.lost("hypotheses that name codes not in the codebook", h["id"])
                continue
            out.append(h)
            have.add(h["id"])
        return out

    def finish(self, sets: list[QSet]) -> CodePlan:
        hypotheses = self.hypotheses(sets)
        valid = set(self.cb.code_ids) | {c["id"] for c in self.new_codes}
        for entry in self.new_codes:
            for key in ("exclude", "counterexamples"):
                kept = []
                for item in entry.get(key, []):
                    ref = self.source_ids.get(item["code"], item["code"]) if item["code"] else None
                    if ref is not None and ref not in valid:
                        self.report.changed("criteria naming codes absent here (reference dropped)",
                                            f"{entry['id']}: {item['code']}")
                        if key == "exclude":
                            continue
                        ref = None
                    kept.append({**item, "code": ref})
                if kept:
                    entry[key] = kept
                else:
                    entry.pop(key, None)
        if not (self.new_codes or self.new_domains or hypotheses):
            return self.plan
        data = yaml.safe_load(self.cb.text)
        data["version"] = _bump(self.cb.version)
        data["domains"] = list(data.get("domains") or []) + self.new_domains
        data["codes"] = list(data.get("codes") or []) + self.new_codes
        if hypotheses:
            data["hypotheses"] = list(data.get("hypotheses") or []) + hypotheses
        text = (f"# Version {data['version']}: codebook {self.cb.version} plus what {self.source} added.\n"
                + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100))
        try:
            self.plan.codebook = parse_codebook(text, name=f"codebook from {self.source}")
        except CodebookError as exc:
            raise ClhsError(f"the codes cannot be added to the project's codebook: {exc}", where=self.source) from None
        self.report.changed("codebook version", f"{self.cb.version} -> {data['version']} "
                                                f"({len(self.new_codes)} codes, {len(self.new_domains)} domains, "
                                                f"{len(hypotheses)} hypotheses added)")
        return self.plan


def _plan_codes(project: Project, top: list[QCode], sets: list[QSet], report: ExchangeReport, source: str,
                origin: str, quotes: dict[str, list[str]] | None = None, coded: set[str] | None = None) -> CodePlan:
    cb = project.codebook
    with project.exchange_snapshot() as conn:
        stored = {r.code_id: r.id for r in conn.execute(sa.select(codes.c.code_id, codes.c.id))}
        meta = {r.key: r.value for r in conn.execute(sa.select(meta_table))}
    doms = {d.id: meta.get(DOMAIN_GUID_KEY.format(d.id)) or domain_guid(cb.id, d.id) for d in cb.domains}
    stored.update({c.id: stored.get(c.id, code_uuid(cb.id, c.id)) for c in cb.codes})
    planner = _Planner(cb, stored, doms, report, source, origin, quotes or {}, coded or set())
    for q in top:
        planner.visit(q, None, None, 0)
    return planner.finish(sets)


def _save(report: ExchangeReport, project: Project, plan: CodePlan, save_report: bool) -> None:
    """Save the report (and the new codebook version's YAML, for editing) in ``<project>/exchange``."""
    if not save_report:
        return
    folder = project.directory / "exchange"
    if plan.codebook is not None:
        path = folder / f"codebook-{plan.codebook.id}-{plan.codebook.version}.yaml"
        folder.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, plan.codebook.text)
        report.note(f"the new codebook version is saved as {path} (edit it and load it with `clhs codebook load`)")
    report.save(folder)


def _apply_codes(project: Project, conn: sa.Connection, plan: CodePlan, coder: str) -> None:
    if plan.codebook is None:
        return
    project.load_codebook(plan.codebook, coder=coder, conn=conn)
    for code_id, guid in plan.code_guids.items():
        project.exchange_code_guid(conn, code_id, guid)
    for domain_id, guid in plan.domain_guids.items():
        project.exchange_meta(conn, DOMAIN_GUID_KEY.format(domain_id), guid)


def import_qdc(project: Project, path: str | Path, *, coder: str = "system",
               save_report: bool = True) -> ExchangeReport:
    """Bring a REFI-QDA codebook into the project.

    Codes are matched to the project's by GUID, then by the code id in their
    description, then by name; the rest are added in a new codebook version (domains
    from top-level folders) that keeps their GUIDs. Existing codes are never changed.
    """
    path = Path(path)
    where = str(path)
    report = ExchangeReport("import qdc", where)
    if not path.is_file():
        raise ClhsError("no such file" if not path.exists() else "is not a file", where=where)
    with open(path, "rb") as fh:
        tree = parse_xml(fh, kind="codebook", where=where, report=report)
    check_duplicate_guids(tree, where)
    top, sets, origin = read_codebook_tree(tree)
    plan = _plan_codes(project, top, sets, report, path.name, origin)
    with project.exchange_transaction() as conn:
        _apply_codes(project, conn, plan, coder)
    report.count("codes matched", plan.matched)
    report.count("codes added", plan.added)
    _save(report, project, plan, save_report)
    return report


# -- projects ---------------------------------------------------------------------------


@dataclass
class _Text:
    source: QSource
    data: bytes
    text: SourceText
    spans: dict[str, tuple[int, int]] = field(default_factory=dict)  # selection guid -> span in text


def _note_text(note: QNote, archive: QdpxArchive, report: ExchangeReport) -> str:
    body = note.text
    if not body and note.plain_path and note.plain_path.startswith("internal://"):
        member = archive.source(note.plain_path)
        if member is not None:
            body = _decode(archive.read(member), member.name, report)
    body = body.replace("\r\n", "\n").replace("\r", "\n").strip()
    name = (note.name or "").strip()
    if name and short_name(body) != name and not body.startswith(name.rstrip("…").rstrip()):
        body = f"{name}\n\n{body}" if body else name
    if note.description.strip():
        body = f"{body}\n\n{note.description.strip()}" if body else note.description.strip()
    return body


def import_qdpx(project: Project, path: str | Path, *, positions: str = "auto", line_endings: str = "auto",
                kind: str = "interview", max_bytes: int = DEFAULT_MAX_BYTES, segmenter: Segmenter | None = None,
                coder: str = "system", save_report: bool = True) -> ExchangeReport:
    """Bring a REFI-QDA project (sources, codes, codings, users, memos, cases, variables) into ``project``.

    ``positions`` is ``auto``, ``exclusive`` or ``inclusive`` (how ``endPosition`` is read);
    ``line_endings`` is ``auto``, ``raw`` (CRLF counts two) or ``lf`` (CRLF counts one).
    GUIDs, authors and dates are kept. Importing the same file again adds nothing.
    """
    path = Path(path)
    report = ExchangeReport("import qdpx", str(path))
    segmenter = segmenter or Segmenter()
    with QdpxArchive(path, max_bytes=max_bytes) as archive:
        member, note = archive.project_file()
        if note:
            report.changed("project file name", note)
        where = f"{path} ({member.name})"
        with archive.open(member) as stream:
            tree = parse_xml(stream, kind="project", where=where, report=report)
        check_duplicate_guids(tree, where)
        qp = read_project_tree(tree)
        del tree
        texts = _read_texts(qp, archive, report)
        notes = {n.guid: _note_text(n, archive, report) for n in qp.notes}
    return _import_project(project, qp, texts, notes, report, where=where, positions=positions,
                           line_endings=line_endings, kind=kind, segmenter=segmenter, coder=coder,
                           save_report=save_report)


def _read_texts(qp: QProject, archive: QdpxArchive, report: ExchangeReport) -> list[_Text]:
    texts = []
    for src in qp.sources:
        if src.other_selections:
            report.lost(f"{src.element} selections of areas or times (not text)",
                        src.name, n=src.other_selections)
        if src.element not in ("TextSource", "PDFSource") or (src.plain_path is None and src.content is None):
            codings = len(src.codings) + sum(len(s.codings) for s in src.selections)
            report.lost(f"{src.element}s without plain text", src.name + (f" ({codings} codings)" if codings else ""))
            continue
        if src.content is not None:
            data = src.content.encode("utf-8")
        elif not src.plain_path.startswith("internal://"):
            report.lost("text sources outside the archive (relative:// or absolute:// paths)", src.name)
            continue
        else:
            found = archive.source(src.plain_path)
            if found is None:
                report.lost("text sources whose file is missing from the archive", f"{src.name}: {src.plain_path}")
                continue
            data = archive.read(found)
        raw = _decode(data, src.name, report)
        if not raw.strip():
            report.lost("empty text sources", src.name)
            continue
        texts.append(_Text(src, data, SourceText(raw)))
        if src.element == "PDFSource":
            report.changed("PDF sources (their plain-text representation is imported)", src.name)
    return texts


def _convention(qp: QProject, texts: list[_Text], positions: str, line_endings: str) -> Convention:
    ours = qp.origin.startswith("clhs-mechanisms") or END_EXCLUSIVE_MARK in qp.description
    if ours and positions == "auto" and line_endings == "auto":
        return Convention("raw", "exclusive", "declared in the file's description")
    return choose_convention(((t.text, [Selection(s.start, s.end, s.name) for s in t.source.selections])
                              for t in texts), end=positions, basis=line_endings)


def _import_project(project: Project, qp: QProject, texts: list[_Text], note_texts: dict[str, str],
                    report: ExchangeReport, *, where: str, positions: str, line_endings: str, kind: str,
                    segmenter: Segmenter, coder: str, save_report: bool) -> ExchangeReport:
    code_guids = {c.guid for c in qp.all_codes()}
    case_guids = {c.guid for c in qp.cases}

    # -- check references and positions before writing anything
    conv = _convention(qp, texts, positions, line_endings)
    report.note(f"positions: {conv.describe()}")
    case_codings = 0
    for src in qp.sources:
        for c in [*src.codings, *(c for s in src.selections for c in s.codings)]:
            if c.code in code_guids:
                continue
            if c.code in case_guids:
                case_codings += 1
                continue
            raise ClhsError(f"line {c.line}: coding {c.guid} refers to code {c.code}, which the codebook does not "
                            "define", where=where)
    if case_codings:
        report.lost("codings that point at a case instead of a code (NVivo-style case coding)", n=case_codings)
    for t in texts:
        src = t.source
        limit = t.text.length(conv.basis)
        for s in src.selections:
            stop = s.end + 1 if conv.end == "inclusive" else s.end
            if not (0 <= s.start <= stop <= limit):
                raise ClhsError(f"line {s.line}: selection {s.guid} ({s.start}-{s.end}) is outside the text of "
                                f"source '{src.name}' (0-{limit})", where=where)
            span = t.text.span(s.start, s.end, basis=conv.basis, convention=conv.end)
            if span[0] >= span[1]:
                report.lost("empty selections", f"{src.name}: {s.start}-{s.end}")
                continue
            t.spans[s.guid] = span
        if t.text.changed:
            report.changed("texts normalised (line ends to LF, Unicode NFC; positions re-mapped)", src.name)

    quotes: dict[str, list[str]] = defaultdict(list)
    for t in texts:
        for s in t.source.selections:
            if s.guid in t.spans:
                a, b = t.spans[s.guid]
                for c in s.codings:
                    quotes[c.code].append(t.text.text[a:b])
    coded = {c.code for t in texts for c in [*t.source.codings, *(c for s in t.source.selections for c in s.codings)]}
    plan = _plan_codes(project, qp.codes, qp.sets, report, Path(where.split(" (")[0]).name, qp.origin, quotes, coded)
    if qp.links:
        report.lost("links between objects", n=qp.links)
    if qp.graphs:
        report.lost("graphs (network views)", n=qp.graphs)

    variables = {guid: name for guid, (name, _) in qp.variables.items()}
    case_of_source: dict[str, str] = {}
    for case in qp.cases:
        for s in case.sources:
            if s in case_of_source and case_of_source[s] != case.guid:
                report.changed("sources in several cases (kept in the first)", s)
                continue
            case_of_source[s] = case.guid
        if case.description.strip():
            report.lost("case descriptions", case.name)

    # -- write everything in one transaction
    counts: dict[str, int] = defaultdict(int)
    with project.exchange_transaction() as conn:
        _apply_codes(project, conn, plan, coder)
        before = {t: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one() for t in (coders, cases)}
        users: dict[str, str] = {}
        for guid, name in qp.users.items():
            users[guid] = project.exchange_coder(conn, guid, name)
            if users[guid] != guid:
                report.changed("users merged with a coder of the same name", name)
        default_user: list[str] = []

        def user(guid: str | None) -> str:
            if guid and guid in users:
                return users[guid]
            if guid:
                users[guid] = project.exchange_coder(conn, guid, f"user {guid[:8]}")
                report.changed("users referred to but not listed (named by their GUID)", guid)
                return users[guid]
            if not default_user:
                default_user.append(project.exchange_coder(conn, derived_guid("import-user", IMPORT_USER), IMPORT_USER))
            report.changed(f"items without a creating user (attributed to '{IMPORT_USER}')")
            return default_user[0]

        case_ids: dict[str, str] = {}
        case_names: dict[str, str] = {}
        for case in qp.cases:
            attrs = {variables.get(g, g): v for g, v in case.variables.items()}
            name = case.name or f"case {case.guid[:8]}"
            case_ids[case.guid] = project.exchange_case(conn, case.guid, name, attrs)
            case_names[case.guid] = name

        doc_of: dict[str, str] = {}
        source_memos: list[tuple[str, str, str, str | None, str | None, str | None]] = []
        names = {r.name: r.id for r in conn.execute(sa.select(documents.c.name, documents.c.id))}
        for t in texts:
            src = t.source
            existing = conn.execute(sa.select(documents.c.id, documents.c.name, documents.c.text)
                                    .where(documents.c.id == src.guid)).first()
            if existing is None and src.name in names:
                other = conn.execute(sa.select(documents.c.id, documents.c.text)
                                     .where(documents.c.id == names[src.name])).first()
                if other.text == t.text.text:
                    existing = other
            if existing is not None:
                if existing.text != t.text.text:
                    raise ClhsError(f"source '{src.name}' ({src.guid}) is already in the project with a different "
                                    "text; nothing imported", where=where)
                doc_of[src.guid] = existing.id
                counts["documents already in the project"] += 1
                continue
            name = src.name.strip() or f"source {src.guid[:8]}"
            if name in names:
                base, n = name, 2
                while name in names:
                    name, n = f"{base} ({n})", n + 1
                report.changed("documents renamed (the name was taken)", f"{src.name} -> {name}")
            ours = _OUR_SOURCE.match(src.description.strip())
            doc_kind = ours.group(1) if ours else kind
            sha = ours.group(2) if ours else hashlib.sha256(t.data).hexdigest()
            if src.description.strip() and not ours:
                source_memos.append((derived_guid("source-description", src.guid), src.description.strip(),
                                     "document", src.guid, src.user, src.created))
            attrs = {variables.get(g, g): v for g, v in src.variables.items()}
            case_guid = case_of_source.get(src.guid)
            if case_guid is not None:
                if not src.variables:
                    case_attrs = _case_attributes(conn, case_ids[case_guid])
                    attrs = {**case_attrs, **attrs}
                attrs.setdefault("participant", case_names[case_guid])
            text = t.text.text
            document = Document(name=name, kind=doc_kind, text=text, turns=tuple(parse_transcript(text)), sha256=sha,
                                attributes={k: str(v) for k, v in attrs.items()}, source_path=None)
            project.exchange_document(conn, src.guid, document, segmenter.segment(document),
                                      case_id=case_ids.get(case_guid) if case_guid else None,
                                      imported_at=stored_time(src.created) or now(), coder=coder)
            names[name] = src.guid
            doc_of[src.guid] = src.guid
            counts["documents"] += 1

        existing_codings = set()
        existing_memos = {r.id for r in conn.execute(sa.select(memos.c.id))}
        targets: dict[str, tuple[str, str | None]] = {}  # note guid -> (target type, target id)

        def target(note: str, value: tuple[str, str | None]) -> None:
            if note in targets:
                report.changed("notes referred to from several places (kept on the first)", note)
            else:
                targets[note] = value

        for note in qp.project_note_refs:
            target(note, ("project", None))
        for q in qp.all_codes():
            for note in q.note_refs:
                if q.guid in plan.codes:
                    target(note, ("code", plan.codes[q.guid]))
                else:
                    target(note, ("project", None))
                    report.changed("notes on folders or domains (kept as project memos)", q.name)
        extra_memos = source_memos
        for t in texts:
            src, doc_id = t.source, doc_of.get(t.source.guid)
            if doc_id is None:
                continue
            text = t.text.text
            for note in src.note_refs:
                target(note, ("document", doc_id))
            planned = [(c, (0, len(text))) for c in src.codings]
            if src.codings:
                report.changed("codings of a whole source (applied to its full text)", src.name)
            for s in src.selections:
                if s.guid not in t.spans:
                    continue
                span = t.spans[s.guid]
                planned.extend((c, span) for c in s.codings)
                seg = conn.execute(sa.select(segments.c.id).where(
                    segments.c.document_id == doc_id, segments.c.start == span[0], segments.c.end == span[1],
                    segments.c.retired.is_(False))).scalar()
                for note in s.note_refs:
                    if seg:
                        target(note, ("segment", seg))
                    elif s.codings:
                        target(note, ("coding", s.codings[0].guid))
                    else:
                        target(note, ("document", doc_id))
                        report.changed("notes on selections that match no segment (kept on the document)",
                                       f"{src.name}: {span[0]}-{span[1]}")
                if not s.codings and not s.note_refs and not s.description.strip():
                    report.lost("selections without codings or notes", f"{src.name}: {span[0]}-{span[1]}")
                if s.description.strip():
                    memo_target = (("coding", s.codings[0].guid) if s.codings
                                   else ("segment", seg) if seg else ("document", doc_id))
                    extra_memos.append((derived_guid("selection-description", s.guid), s.description.strip(),
                                        *memo_target, s.user, s.created))
            for c, (a, b) in planned:
                if c.code not in plan.codes:
                    continue
                if conn.execute(sa.select(codings.c.id).where(codings.c.id == c.guid)).first() is not None:
                    existing_codings.add(c.guid)
                    continue
                project.exchange_coding(conn, c.guid, doc_id, a, b, plan.codes[c.code], coder_id=user(c.user),
                                        created_at=stored_time(c.created) or now(), coder=coder)
                counts["codings"] += 1
                for note in c.note_refs:
                    target(note, ("coding", c.guid))
        if existing_codings:
            counts["codings already in the project"] += len(existing_codings)

        by_guid = {n.guid: n for n in qp.notes}
        for guid, text_ in note_texts.items():
            if guid in existing_memos:
                counts["memos already in the project"] += 1
                continue
            n = by_guid.get(guid)
            kind_, tid = targets.get(guid, ("project", None))
            if not text_.strip():
                report.lost("empty notes", guid)
                continue
            created = stored_time((n.created or n.modified) if n else None) or now()
            project.exchange_memo(conn, guid, kind_, tid, coder_id=user(n.user if n else None), text=text_,
                                  created_at=created, updated_at=stored_time(n.modified if n else None) or created, coder=coder)
            counts["memos"] += 1
        for guid, text_, kind_, tid, author, created in extra_memos:
            if guid in existing_memos:
                continue
            project.exchange_memo(conn, guid, kind_, tid, coder_id=user(author), text=text_,
                                  created_at=stored_time(created) or now(), updated_at=stored_time(created) or now(),
                                  coder=coder)
            counts["memos"] += 1
            report.changed("descriptions of sources and selections (kept as memos)", short_name(text_))
        for table, key in ((coders, "users"), (cases, "cases")):
            counts[key] = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one() - before[table]
    for key in ("documents", "codings", "memos", "users", "cases"):
        report.count(key, counts.get(key, 0))
    report.count("codes matched", plan.matched)
    report.count("codes added", plan.added)
    for key, n in counts.items():
        if key.endswith("already in the project"):
            report.count(key, n)
    _save(report, project, plan, save_report)
    return report


def _case_attributes(conn: sa.Connection, case_id: str) -> dict[str, str]:
    row = conn.execute(sa.select(cases.c.attributes).where(cases.c.id == case_id)).first()
    return json.loads(row.attributes) if row else {}
