"""What REFI-QDA export and import share: namespaces, schemas, GUIDs and the text conventions.

The schemas in ``schemas/`` are the REFI-QDA 1.0 ``Codebook.xsd`` and ``Project.xsd``
(MIT licence, copyright 2019 REFI-QDA, www.qdasoftware.org), unchanged.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from lxml import etree

from .. import __version__
from ..codebook import Code, Codebook, Hypothesis
from ..errors import ClhsError

CODEBOOK_NS = "urn:QDA-XML:codebook:1.0"
PROJECT_NS = "urn:QDA-XML:project:1.0"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
CODEBOOK_LOCATION = "http://schema.qdasoftware.org/versions/Codebook/v1.0/Codebook.xsd"
PROJECT_LOCATION = "http://schema.qdasoftware.org/versions/Project/v1.0/Project.xsd"
SCHEMAS = Path(__file__).parent / "schemas"
ORIGIN = f"clhs-mechanisms {__version__}"
SHOWN_ERRORS = 3

# GUIDs derived from names, for things the store has no row for (domains, hypotheses,
# variables, selections, provenance notes): the same name always gives the same GUID.
EXCHANGE_NAMESPACE = uuid.UUID("b7d0c4a2-93e1-5f6a-8c2d-1e4f5a6b7c8d")

POSITIONS_NOTE = (
    "Text positions: Unicode code points counted from 0 in each source's plain text (UTF-8, LF line "
    "endings, NFC). startPosition is the first selected character and endPosition is the position just "
    "after the last one (end-exclusive), so the selected text is text[startPosition:endPosition] and "
    "endPosition - startPosition is its length."
)
CODINGS_NOTE = (
    "Codings are human codings. Machine suggestions that no person accepted are not exported; a coding "
    "made by accepting or editing a suggestion carries a note saying which suggestion it came from."
)
END_EXCLUSIVE_MARK = "(end-exclusive)"


def derived_guid(*parts: str) -> str:
    return str(uuid.uuid5(EXCHANGE_NAMESPACE, "/".join(parts)))


def domain_guid(codebook_id: str, domain_id: str) -> str:
    return derived_guid("domain", codebook_id, domain_id)


def hypothesis_guid(codebook_id: str, hypothesis_id: str) -> str:
    return derived_guid("hypothesis", codebook_id, hypothesis_id)


def variable_guid(name: str) -> str:
    return derived_guid("variable", name)


def selection_guid(*parts: str) -> str:
    """The selection of one coding (its id), or of a span only memos point at (document id, start, end)."""
    return derived_guid("selection", *parts)


def _utc(value: str) -> datetime | None:
    try:
        when = datetime.fromisoformat(value.strip())
        return (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError):  # not a time, or one that leaves the calendar in UTC
        return None


def file_time(value: str | None) -> str | None:
    """A stored time as REFI-QDA files write it: UTC with ``Z`` (milliseconds only if not zero)."""
    when = _utc(value) if value else None
    if when is None:
        return value
    return when.isoformat(timespec="milliseconds" if when.microsecond else "seconds").replace("+00:00", "Z")


def stored_time(value: str | None) -> str | None:
    """A file's xs:dateTime in the store's form (UTC, milliseconds, ``+00:00``); a time without zone is
    UTC."""
    when = _utc(value) if value else None
    return when.isoformat(timespec="milliseconds") if when is not None else value


def provenance_guid(coding_id: str) -> str:
    return derived_guid("provenance", coding_id)


def norm_guid(value: str | None) -> str | None:
    """A GUID in the project's form (lower case, no braces), or None if it is not one."""
    if value is None:
        return None
    try:
        return str(uuid.UUID(value.strip().strip("{}")))
    except (ValueError, AttributeError):
        return None


@cache
def schema(kind: str) -> etree.XMLSchema:
    """The REFI-QDA schema ``kind`` ('codebook' or 'project')."""
    name = {"codebook": "Codebook.xsd", "project": "Project.xsd"}[kind]
    return etree.XMLSchema(etree.parse(str(SCHEMAS / name)))


def schema_errors(tree: etree._ElementTree, kind: str) -> list[str]:
    """Schema violations as 'line N: message', in document order (empty if valid)."""
    xsd = schema(kind)
    if xsd.validate(tree):
        return []
    return [f"line {e.line}: {e.message}" for e in xsd.error_log]


def require_valid(tree: etree._ElementTree, kind: str, where: str) -> None:
    errors = schema_errors(tree, kind)
    if errors:
        shown = "; ".join(errors[:SHOWN_ERRORS])
        more = f" (and {len(errors) - SHOWN_ERRORS} more)" if len(errors) > SHOWN_ERRORS else ""
        raise ClhsError(f"does not conform to the REFI-QDA {kind} schema: {shown}{more}", where=where)


_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_safe(text: str) -> str:
    """``text`` without the control characters XML 1.0 cannot carry."""
    return _XML_BAD.sub("\ufffd", text)


def short_name(text: str, limit: int = 60) -> str:
    """A one-line name for a selection or note: the text itself, cut with '…' if long."""
    line = " ".join(xml_safe(text).split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


# -- code and hypothesis descriptions ------------------------------------------------
# Definitions, criteria and examples travel in a code's Description as labelled lines,
# readable in any tool and parsed back on import:
#
#   Definition: ...            (may run over several lines)
#   Include:                   followed by "- item" lines
#   Exclude:                   "- text [use other_code]"
#   Examples:                  "- text"
#   Counterexamples:           "- text [belongs to other_code]"
#   Cues: a; b; c
#   Evidence: F-rel (H): note
#   Sources:                   "- item"
#   Code id: mot_autonomy

_LIST_FIELDS = {
    "Include": "include",
    "Exclude": "exclude",
    "Examples": "examples",
    "Counterexamples": "counterexamples",
    "Sources": "sources",
}
_LINE_FIELDS = {
    "Definition": "definition",
    "Cues": "cues",
    "Evidence": "evidence",
    "Code id": "id",
    "Domain id": "domain_id",
}
_HEADER = re.compile(
    r"^(Definition|Include|Exclude|Examples|Counterexamples|Cues|Evidence|Sources|Code id|"
    r"Domain id):[ \t]*(.*)$"
)
_REF = re.compile(r"^(.*?)\s*\[(?:use|belongs to) ([a-z][a-z0-9_]*)\]$")


def _one_line(text: str) -> str:
    return " ".join(text.split())


def code_description(code: Code) -> str:
    lines = [f"Definition: {code.definition.strip()}"]

    def items(title: str, values: list[str]) -> None:
        if values:
            lines.append(f"{title}:")
            lines.extend(f"- {_one_line(v)}" for v in values)

    items("Include", list(code.include))
    items("Exclude", [f"{e.text} [use {e.code}]" for e in code.exclude])
    items("Examples", list(code.examples))
    items(
        "Counterexamples",
        [c.text + (f" [belongs to {c.code}]" if c.code else "") for c in code.counterexamples],
    )
    if code.cues:
        lines.append("Cues: " + "; ".join(code.cues))
    if code.evidence:
        ev = code.evidence
        lines.append(
            "Evidence: "
            + ev.status
            + (f" ({ev.confidence})" if ev.confidence else "")
            + (f": {_one_line(ev.note)}" if ev.note else "")
        )
    items("Sources", list(code.sources))
    lines.append(f"Code id: {code.id}")
    return xml_safe("\n".join(lines))


def parse_code_description(text: str | None) -> dict:
    """The fields of a Description written by :func:`code_description`, or ``definition`` only.

    Keys: definition, include, exclude [(text, code)], examples, counterexamples
    [(text, code|None)], cues, evidence (status, confidence, note) or None, sources, id.
    A description in another tool's free form becomes the definition as it is.
    """
    out: dict = {
        "definition": "",
        "include": [],
        "exclude": [],
        "examples": [],
        "counterexamples": [],
        "cues": [],
        "evidence": None,
        "sources": [],
        "id": None,
        "domain_id": None,
        "structured": False,
    }
    text = (text or "").replace("\r\n", "\n").strip()
    if not text:
        return out
    if not any(_HEADER.match(line) for line in text.split("\n")):
        out["definition"] = text
        return out
    out["structured"] = True
    current: str | None = None
    definition: list[str] = []
    free: list[str] = []
    for line in text.split("\n"):
        m = _HEADER.match(line)
        if m:
            field, value = m.group(1), m.group(2).strip()
            current = field
            if field == "Definition":
                definition = [value] if value else []
            elif field == "Cues":
                out["cues"] = [c.strip() for c in value.split(";") if c.strip()]
            elif field == "Evidence":
                em = re.match(r"^(F-rel|F|I)(?:\s*\(([HML])\))?(?::\s*(.*))?$", value)
                if em:
                    out["evidence"] = (em.group(1), em.group(2), em.group(3) or "")
            elif field in ("Code id", "Domain id"):
                out[_LINE_FIELDS[field]] = value or None
            continue
        if current in _LIST_FIELDS and line.startswith("- "):
            item = line[2:].strip()
            key = _LIST_FIELDS[current]
            if key in ("exclude", "counterexamples"):
                rm = _REF.match(item)
                out[key].append((rm.group(1), rm.group(2)) if rm else (item, None))
            else:
                out[key].append(item)
        elif current == "Definition":
            definition.append(line)
        elif line.strip():
            free.append(line)
    out["definition"] = "\n".join(definition).strip() or "\n".join(free).strip()
    return out


def domain_description(description: str, domain_id: str) -> str:
    return xml_safe((description.strip() + "\n" if description.strip() else "") + f"Domain id: {domain_id}")


def hypothesis_description(h: Hypothesis) -> str:
    lines = [
        f"Statement: {_one_line(h.statement)}",
        f"Mechanism: {', '.join(h.mechanism)}",
        f"Outcome: {', '.join(h.outcome)}",
    ]
    if h.contrast:
        lines.append(f"Contrast: {', '.join(h.contrast)}")
    lines += [f"Expected: {h.expected}", f"Unit: {h.unit}"]
    if h.note:
        lines.append(f"Note: {_one_line(h.note)}")
    lines.append(f"Hypothesis id: {h.id}")
    return xml_safe("\n".join(lines))


def hypothesis_name(h: Hypothesis) -> str:
    return f"{h.id}: {h.label or short_name(h.statement)}"


def parse_hypothesis_description(name: str, text: str | None) -> dict | None:
    """The fields of a hypothesis Set's Description, or None if it is not one of ours."""
    fields: dict[str, str] = {}
    for line in (text or "").replace("\r\n", "\n").split("\n"):
        m = re.match(
            r"^(Statement|Mechanism|Outcome|Contrast|Expected|Unit|Note|Hypothesis id):\s*(.*)$", line
        )
        if m:
            fields[m.group(1)] = m.group(2).strip()
    if not {"Statement", "Mechanism", "Outcome", "Expected", "Unit", "Hypothesis id"} <= set(fields):
        return None

    def ids(key: str) -> list[str]:
        return [c.strip() for c in fields.get(key, "").split(",") if c.strip()]

    label = name.split(":", 1)[1].strip() if ":" in name else ""
    out = {
        "id": fields["Hypothesis id"],
        "statement": fields["Statement"],
        "mechanism": ids("Mechanism"),
        "outcome": ids("Outcome"),
        "expected": fields["Expected"],
        "unit": fields["Unit"],
    }
    if ids("Contrast"):
        out["contrast"] = ids("Contrast")
    if label and label != short_name(fields["Statement"]):
        out["label"] = label
    if fields.get("Note"):
        out["note"] = fields["Note"]
    return out


def codebook_origin(codebook: Codebook) -> str:
    return f"{ORIGIN}; codebook {codebook.id} {codebook.version}: {codebook.title}"
