"""Import files into a project: read (corpus) -> segment -> store, one document at a time."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Iterator, Literal

from .corpus import AttributeTable, iter_documents
from .segment import Segmenter
from .errors import StoreError
from .store import CHANGED_DOCUMENT, ImportResult, Project


def import_paths(
    project: Project,
    paths: Iterable[str | Path],
    *,
    kind: Literal["interview", "literature"] | None = None,
    attributes: str | Path | None = None,
    replace: bool = False,
    segmenter: Segmenter | None = None,
    text_column: str = "text",
    coder: str = "system",
) -> Iterator[ImportResult]:
    """Import every file under ``paths``; yields one result per document as it is stored.

    Each document is its own transaction, so an error in one file leaves the files
    before it imported and nothing of the failing file written. Streaming: one
    document is in memory at a time.
    """
    table = AttributeTable.from_csv(attributes) if attributes is not None else None
    segmenter = segmenter or Segmenter()
    docs = iter_documents(list(paths), kind=kind, attributes=table, text_column=text_column)
    for document in docs:
        existing = project.document_sha256(document.name)
        if existing == document.sha256:
            yield ImportResult(document.name, "unchanged", project.document_id(document.name))
            continue
        if existing is not None and not replace:
            raise StoreError(CHANGED_DOCUMENT, where=document.name)
        yield project.import_document(document, segmenter.segment(document), replace=replace, coder=coder)
