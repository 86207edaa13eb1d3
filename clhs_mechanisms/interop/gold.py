"""Coded segments from JSON Lines (the gold-data format) into a project, as one coder's codings."""

from __future__ import annotations

import json
from collections.abc import Collection
from pathlib import Path

from ..codebook import unknown_code_message
from ..errors import ClhsError
from ..store import Project


def import_codings_jsonl(
    project: Project,
    path: str | Path,
    *,
    coder: str,
    origin: str = "import",
    documents: Collection[str] | None = None,
) -> int:
    """Add the codes of every line ``{"document", "start", "end", "codes"}`` as codings by ``coder``.

    ``documents``: only lines of these documents (agreement treats a coder as having rated
    whole documents, so a partly double-coded document would count its uncoded rest as agreement).

    The file is checked whole before anything is written (bad JSON, unknown documents or
    codes, spans that do not match the stored text name their line), then written in one
    transaction; a second import of the same file adds nothing. Returns the number added.
    """
    p = Path(path)
    if not p.is_file():
        raise ClhsError("no such file", where=str(p))
    codebook = project.codebook
    texts = project.document_texts()
    rows = []
    for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        where = f"{p.name}:{n}"
        try:
            item = json.loads(line)
            name, start, end, codes = item["document"], int(item["start"]), int(item["end"]), item["codes"]
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise ClhsError(f"needs JSON with document, start, end and codes ({exc})", where=where) from None
        if documents is not None and name not in documents:
            continue
        if name not in texts:
            raise ClhsError(f"document '{name}' is not in the project (import it first)", where=where)
        if "text" in item and texts[name][start:end] != item["text"]:
            raise ClhsError(f"span {start}-{end} does not hold the line's text in {name}", where=where)
        for code in codes:
            if code not in codebook:
                raise ClhsError(unknown_code_message(code, codebook.code_ids), where=where)
            rows.append((name, start, end, code))
    existing = project.codings()
    existing = set(
        zip(existing["document"], existing["start"], existing["end"], existing["code"], existing["coder"])
    )
    todo = list(dict.fromkeys(r for r in rows if (*r, coder) not in existing))  # a line given twice: once
    project.add_codings(todo, coder=coder, origin=origin)
    return len(todo)
