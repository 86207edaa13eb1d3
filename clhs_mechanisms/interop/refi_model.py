"""A REFI-QDA project or codebook as read from XML, before anything touches the store.

Parsing is namespace-tolerant: files that declare another version of the QDA-XML
namespace (``urn:QDA-XML:project:0:10``) or none are read as version 1.0 after the
namespace is rewritten, and then validated against the 1.0 schema. A wrong
``xsi:schemaLocation`` is ignored (it is a hint, never fetched), and empty top-level
lists such as ``<Sets/>`` are removed before validation.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO

from lxml import etree

from ..errors import ClhsError
from .refi_common import CODEBOOK_NS, PROJECT_NS, XSI_NS, norm_guid, require_valid
from .report import ExchangeReport

# Optional top-level lists that the schema requires to hold one item at least; some tools write them
# empty (Taguette's codebook export always writes <Sets/>).
_LISTS = {"Users", "Variables", "Cases", "Sources", "Notes", "Links", "Sets", "Graphs"}
_PARSER_OPTIONS = dict(
    resolve_entities=False, no_network=True, huge_tree=True, remove_comments=True, load_dtd=False
)


@dataclass
class QCode:
    guid: str
    name: str
    codable: bool
    description: str = ""
    color: str | None = None
    parent: str | None = None
    children: list[QCode] = field(default_factory=list)
    note_refs: list[str] = field(default_factory=list)
    line: int = 0


@dataclass
class QCoding:
    guid: str
    code: str
    user: str | None
    created: str | None
    note_refs: list[str] = field(default_factory=list)
    line: int = 0


@dataclass
class QSelection:
    guid: str
    start: int
    end: int
    name: str = ""
    description: str = ""
    user: str | None = None
    created: str | None = None
    codings: list[QCoding] = field(default_factory=list)
    note_refs: list[str] = field(default_factory=list)
    line: int = 0


@dataclass
class QSource:
    guid: str
    name: str
    element: str  # TextSource, PDFSource (via its Representation), PictureSource, ...
    plain_path: str | None = None
    content: str | None = None
    description: str = ""
    user: str | None = None
    created: str | None = None
    selections: list[QSelection] = field(default_factory=list)
    codings: list[QCoding] = field(default_factory=list)  # whole-source codings
    note_refs: list[str] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)  # variable guid -> value
    other_selections: int = 0  # picture / PDF-area / media selections (not text)
    line: int = 0


@dataclass
class QNote:
    guid: str
    name: str
    text: str
    description: str = ""
    plain_path: str | None = None
    user: str | None = None
    created: str | None = None
    modified: str | None = None
    line: int = 0


@dataclass
class QCase:
    guid: str
    name: str
    description: str = ""
    variables: dict[str, str] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)
    line: int = 0


@dataclass
class QSet:
    guid: str
    name: str
    description: str = ""
    codes: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class QProject:
    name: str = ""
    origin: str = ""
    description: str = ""
    users: dict[str, str] = field(default_factory=dict)  # guid -> name
    codes: list[QCode] = field(default_factory=list)  # top level, children nested
    variables: dict[str, tuple[str, str]] = field(default_factory=dict)  # guid -> (name, type)
    cases: list[QCase] = field(default_factory=list)
    sources: list[QSource] = field(default_factory=list)
    notes: list[QNote] = field(default_factory=list)
    sets: list[QSet] = field(default_factory=list)
    project_note_refs: list[str] = field(default_factory=list)
    links: int = 0
    graphs: int = 0

    def all_codes(self) -> Iterator[QCode]:
        stack = list(reversed(self.codes))
        while stack:
            code = stack.pop()
            yield code
            stack.extend(reversed(code.children))


def _local(tag: object) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def parse_xml(
    stream: IO[bytes] | bytes, *, kind: str, where: str, report: ExchangeReport
) -> etree._ElementTree:
    """Parse, normalise the namespace to QDA-XML 1.0, and validate against the schema."""
    parser = etree.XMLParser(**_PARSER_OPTIONS)
    try:
        if isinstance(stream, bytes):
            root = etree.fromstring(stream, parser)
            tree = root.getroottree()
        else:
            tree = etree.parse(stream, parser)
    except etree.XMLSyntaxError as exc:
        line = exc.lineno or (exc.position[0] if exc.position else 0)
        raise ClhsError(f"not well-formed XML: line {line}: {exc.msg}", where=where) from None
    except OSError as exc:  # lxml's own reading error (e.g. bytes that are not in the declared encoding)
        raise ClhsError(f"not well-formed XML: {exc}", where=where) from None
    root = tree.getroot()
    # REFI-QDA files declare no entities; one that does is refused whole (entities are not expanded in
    # text, and one expanded in an attribute could stand for anything)
    dtd = tree.docinfo.internalDTD
    declared = [e.name for e in dtd.iterentities()] if dtd is not None else []
    used = [e.text for e in root.iter(etree.Entity)]
    if declared or used:
        what = (
            f"declares the XML entities {', '.join(declared)}"
            if declared
            else f"uses the XML entity {used[0]}"
        )
        raise ClhsError(f"the file {what}, which a REFI-QDA file may not", where=where)
    ns = CODEBOOK_NS if kind == "codebook" else PROJECT_NS
    expected_root = "CodeBook" if kind == "codebook" else "Project"
    if _local(root.tag) != expected_root:
        raise ClhsError(
            f"line {root.sourceline}: the root element is <{_local(root.tag)}>, expected "
            f"<{expected_root}> of REFI-QDA {kind} exchange",
            where=where,
        )
    found = etree.QName(root).namespace
    if found != ns:
        for el in root.iter():
            if isinstance(el.tag, str):
                el.tag = f"{{{ns}}}{_local(el.tag)}"
        etree.cleanup_namespaces(root)
        report.changed("namespace", f"'{found or '(none)'}' read as '{ns}'")
    for el in [el for el in root if _local(el.tag) in _LISTS and len(el) == 0]:
        report.changed(
            "empty lists (the schema wants at least one item; removed)",
            f"<{_local(el.tag)}/> at line {el.sourceline}",
        )
        root.remove(el)
    location = " ".join((root.get(f"{{{XSI_NS}}}schemaLocation") or "").split())
    version = re.search(r"/v(\d+(?:\.\d+)*)/", location)
    if version and version.group(1) != "1.0":
        report.changed(
            "schemaLocation",
            f"'{location}' names version {version.group(1)}; ignored, validated "
            f"against the {kind} 1.0 schema",
        )
    require_valid(tree, kind, where)
    return tree


def _children(el: etree._Element, name: str) -> list[etree._Element]:
    return [c for c in el if _local(c.tag) == name]


def _child_text(el: etree._Element, name: str) -> str:
    found = _children(el, name)
    return (found[0].text or "") if found else ""


def _guid(el: etree._Element, attr: str = "guid") -> str:
    value = norm_guid(el.get(attr))
    if value is None:  # the schema's pattern makes this unreachable for validated files
        raise ClhsError(f"line {el.sourceline}: invalid GUID '{el.get(attr)}'")
    return value


def _refs(el: etree._Element, name: str = "NoteRef", attr: str = "targetGUID") -> list[str]:
    return [_guid(r, attr) for r in _children(el, name)]


def _code(el: etree._Element, parent: str | None, member_attr: str = "guid") -> QCode:
    code = QCode(
        guid=_guid(el),
        name=el.get("name", ""),
        codable=el.get("isCodable", "true").lower() in ("true", "1"),
        description=_child_text(el, "Description"),
        color=el.get("color"),
        parent=parent,
        note_refs=_refs(el),
        line=el.sourceline or 0,
    )
    code.children = [_code(c, code.guid) for c in _children(el, "Code")]
    return code


def read_codebook_tree(tree: etree._ElementTree) -> tuple[list[QCode], list[QSet], str]:
    root = tree.getroot()
    codes = [_code(c, None) for codes in _children(root, "Codes") for c in _children(codes, "Code")]
    sets = []
    for sets_el in _children(root, "Sets"):
        for s in _children(sets_el, "Set"):
            sets.append(
                QSet(
                    guid=_guid(s),
                    name=s.get("name", ""),
                    description=_child_text(s, "Description"),
                    codes=[_guid(m) for m in _children(s, "MemberCode")],
                )
            )
    return codes, sets, root.get("origin", "")


def _coding(el: etree._Element, user: str | None, created: str | None) -> QCoding:
    """A Coding; without its own creatingUser/creationDateTime it is its selection's (or source's),
    the one QualCoder reads, so both layouts (a selection per coding, or per span) keep the coder."""
    ref = _children(el, "CodeRef")[0]
    return QCoding(
        guid=_guid(el),
        code=_guid(ref, "targetGUID"),
        user=norm_guid(el.get("creatingUser")) or user,
        created=el.get("creationDateTime") or created,
        note_refs=_refs(el),
        line=el.sourceline or 0,
    )


def _position(el: etree._Element, name: str) -> int:
    """A selection's character position (the schema has checked it is an integer)."""
    try:
        return int(el.get(name))
    except ValueError:  # thousands of digits: beyond Python's integer-string limit, and any text
        raise ClhsError(f"{name} is not a usable position", where=f"line {el.sourceline or 0}") from None


def _selection(el: etree._Element) -> QSelection:
    user = norm_guid(el.get("creatingUser") or el.get("modifyingUser"))
    created = el.get("creationDateTime") or el.get("modifiedDateTime")
    return QSelection(
        guid=_guid(el),
        start=_position(el, "startPosition"),
        end=_position(el, "endPosition"),
        name=el.get("name", ""),
        description=_child_text(el, "Description"),
        user=user,
        created=created,
        codings=[_coding(c, user, created) for c in _children(el, "Coding")],
        note_refs=_refs(el),
        line=el.sourceline or 0,
    )


def _variable_values(el: etree._Element) -> dict[str, str]:
    values = {}
    for vv in _children(el, "VariableValue"):
        ref = _guid(_children(vv, "VariableRef")[0], "targetGUID")
        value = next((c.text or "" for c in vv if _local(c.tag).endswith("Value")), "")
        values[ref] = value.strip()
    return values


def _text_source(el: etree._Element, element: str, name: str | None = None) -> QSource:
    user = norm_guid(el.get("creatingUser") or el.get("modifyingUser"))
    created = el.get("creationDateTime") or el.get("modifiedDateTime")
    return QSource(
        guid=_guid(el),
        name=name if name is not None else el.get("name", ""),
        element=element,
        plain_path=el.get("plainTextPath"),
        content=_child_text(el, "PlainTextContent") if _children(el, "PlainTextContent") else None,
        description=_child_text(el, "Description"),
        user=user,
        created=created,
        selections=[_selection(s) for s in _children(el, "PlainTextSelection")],
        codings=[_coding(c, user, created) for c in _children(el, "Coding")],
        note_refs=_refs(el),
        variables=_variable_values(el),
        line=el.sourceline or 0,
    )


def _pdf_source(el: etree._Element) -> QSource:
    """A PDFSource, read through its plain-text Representation when it has one."""
    reps = _children(el, "Representation")
    if reps:
        src = _text_source(reps[0], "PDFSource", name=el.get("name", ""))
        src.guid = _guid(el)
        src.description = _child_text(el, "Description") or src.description
        src.note_refs = _refs(el) + src.note_refs
        src.variables = {**_variable_values(el), **src.variables}
        src.codings = [_coding(c, src.user, src.created) for c in _children(el, "Coding")] + src.codings
    else:
        src = QSource(guid=_guid(el), name=el.get("name", ""), element="PDFSource", line=el.sourceline or 0)
    src.other_selections = len(_children(el, "PDFSelection"))
    return src


def _other_source(el: etree._Element) -> QSource:
    """A picture, audio or video source: no text, only its name, notes and how many selections it has."""
    src = QSource(
        guid=_guid(el),
        name=el.get("name", ""),
        element=_local(el.tag),
        line=el.sourceline or 0,
        note_refs=_refs(el),
    )
    src.other_selections = sum(
        len(_children(el, n)) for n in ("PictureSelection", "AudioSelection", "VideoSelection")
    )
    return src


def _sources(root: etree._Element) -> list[QSource]:
    """Every source, of any kind, in document order."""
    sources = []
    for sources_el in _children(root, "Sources"):
        for s in sources_el:
            kind = _local(s.tag)
            if kind == "TextSource":
                sources.append(_text_source(s, kind))
            elif kind == "PDFSource":
                sources.append(_pdf_source(s))
            elif isinstance(s.tag, str):
                sources.append(_other_source(s))
    return sources


def _case(el: etree._Element) -> QCase:
    """A Case with its variable values and the sources it groups."""
    return QCase(
        guid=_guid(el),
        name=(el.get("name") or "").strip(),
        description=_child_text(el, "Description"),
        variables=_variable_values(el),
        sources=_refs(el, "SourceRef"),
        line=el.sourceline or 0,
    )


def _note(el: etree._Element) -> QNote:
    """A Note; its text is inline (PlainTextContent) or in the file named by plainTextPath."""
    return QNote(
        guid=_guid(el),
        name=el.get("name", ""),
        text=_child_text(el, "PlainTextContent"),
        description=_child_text(el, "Description"),
        plain_path=el.get("plainTextPath"),
        user=norm_guid(el.get("creatingUser") or el.get("modifyingUser")),
        created=el.get("creationDateTime"),
        modified=el.get("modifiedDateTime"),
        line=el.sourceline or 0,
    )


def _set(el: etree._Element) -> QSet:
    """A Set with its member codes, sources and notes."""
    return QSet(
        guid=_guid(el),
        name=el.get("name", ""),
        description=_child_text(el, "Description"),
        codes=_refs(el, "MemberCode"),
        sources=_refs(el, "MemberSource"),
        notes=_refs(el, "MemberNote"),
    )


def _items(root: etree._Element, list_name: str, item_name: str) -> list[etree._Element]:
    """The ``item_name`` elements in every top-level ``list_name`` list."""
    return [item for lst in _children(root, list_name) for item in _children(lst, item_name)]


def read_project_tree(tree: etree._ElementTree) -> QProject:
    """A validated project.qde as a :class:`QProject`; Links and Graphs are only counted."""
    root = tree.getroot()
    project = QProject(
        name=root.get("name", ""),
        origin=root.get("origin", ""),
        description=_child_text(root, "Description"),
        project_note_refs=_refs(root),
    )
    for u in _items(root, "Users", "User"):
        project.users[_guid(u)] = (u.get("name") or u.get("id") or "").strip()
    for cb in _children(root, "CodeBook"):
        project.codes = [_code(c, None) for codes in _children(cb, "Codes") for c in _children(codes, "Code")]
    for v in _items(root, "Variables", "Variable"):
        project.variables[_guid(v)] = (v.get("name", ""), v.get("typeOfVariable", "Text"))
    project.cases = [_case(c) for c in _items(root, "Cases", "Case")]
    project.sources = _sources(root)
    project.notes = [_note(n) for n in _items(root, "Notes", "Note")]
    project.sets = [_set(s) for s in _items(root, "Sets", "Set")]
    project.links = len(_items(root, "Links", "Link"))
    project.graphs = len(_items(root, "Graphs", "Graph"))
    return project


_GUID_GROUPS = {
    "User": "user",
    "Code": "code",
    "TextSource": "source",
    "PDFSource": "source",
    "PictureSource": "source",
    "AudioSource": "source",
    "VideoSource": "source",
    "PlainTextSelection": "selection",
    "Coding": "coding",
    "Note": "note",
    "Case": "case",
    "Variable": "variable",
    "Set": "set",
}


def check_duplicate_guids(tree: etree._ElementTree, where: str) -> None:
    """Refuse two objects of one kind with the same GUID (the second would overwrite the first)."""
    seen: dict[tuple[str, str], int] = {}
    for el in tree.getroot().iter():
        group = _GUID_GROUPS.get(_local(el.tag))
        if group is None or el.get("guid") is None:
            continue
        key = (group, norm_guid(el.get("guid")) or el.get("guid"))
        if key in seen:
            raise ClhsError(
                f"line {el.sourceline}: duplicate GUID {el.get('guid')}: this <{_local(el.tag)}> has the "
                f"same GUID as the {group} at line {seen[key]}",
                where=where,
            )
        seen[key] = el.sourceline or 0
