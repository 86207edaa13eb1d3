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

from collections import defaultdict
from pathlib import Path

from ..errors import ClhsError
from ..segment import Segmenter
from ..store import Project
from .files import write_text_atomic
from .offsets import Convention, Selection, SourceText, choose_convention
from .refi_archive import DEFAULT_MAX_BYTES, QdpxArchive
from .refi_common import END_EXCLUSIVE_MARK, short_name
from .refi_model import (
    QNote,
    QProject,
    check_duplicate_guids,
    parse_xml,
    read_codebook_tree,
    read_project_tree,
)
from .refi_plan import CodePlan, apply_codes, plan_codes
from .refi_write import IMPORT_USER, ProjectWriter, SourceFile
from .report import ExchangeReport

__all__ = ["IMPORT_USER", "import_qdc", "import_qdpx"]

_BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))


def _decode(data: bytes, name: str, report: ExchangeReport) -> str:
    for mark, codec in _BOMS:
        if data.startswith(mark):
            try:
                return data[len(mark) :].decode(codec)
            except UnicodeDecodeError:
                break
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        report.changed("text files not in UTF-8 (read as cp1252)", name)
        return data.decode("cp1252", errors="replace")


def import_qdc(
    project: Project, path: str | Path, *, coder: str = "system", save_report: bool = True
) -> ExchangeReport:
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
    plan = plan_codes(project, top, sets, report, path.name, origin)
    with project.exchange_transaction() as conn:
        apply_codes(project, conn, plan, coder)
    report.count("codes matched", plan.matched)
    report.count("codes added", plan.added)
    _save(report, project, plan, save_report)
    return report


def _save(report: ExchangeReport, project: Project, plan: CodePlan, save_report: bool) -> None:
    """Save the report (and the new codebook version's YAML, for editing) in ``<project>/exchange``."""
    if not save_report:
        return
    folder = project.directory / "exchange"
    if plan.codebook is not None:
        path = folder / f"codebook-{plan.codebook.id}-{plan.codebook.version}.yaml"
        folder.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, plan.codebook.text)
        report.note(
            f"the new codebook version is saved as {path} (edit it and load it with `clhs codebook load`)"
        )
    report.save(folder)


# -- projects ---------------------------------------------------------------------------


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


def import_qdpx(
    project: Project,
    path: str | Path,
    *,
    positions: str = "auto",
    line_endings: str = "auto",
    kind: str = "interview",
    max_bytes: int = DEFAULT_MAX_BYTES,
    segmenter: Segmenter | None = None,
    coder: str = "system",
    save_report: bool = True,
) -> ExchangeReport:
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
    return _import_project(
        project,
        qp,
        texts,
        notes,
        report,
        where=where,
        positions=positions,
        line_endings=line_endings,
        kind=kind,
        segmenter=segmenter,
        coder=coder,
        save_report=save_report,
    )


def _read_texts(qp: QProject, archive: QdpxArchive, report: ExchangeReport) -> list[SourceFile]:
    texts = []
    for src in qp.sources:
        if src.other_selections:
            report.lost(
                f"{src.element} selections of areas or times (not text)", src.name, n=src.other_selections
            )
        if src.element not in ("TextSource", "PDFSource") or (src.plain_path is None and src.content is None):
            codings = len(src.codings) + sum(len(s.codings) for s in src.selections)
            report.lost(
                f"{src.element}s without plain text", src.name + (f" ({codings} codings)" if codings else "")
            )
            continue
        if src.content is not None:
            data = src.content.encode("utf-8")
        elif not src.plain_path.startswith("internal://"):
            report.lost("text sources outside the archive (relative:// or absolute:// paths)", src.name)
            continue
        else:
            found = archive.source(src.plain_path)
            if found is None:
                report.lost(
                    "text sources whose file is missing from the archive", f"{src.name}: {src.plain_path}"
                )
                continue
            data = archive.read(found)
        raw = _decode(data, src.name, report)
        if not raw.strip():
            report.lost("empty text sources", src.name)
            continue
        texts.append(SourceFile(src, data, SourceText(raw)))
        if src.element == "PDFSource":
            report.changed("PDF sources (their plain-text representation is imported)", src.name)
    return texts


def _convention(qp: QProject, texts: list[SourceFile], positions: str, line_endings: str) -> Convention:
    ours = qp.origin.startswith("clhs-mechanisms") or END_EXCLUSIVE_MARK in qp.description
    if ours and positions == "auto" and line_endings == "auto":
        return Convention("raw", "exclusive", "declared in the file's description")
    return choose_convention(
        ((t.text, [Selection(s.start, s.end, s.name) for s in t.source.selections]) for t in texts),
        end=positions,
        basis=line_endings,
    )


def _check(
    qp: QProject,
    texts: list[SourceFile],
    report: ExchangeReport,
    *,
    where: str,
    positions: str,
    line_endings: str,
) -> None:
    """Refuse codings of undefined codes and selections outside their text; map each selection
    onto the normalised text under the position convention that fits."""
    code_guids = {c.guid for c in qp.all_codes()}
    case_guids = {c.guid for c in qp.cases}
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
            raise ClhsError(
                f"line {c.line}: coding {c.guid} refers to code {c.code}, which the codebook does not define",
                where=where,
            )
    if case_codings:
        report.lost(
            "codings that point at a case instead of a code (NVivo-style case coding)", n=case_codings
        )
    for t in texts:
        src = t.source
        limit = t.text.length(conv.basis)
        for s in src.selections:
            stop = s.end + 1 if conv.end == "inclusive" else s.end
            if not (0 <= s.start <= stop <= limit):
                raise ClhsError(
                    f"line {s.line}: selection {s.guid} ({s.start}-{s.end}) is outside the text "
                    f"of source '{src.name}' (0-{limit})",
                    where=where,
                )
            span = t.text.span(s.start, s.end, basis=conv.basis, convention=conv.end)
            if span[0] >= span[1]:
                report.lost("empty selections", f"{src.name}: {s.start}-{s.end}")
                continue
            t.spans[s.guid] = span
        if t.text.changed:
            report.changed("texts normalised (line ends to LF, Unicode NFC; positions re-mapped)", src.name)


def _cases_of_sources(qp: QProject, report: ExchangeReport) -> dict[str, str]:
    """Source GUID -> the GUID of the (first) case it belongs to."""
    case_of_source: dict[str, str] = {}
    for case in qp.cases:
        for s in case.sources:
            if s in case_of_source and case_of_source[s] != case.guid:
                report.changed("sources in several cases (kept in the first)", s)
                continue
            case_of_source[s] = case.guid
        if case.description.strip():
            report.lost("case descriptions", case.name)
    return case_of_source


def _import_project(
    project: Project,
    qp: QProject,
    texts: list[SourceFile],
    note_texts: dict[str, str],
    report: ExchangeReport,
    *,
    where: str,
    positions: str,
    line_endings: str,
    kind: str,
    segmenter: Segmenter,
    coder: str,
    save_report: bool,
) -> ExchangeReport:
    _check(qp, texts, report, where=where, positions=positions, line_endings=line_endings)
    quotes: dict[str, list[str]] = defaultdict(list)
    for t in texts:
        for s in t.source.selections:
            if s.guid in t.spans:
                a, b = t.spans[s.guid]
                for c in s.codings:
                    quotes[c.code].append(t.text.text[a:b])
    coded = {
        c.code
        for t in texts
        for c in [*t.source.codings, *(c for s in t.source.selections for c in s.codings)]
    }
    plan = plan_codes(
        project, qp.codes, qp.sets, report, Path(where.split(" (")[0]).name, qp.origin, quotes, coded
    )
    if qp.links:
        report.lost("links between objects", n=qp.links)
    if qp.graphs:
        report.lost("graphs (network views)", n=qp.graphs)
    case_of_source = _cases_of_sources(qp, report)
    with project.exchange_transaction() as conn:
        writer = ProjectWriter(
            project, conn, qp, report, where=where, kind=kind, segmenter=segmenter, coder=coder
        )
        counts = writer.write(plan, texts, note_texts, case_of_source)
    for key in ("documents", "codings", "memos", "users", "cases"):
        report.count(key, counts.get(key, 0))
    if counts.get("modifiers"):
        report.count("modifiers (from notes on codings)", counts["modifiers"])
    report.count("codes matched", plan.matched)
    report.count("codes added", plan.added)
    for key, n in counts.items():
        if key.endswith("already in the project"):
            report.count(key, n)
    _save(report, project, plan, save_report)
    return report
