"""The codebook as text: a tree for the terminal, and Markdown or HTML for a paper's appendix.

:func:`codebook_markdown` and :func:`codebook_html` render the same document: title,
version and framework, the coding unit and conventions, an overview table, every
domain with its codes (definition, inclusion and exclusion criteria, examples, near
misses, cues, evidence, sources), and the hypotheses.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

from .. import __version__
from ..codebook import Code, Codebook
from ..markdown import escape_markdown


def code_tree(codebook: Codebook) -> str:
    """Domains with their codes (and sub-codes), one line each."""
    lines = [f"{codebook.title} ({codebook.id} {codebook.version})"]

    def walk(code: Code, depth: int) -> None:
        lines.append(f"{'  ' * depth}{code.id:<36} {code.label}")
        for child in codebook.children(code.id):
            walk(child, depth + 1)

    for domain in codebook.domains:
        lines.append(f"{domain.id}: {domain.label}")
        for code in codebook.codes_in(domain.id):
            if code.parent is None:
                walk(code, 1)
    return "\n".join(lines)


def code_markdown(code: Code, *, level: int = 2) -> str:
    """Everything a coder needs about one code, as Markdown; the codebook's own text is escaped, so
    a link or image written in a definition shows as typed wherever the Markdown is rendered."""
    e = escape_markdown
    out = [
        f"{'#' * level} {code.id}: {e(code.label)}",  # ids are checked to be plain (letters, digits, _)
        "",
        f"*Domain*: {code.domain}" + (f"; *parent*: {code.parent}" if code.parent else ""),
        "",
        e(code.definition),
        "",
    ]

    def section(title: str, items: list[str]) -> None:
        if items:
            out.extend([f"**{title}**", *[f"- {item}" for item in items], ""])

    section("Include", [e(i) for i in code.include])
    section("Exclude", [f"{e(x.text)} (-> `{x.code}`)" for x in code.exclude])
    section("Examples", [f'"{e(x)}"' for x in code.examples])
    section(
        "Counterexamples",
        [f'"{e(c.text)}"' + (f" (-> `{c.code}`)" if c.code else "") for c in code.counterexamples],
    )
    section("Cues", [", ".join(e(c) for c in code.cues)] if code.cues else [])
    if code.evidence:
        conf = f" ({e(code.evidence.confidence)})" if code.evidence.confidence else ""
        note = f": {e(code.evidence.note)}" if code.evidence.note else ""
        section("Evidence", [f"{e(code.evidence.status)}{conf}{note}"])
    section("Sources", [e(x) for x in code.sources])
    return "\n".join(out).rstrip() + "\n"


# -- the whole codebook as a document ------------------------------------------------
# A tiny document model, rendered to Markdown and to HTML, so both say the same thing.


@dataclass
class _Block:
    kind: str  # heading | para | list | table | fields
    data: Any
    level: int = 0
    anchor: str | None = None


@dataclass
class _Doc:
    blocks: list[_Block] = field(default_factory=list)

    def heading(self, level: int, text: str, anchor: str | None = None) -> None:
        self.blocks.append(_Block("heading", text, level, anchor))

    def para(self, text: str) -> None:
        if text and text.strip():
            self.blocks.append(_Block("para", " ".join(text.split())))

    def items(self, title: str, values: list[str]) -> None:
        if values:
            self.blocks.append(_Block("list", (title, values)))

    def table(self, header: list[str], rows: list[list[str]]) -> None:
        self.blocks.append(_Block("table", (header, rows)))


EVIDENCE = {
    "F": "stated in the framework paper",
    "F-rel": "stated in related work",
    "I": "reconstructed (a proposal to test)",
}


def _evidence(code: Code) -> str:
    if not code.evidence:
        return ""
    ev = code.evidence
    return ev.status + (f" ({ev.confidence})" if ev.confidence else "")


def _value(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _intro(doc: _Doc, codebook: Codebook) -> None:
    """Title, counts, framework citation, description and coding unit."""
    doc.heading(1, codebook.title)
    doc.para(
        f"Codebook {codebook.id}, version {codebook.version}: {len(codebook.domains)} domains, "
        f"{len(codebook.codes)} codes, {len(codebook.hypotheses)} hypotheses."
    )
    fw = codebook.framework or {}
    if fw.get("citation"):
        doc.para("Framework: " + fw["citation"] + (f" doi:{fw['doi']}" if fw.get("doi") else ""))
    doc.para(codebook.description)
    if codebook.unit:
        doc.heading(2, "Coding unit")
        doc.para(codebook.unit)


def _modifier(m: dict) -> str:
    """One modifier as "label (id): values. description"."""
    return (
        f"{m.get('label', m.get('id'))} ({m.get('id')}): "
        + ", ".join(map(_value, m.get("values", [])))
        + (f". {' '.join(str(m['description']).split())}" if m.get("description") else "")
    )


def _conventions(doc: _Doc, conv: dict) -> None:
    """The conventions section: case attributes, modifiers and rules (nothing when there are none)."""
    if not conv:
        return
    doc.heading(2, "Conventions")
    attrs = conv.get("case_attributes")
    if isinstance(attrs, dict):
        doc.items(
            "Case attributes (recorded on the case, never coded)", [f"{k}: {v}" for k, v in attrs.items()]
        )
    elif attrs:
        doc.items("Case attributes (recorded on the case, never coded)", list(attrs))
    mods = conv.get("modifiers") or []
    if mods:
        doc.items("Modifiers", [_modifier(m) for m in mods])
    doc.items("Rules", [" ".join(str(r).split()) for r in conv.get("rules") or []])


def _overview(doc: _Doc, codebook: Codebook) -> None:
    """The evidence legend and a table of every code by domain."""
    doc.heading(2, "Overview")
    doc.para(
        "Evidence: F = "
        + EVIDENCE["F"]
        + "; F-rel = "
        + EVIDENCE["F-rel"]
        + "; I = "
        + EVIDENCE["I"]
        + " (confidence H/M/L)."
    )
    doc.table(
        ["Domain", "Code", "Label", "Evidence"],
        [[d.label, c.id, c.label, _evidence(c)] for d in codebook.domains for c in codebook.codes_in(d.id)],
    )


def _code_section(doc: _Doc, codebook: Codebook, code: Code) -> None:
    """One code's section, followed by the sections of its sub-codes."""
    doc.heading(3, f"{code.id}: {code.label}", anchor=code.id)
    doc.para(("Sub-code of " + code.parent + ". ") if code.parent else "")
    doc.para("Definition: " + code.definition)
    doc.items("Include", list(code.include))
    doc.items("Exclude", [f"{e.text} (use {e.code})" for e in code.exclude])
    doc.items("Examples", [f"“{e}”" for e in code.examples])
    doc.items(
        "Counterexamples (near misses)",
        [f"“{c.text}”" + (f" (belongs to {c.code})" if c.code else "") for c in code.counterexamples],
    )
    doc.items("Cues", [", ".join(code.cues)] if code.cues else [])
    if code.evidence:
        ev = code.evidence
        doc.items(
            "Evidence",
            [
                f"{_evidence(code)}: {EVIDENCE.get(ev.status, ev.status)}"
                + (f". {ev.note}" if ev.note else "")
            ],
        )
    doc.items("Sources", list(code.sources))
    for child in codebook.children(code.id):
        _code_section(doc, codebook, child)


def _domains(doc: _Doc, codebook: Codebook) -> None:
    """A section per domain with its top-level codes (codes whose parent is missing count as top level)."""
    for domain in codebook.domains:
        doc.heading(2, f"{domain.label} ({domain.id})", anchor=domain.id)
        doc.para(domain.description)
        for code in codebook.codes_in(domain.id):
            if code.parent is None or code.parent not in codebook:
                _code_section(doc, codebook, code)


def _hypotheses(doc: _Doc, codebook: Codebook) -> None:
    """A section per hypothesis: statement, then its codes, expectation and unit as a list."""
    if not codebook.hypotheses:
        return
    doc.heading(2, "Hypotheses")
    for h in codebook.hypotheses:
        doc.heading(3, f"{h.id}: {h.label}" if h.label else h.id, anchor=h.id)
        doc.para(h.statement)
        fields = [f"Mechanism: {', '.join(h.mechanism)}", f"Outcome: {', '.join(h.outcome)}"]
        if h.contrast:
            fields.append(f"Contrast: {', '.join(h.contrast)}")
        fields += [f"Expected: {h.expected}", f"Unit of analysis: {h.unit}"]
        if h.note:
            fields.append(f"Note: {' '.join(h.note.split())}")
        doc.items("", fields)


def _build(codebook: Codebook) -> _Doc:
    """The codebook as a document, in reading order, for both renderers."""
    doc = _Doc()
    _intro(doc, codebook)
    _conventions(doc, codebook.conventions or {})
    _overview(doc, codebook)
    _domains(doc, codebook)
    _hypotheses(doc, codebook)
    doc.para(
        f"Generated by clhs-mechanisms {__version__} from codebook {codebook.id} {codebook.version} "
        f"(SHA-256 {codebook.sha256[:12]})."
    )
    return doc


def _md_escape_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def codebook_markdown(codebook: Codebook) -> str:
    """The codebook as one Markdown document, for a paper's appendix."""
    out: list[str] = []
    for b in _build(codebook).blocks:
        if b.kind == "heading":
            out += [f"{'#' * b.level} {b.data}", ""]
        elif b.kind == "para":
            out += [b.data, ""]
        elif b.kind == "list":
            title, values = b.data
            if title:
                out.append(f"**{title}**")
                out.append("")
            out += [f"- {' '.join(v.split())}" for v in values] + [""]
        elif b.kind == "table":
            header, rows = b.data
            out.append("| " + " | ".join(header) + " |")
            out.append("|" + "---|" * len(header))
            out += ["| " + " | ".join(_md_escape_cell(c) for c in row) + " |" for row in rows]
            out.append("")
    return "\n".join(out).rstrip() + "\n"


_CSS = """body{font-family:Georgia,serif;max-width:52em;margin:2em auto;padding:0 1em;line-height:1.45;
color:#222}
h1,h2,h3{font-family:Helvetica,Arial,sans-serif}h3{margin-top:1.6em}
table{border-collapse:collapse;font-size:.9em}td,th{border:1px solid #bbb;padding:.25em .5em;
text-align:left}
.label{font-weight:bold;margin:.6em 0 .2em}ul{margin-top:.2em}
.swatch{display:inline-block;width:.8em;height:.8em;margin-right:.4em;border:1px solid #555}
code{font-size:.95em}"""


def codebook_html(codebook: Codebook) -> str:
    """The codebook as a standalone HTML page (no scripts, no external files)."""
    colors = {d.id: d.color for d in codebook.domains}
    esc = html.escape
    body: list[str] = []
    for b in _build(codebook).blocks:
        if b.kind == "heading":
            anchor = f' id="{esc(b.anchor)}"' if b.anchor else ""
            swatch = ""
            if b.level == 2 and b.anchor in colors and colors[b.anchor]:
                swatch = f'<span class="swatch" style="background:{esc(colors[b.anchor])}"></span>'
            body.append(f"<h{b.level}{anchor}>{swatch}{esc(b.data)}</h{b.level}>")
        elif b.kind == "para":
            body.append(f"<p>{esc(b.data)}</p>")
        elif b.kind == "list":
            title, values = b.data
            if title:
                body.append(f'<div class="label">{esc(title)}</div>')
            body.append("<ul>" + "".join(f"<li>{esc(v)}</li>" for v in values) + "</ul>")
        elif b.kind == "table":
            header, rows = b.data
            head = "".join(f"<th>{esc(h)}</th>" for h in header)
            cells = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in rows)
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{cells}</tbody></table>")
    title = esc(f"{codebook.title} (version {codebook.version})")
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{title}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )
