"""Import files into a project: read (corpus) -> segment -> store, one document at a time.

Big imports run in reader processes that each read, segment and store a few files at a time,
taking turns to store so documents arrive in their original order. Small imports (and
``workers=0``) do everything here, so a single file never pays for starting a process.
"""

from __future__ import annotations

import dataclasses
import gc
import os
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Literal, NamedTuple

from . import processes
from .corpus import AttributeTable, Document, SourceFile, iter_files, read_files
from .segment import Segment, Segmenter
from .store import ImportResult, Project

PARALLEL_MIN_BYTES = 4_000_000  # below this (~700k words), starting reader processes costs more than it saves
FILES_PER_TASK = 8

Prepared = tuple[Document, "list[Segment] | None"]  # None: unchanged since the last import, not segmented


class ReadOptions(NamedTuple):
    """How files are read: a table's text column, and the transcript layout to force (None: detect)."""

    text_column: str = "text"
    format: str | None = None


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
    format: str | None = None,
) -> Iterator[ImportResult]:
    """Import every file under ``paths``; yields one result per document as it is stored.

    Each document is its own transaction, so an error in one file leaves the files
    before it imported and nothing of the failing file written. Streaming: only the
    documents in flight are in memory. ``workers`` is the number of reader processes
    (default: one per CPU for imports of at least ``PARALLEL_MIN_BYTES``, else none); ``format``
    forces a transcript layout (see :func:`clhs_mechanisms.corpus.read_document`).
    """
    table = AttributeTable.from_csv(attributes) if attributes is not None else None
    segmenter = segmenter or Segmenter()
    files = list(iter_files(list(paths), attributes=table))
    if workers is None:
        big = sum(os.path.getsize(f.path) for f in files if f.path.is_file()) >= PARALLEL_MIN_BYTES
        workers = processes.cpus() if big and len(files) > FILES_PER_TASK else 0
    known = project.document_hashes()
    if workers > 0:
        yield from _import_in_processes(
            project,
            files,
            workers,
            kind=kind,
            read=ReadOptions(text_column, format),
            segmenter=segmenter,
            known=known,
            replace=replace,
            coder=coder,
        )
        return
    for document, units in prepare(
        files, kind=kind, read=ReadOptions(text_column, format), segmenter=segmenter, known=known
    ):
        yield _store(project, segmenter, document, units, known=known, replace=replace, coder=coder)


def _store(
    project: Project,
    segmenter: Segmenter,
    document: Document,
    units: list[Segment] | None,
    *,
    known: Mapping[str, str],
    replace: bool,
    coder: str,
) -> ImportResult:
    changed = units is not None  # new or changed when the import started (``known``)
    if not changed:  # segment only if someone changed it since
        units = (
            [] if project.document_sha256(document.name) == document.sha256 else segmenter.segment(document)
        )
    result = project.import_document(document, units, replace=replace, coder=coder)
    if changed and result.status == "unchanged":  # stored since the import started: by this import (a
        # reader process killed before it reported, whose task is run again here) or by another
        result = dataclasses.replace(result, status="replaced" if document.name in known else "added")
    return result


def prepare(
    files: Iterable[SourceFile],
    *,
    kind: str | None,
    read: ReadOptions,
    segmenter: Segmenter,
    known: Mapping[str, str],
) -> Iterator[Prepared]:
    """Read and segment files in order; documents whose hash is in ``known`` are not segmented.

    A file that cannot be read raises its error after every document before it.
    """
    held: deque[Prepared] = deque()  # read, in order, waiting for their turn

    def changed() -> Iterator[Document]:
        for document in read_files(files, kind=kind, text_column=read.text_column, format=read.format):
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


class _Turns:
    """Whose turn it is to store: reader processes store their tasks one at a time, in task
    order, so the project receives documents in file order, exactly as one process stores them,
    and a failed file stops everything after it."""

    def __init__(self, context) -> None:
        self.changed = context.Condition()
        self.next = context.RawValue("i", 0)  # the task whose turn it is; read and written under ``changed``
        self.stopped = context.RawValue("b", 0)

    def wait(self, task: int) -> bool:
        """Wait for ``task``'s turn; False if the import stopped before it came."""
        with self.changed:
            self.changed.wait_for(lambda: self.next.value == task or self.stopped.value)
            return not self.stopped.value

    def done(self, task: int, *, failed: bool = False) -> None:
        with self.changed:
            self.next.value = task + 1
            self.stopped.value = self.stopped.value or failed
            self.changed.notify_all()

    def stop(self) -> None:
        """Stop every task still waiting; gives up after a few seconds if a killed process died
        holding the lock (the pool then reports it broken, and nobody waits any more)."""
        if self.changed.acquire(timeout=5):
            try:
                self.stopped.value = 1
                self.changed.notify_all()
            finally:
                self.changed.release()


_reader: dict = {}  # this reader process's own handle on the project, and the shared turns


def _start_reader(directory: Path, url: str, turns: _Turns) -> None:
    # A reader makes millions of short-lived objects (tokens, spans, rows) and almost no
    # cycles: leave what it inherited out of collections and collect less often (about 8%
    # less CPU per import, measured with bench/ingest.py's corpus).
    gc.freeze()
    gc.set_threshold(20_000, 50, 50)
    _reader.update(project=Project.open(directory, url=url), turns=turns)


def _reader_task(*task) -> tuple[list[ImportResult], Exception | None]:
    return _import_task(_reader["project"], _reader["turns"], *task)


def _import_task(
    project: Project,
    turns: _Turns | None,
    index: int,
    files: Sequence[SourceFile],
    kind: str | None,
    read: ReadOptions,
    segmenter: Segmenter,
    known: Mapping[str, str],
    replace: bool,
    coder: str,
) -> tuple[list[ImportResult], Exception | None]:
    """Read and segment task ``index``'s files, then, in its turn, store them: the results, and
    the error that stopped the task, if any. Reading runs while another process stores."""
    prepared, results, error = [], [], None
    try:
        for item in prepare(files, kind=kind, read=read, segmenter=segmenter, known=known):
            prepared.append(item)
    except Exception as exc:
        error = exc
    if turns is not None and not turns.wait(index):
        return [], None
    try:
        for document, units in prepared:
            results.append(
                _store(project, segmenter, document, units, known=known, replace=replace, coder=coder)
            )
    except Exception as exc:
        error = exc
    finally:
        if turns is not None:
            turns.done(index, failed=error is not None)
    return results, error


def _import_in_processes(
    project: Project,
    files: list[SourceFile],
    workers: int,
    *,
    kind: str | None,
    read: ReadOptions,
    segmenter: Segmenter,
    known: Mapping[str, str],
    replace: bool,
    coder: str,
) -> Iterator[ImportResult]:
    """The import in ``workers`` reader processes that each read, segment and store
    ``FILES_PER_TASK`` files at a time (see :class:`_Turns`); here if the processes break
    (documents a killed process stored are reported as this import's, not as ``unchanged``)."""
    context = processes.context()
    turns = _Turns(context)
    tasks = [
        (
            k,
            files[i : i + FILES_PER_TASK],
            kind,
            read,
            segmenter,
            {f.name: known[f.name] for f in files[i : i + FILES_PER_TASK] if f.name in known},
            replace,
            coder,
        )
        for k, i in enumerate(range(0, len(files), FILES_PER_TASK))
    ]
    url = project.engine.url.render_as_string(hide_password=False)
    try:
        for results, error in processes.map_in_order(
            _reader_task,
            tasks,
            workers,
            here=lambda *task: _import_task(project, None, *task),
            initializer=_start_reader,
            initargs=(project.directory, url, turns),
            mp_context=context,
        ):
            yield from results
            if error is not None:
                raise error
    finally:
        turns.stop()  # wakes any process still waiting for a turn that will not come
