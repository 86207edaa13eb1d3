"""The codebook as text: a tree for the terminal and Markdown for one code."""

from __future__ import annotations

from ..codebook import Code, Codebook


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


def code_markdown(code: Code) -> str:
    """Everything a coder needs about one code, as Markdown."""
    out = [f"## {code.id}: {code.label}", "", f"*Domain*: {code.domain}"
           + (f"; *parent*: {code.parent}" if code.parent else ""), "", code.definition, ""]

    def section(title: str, items: list[str]) -> None:
        if items:
            out.extend([f"**{title}**", *[f"- {item}" for item in items], ""])

    section("Include", list(code.include))
    section("Exclude", [f"{e.text} (-> `{e.code}`)" for e in code.exclude])
    section("Examples", [f"\"{e}\"" for e in code.examples])
    section("Counterexamples", [f"\"{c.text}\"" + (f" (-> `{c.code}`)" if c.code else "") for c in code.counterexamples])
    section("Cues", [", ".join(code.cues)] if code.cues else [])
    if code.evidence:
        conf = f" ({code.evidence.confidence})" if code.evidence.confidence else ""
        section("Evidence", [f"{code.evidence.status}{conf}" + (f": {code.evidence.note}" if code.evidence.note else "")])
    section("Sources", list(code.sources))
    return "\n".join(out).rstrip() + "\n"
