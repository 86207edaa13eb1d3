"""Coded segments from JSON Lines (the gold-data format) into a project, as one coder's codings."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from ..codebook import unknown_code_message
from ..errors import ClhsError
from ..jsonlines import json_object
from ..store import Project


def _line_modifiers(project: Project, item: dict, codes: list[str], where: str) -> dict[str, dict[str, str]]:
    """The line's ``modifiers`` (code -> modifier -> value), each checked against the codebook."""
    given = item.get("modifiers") or {}
    if not isinstance(given, dict):
        raise ClhsError("'modifiers' must be an object of code -> {modifier: value}", where=where)
    out = {}
    for code, values in given.items():
        if code not in codes:
            raise ClhsError(
                f"modifiers are given for '{code}', which is not among the line's codes", where=where
            )
        checked = project.check_modifiers(code, values, where=where)
        out[code] = {k: v for k, v in checked.items() if v is not None}
    return out


def import_codings_jsonl(
    project: Project,
    path: str | Path,
    *,
    coder: str,
    origin: str = "import",
    documents: Collection[str] | None = None,
) -> int:
    """Add the codes of every line ``{"document", "start", "end", "codes"}`` as codings by ``coder``.

    A line may give modifiers of its codes: ``"modifiers": {"code_id": {"valence": "negative"}}``,
    checked against the codebook's conventions (a modifier it does not define, a value it does not
    allow, a modifier on a code it does not apply to name their line). ``coder``'s codings already
    in the project get the modifiers of the codes the line names (those it does not name keep theirs).

    ``documents``: only lines of these documents (agreement treats a coder as having rated
    whole documents, so a partly double-coded document would count its uncoded rest as agreement).

    The file is checked whole before anything is written (bad JSON, unknown documents or
    codes, spans that do not match the stored text name their line), then written; a second
    import of the same file adds nothing. Returns the number of codings added.
    """
    p = Path(path)
    if not p.is_file():
        raise ClhsError("no such file", where=str(p))
    codebook = project.codebook
    texts = project.document_texts()
    rows, named = [], {}
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise ClhsError(f"not UTF-8 text (byte {exc.start})", where=str(p)) from None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{p.name}:{n}"
        item = json_object(line, where)
        name, start, end, codes = (item.get(k) for k in ("document", "start", "end", "codes"))
        if not (
            isinstance(name, str)
            and all(isinstance(x, int) and not isinstance(x, bool) for x in (start, end))
            and isinstance(codes, list)
            and all(isinstance(c, str) for c in codes)
        ):
            raise ClhsError(
                "needs document (text), start and end (whole numbers) and codes (a list of code ids)",
                where=where,
            )
        if documents is not None and name not in documents:
            continue
        if name not in texts:
            raise ClhsError(f"document '{name}' is not in the project (import it first)", where=where)
        if "text" in item and texts[name][start:end] != item["text"]:
            raise ClhsError(f"span {start}-{end} does not hold the line's text in {name}", where=where)
        for code in codes:
            if code not in codebook:
                raise ClhsError(unknown_code_message(code, codebook.code_ids), where=where)
        mods = _line_modifiers(project, item, codes, where)
        for code in codes:
            rows.append((name, start, end, code))
            if code in mods:
                named[rows[-1]] = mods[code]
    existing = project.codings()
    existing = existing[existing["coder"] == coder]
    keys = zip(existing["document"], existing["start"], existing["end"], existing["code"])
    ids = dict(zip(keys, existing["id"]))
    todo = list(dict.fromkeys(r for r in rows if r not in ids))  # a line given twice: once
    project.add_codings([(*r, named.get(r)) for r in todo], coder=coder, origin=origin)
    project.update_modifiers([(ids[r], m) for r, m in named.items() if r in ids], coder=coder)
    return len(todo)
