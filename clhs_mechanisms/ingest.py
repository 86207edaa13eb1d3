"""Import files into a project: read (corpus) -> segment -> store, one document at a time.

Big imports run in two stages at once: reader processes read and segment files while this
process stores the documents that are ready, in their original order. Small imports (and
``workers=0``) do everything here, so a single file never pays for starting a process.
"""

from __future__ import annotations

import os
from collections import deque
from pathlib import Path
from typing import Iterable, Iterator, Literal, Mapping, Sequence

from . import processes
from .corpus import AttributeTable, Document, iter_files, read_files
from .segment import Segment, Segmenter, pack, unpack
from .store import ImportResult, Project

PARALLEL_MIN_BYTES = 4_000_000  # below this (~700k words), starting reader processes costs more than it saves
FILES_PER_TASK = 8

Prepared = tuple[Document, "list[Segment] | None"]  # None: unchanged since the last import, not segmented


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
    workers: int | None = None,
) -> Iterator[ImportResult]:
    """Import every file under ``paths``; yields one result per document as it is stored.

    Each document is its own transaction, so an error in one file leaves the files
    before it imported and nothing of the failing file written. Streaming: only the
    documents in flight are in memory. ``workers`` is the number of reader processes
    (default: one per CPU for imports of at least ``PARALLEL_MIN_BYTES``, else none).
    """
    table = AttributeTable.from_csv(attributes) if attributes is not None else None
    segmenter = segmenter or Segmenter()
    files = list(iter_files(list(paths), attributes=table))
    if workers is None:
        big = sum(os.path.getsize(path) for path, _ in files if path.is_file()) >= PARALLEL_MIN_BYTES
        workers = processes.cpus() if big and len(files) > FILES_PER_TASK else 0
    known = project.document_hashes()
    if workers > 0:
        prepared = _prepare_in_processes(files, workers, kind=kind, text_column=text_column,
                                         segmenter=segmenter, known=known)
    else:
        prepared = prepare(files, kind=kind, text_column=text_column, segmenter=segmenter, known=known)
    for document, units in prepared:
        if units is None:  # unchanged when the import started: segment only if someone changed it since
            units = [] if project.document_sha256(document.name) == document.sha256 else segmenter.segment(document)
        yield project.import_document(document, units, replace=replace, coder=coder)


def prepare(files: Iterable[tuple[Path, AttributeTable | None]], *, kind: str | None, text_column: str,
            segmenter: Segmenter, known: Mapping[str, str]) -> Iterator[Prepared]:
    """Read and segment files in order; documents whose hash is in ``known`` are not segmented.

    A file that cannot be read raises its error after every document before it.
    """
    held: deque[Prepared] = deque()  # read, in order, waiting for their turn

    def changed() -> Iterator[Document]:
        for document in read_files(files, kind=kind, text_column=text_column):
            unchanged = known.get(document.name) == document.sha256
            held.append((document, None))
            if not unchanged:
                yield document

    try:
        for document, units in segmenter.segment_many(changed()):
            while held[0][0] is not document:
                yield held.popleft()
            held.popleft()
            yield document, units
    except Exception:
        while held:
            yield held.popleft()
        raise
    while held:
        yield held.popleft()


def _prepare_task(files: Sequence[tuple[Path, AttributeTable | None]], kind: str | None, text_column: str,
                  segmenter: Segmenter, known: Mapping[str, str]) -> tuple[list, Exception | None]:
    """One reader process's share: the documents it prepared (segments packed), and the error
    that stopped it, if any."""
    done = []
    try:
        for document, units in prepare(files, kind=kind, text_column=text_column, segmenter=segmenter, known=known):
            document.words  # counted here, off the storing process
            done.append((document, None if units is None else pack(units)))
    except Exception as exc:
        return done, exc
    return done, None


def _prepare_in_processes(files: list[tuple[Path, AttributeTable | None]], workers: int, *, kind: str | None,
                          text_column: str, segmenter: Segmenter, known: Mapping[str, str]) -> Iterator[Prepared]:
    """:func:`prepare` in ``workers`` processes (see :func:`clhs_mechanisms.processes.map_in_order`),
    in file order, a bounded number in flight; here if the processes break."""
    tasks = [(files[i:i + FILES_PER_TASK], kind, text_column, segmenter,
              {path.name: known[path.name] for path, _ in files[i:i + FILES_PER_TASK] if path.name in known})
             for i in range(0, len(files), FILES_PER_TASK)]
    for done in processes.map_in_order(_prepare_task, tasks, workers):
        yield from _finish(done)


def _finish(result: tuple[list, Exception | None]) -> Iterator[Prepared]:
    done, error = result
    for document, packed in done:
        yield document, None if packed is None else unpack(document, packed)
    if error is not None:
        raise error
