"""Pick the reader by file extension, and walk files and folders one document at a time."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Callable, Iterable, Iterator, NamedTuple

from clhs_mechanisms.corpus.attributes import AttributeTable, apply_attributes
from clhs_mechanisms.corpus.captions import read_captions
from clhs_mechanisms.corpus.docx import read_docx
from clhs_mechanisms.corpus.model import Document
from clhs_mechanisms.corpus.tables import read_table
from clhs_mechanisms.corpus.text import require_file
from clhs_mechanisms.corpus.transcript import read_transcript
from clhs_mechanisms.corpus.whisper import is_whisper_tsv, read_whisper
from clhs_mechanisms.errors import ReaderError

_READERS: dict[str, Callable[..., Document]] = {
    ".txt": read_transcript,
    ".md": read_transcript,
    ".markdown": read_transcript,
    ".vtt": read_captions,
    ".srt": read_captions,
    ".docx": read_docx,
    ".csv": read_table,
    ".tsv": read_table,
    ".xlsx": read_table,
    ".json": read_whisper,
}
SUPPORTED_EXTENSIONS: tuple[str, ...] = tuple(sorted(_READERS))
SIDECAR_NAME = "attributes.csv"

PathArg = str | os.PathLike[str]


class SourceFile(NamedTuple):
    """A file to import: where it is, the attribute table that applies to it, and the name it has
    in a project (its path relative to the folder it was found under, e.g. ``site_a/p01.txt``; a
    file named on its own: its file name), so that two ``p01.txt`` in two folders stay two documents."""

    path: Path
    attributes: AttributeTable | None
    name: str


def read_document(
    path: PathArg, *, kind: str | None = None, text_column: str = "text", format: str | None = None
) -> Document:
    """Read one file with the reader for its extension.

    ``kind`` defaults to "literature" for tables and "interview" for everything else;
    ``text_column`` names the excerpt column of a table; ``format`` forces a transcript layout
    (zoom, teams, otter, descript, whisper, youtube, rev, plain) instead of detecting it. A ``.tsv``
    whose header is Whisper's ``start  end  text`` is a transcript, any other a table of excerpts.
    """
    path = Path(path)
    require_file(path)
    reader = _READERS.get(path.suffix.lower())
    if reader is None:
        raise ReaderError(
            f"unsupported file type '{path.suffix}' (supported: {', '.join(SUPPORTED_EXTENSIONS)})",
            where=str(path),
        )
    if reader is read_table and path.suffix.lower() == ".tsv" and is_whisper_tsv(_head(path)):
        reader = read_whisper
    options: dict[str, str] = {"kind": kind} if kind else {}
    if reader is read_table:
        options["text_column"] = text_column
    elif format:
        options["format"] = format
    return reader(path, **options)


def _head(path: Path, size: int = 256) -> bytes:
    try:
        with path.open("rb") as f:
            return f.read(size)
    except OSError as error:
        raise ReaderError(f"cannot read the file ({error.strerror or error})", where=str(path)) from error


def _hidden(path: Path) -> bool:
    return path.name.startswith((".", "~$"))  # dot files, Office lock files


def _walk(
    root: Path, directory: Path, sidecar: AttributeTable | None, explicit: bool, seen: set[Path]
) -> Iterator[SourceFile]:
    """Supported files under ``directory`` (inside ``root``) in sorted order, each with the sidecar
    that applies.

    A folder's ``attributes.csv`` is its sidecar (and its subfolders', unless they have
    their own), except when a table was given explicitly; it is never read as a document.
    A folder or file already ``seen`` (by its real path: a link back to a parent, a file named
    twice) is not visited again.
    """
    real = directory.resolve()
    if real in seen:
        return
    seen.add(real)
    local = directory / SIDECAR_NAME
    if not explicit and local.is_file():
        sidecar = AttributeTable.from_csv(local)
    for entry in sorted(directory.iterdir()):
        if _hidden(entry) or entry.name == SIDECAR_NAME:
            continue
        if entry.is_dir():
            yield from _walk(root, entry, sidecar, explicit, seen)
        elif entry.suffix.lower() in _READERS and _transcript_json(entry) and _first_time(entry, seen):
            yield SourceFile(entry, sidecar, entry.relative_to(root).as_posix())


def _transcript_json(path: Path) -> bool:
    """A ``.json`` file in a folder is read only if it looks like Whisper's output (a folder of
    interviews may hold other JSON files, which are not transcripts); other extensions: True."""
    if path.suffix.lower() != ".json":
        return True
    head = _head(path, 1 << 16)
    return b'"segments"' in head or b'"transcription"' in head


def _first_time(path: Path, seen: set[Path]) -> bool:
    real = path.resolve()
    if real in seen:
        return False
    seen.add(real)
    return True


def iter_files(
    paths: PathArg | Iterable[PathArg],
    *,
    attributes: AttributeTable | PathArg | None = None,
) -> Iterator[SourceFile]:
    """The files to read under ``paths`` (recursively, in order), each with its attribute table
    and its document name (see :class:`SourceFile`).

    Files named explicitly are read whatever their name; folders contribute their supported,
    non-hidden files. Each file is read once, however often it is named or reached; two files
    that would get the same document name are refused before anything is read. ``attributes``
    (a table or the path of a sidecar CSV) applies to every document; without it, folders'
    ``attributes.csv`` files do.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    table = AttributeTable.from_csv(attributes) if isinstance(attributes, (str, os.PathLike)) else attributes
    seen: set[Path] = set()
    named: dict[str, Path] = {}
    for given in paths:
        given = Path(given)
        found = (
            _walk(given, given, table, table is not None, seen)
            if given.is_dir()
            else ([SourceFile(given, table, given.name)] if _first_time(given, seen) else [])
        )
        for source in found:
            if source.name in named:
                raise ReaderError(
                    f"two files would both be the document '{source.name}' ({named[source.name]} and "
                    f"{source.path}): import the folder that holds both, so each is named by its path "
                    "inside it, or rename one",
                    where=str(source.path),
                )
            named[source.name] = source.path
            yield source


def read_files(
    files: Iterable[SourceFile],
    *,
    kind: str | None = None,
    text_column: str = "text",
    format: str | None = None,
) -> Iterator[Document]:
    """Read each :class:`SourceFile` of :func:`iter_files` into a Document named by it, lazily."""
    for path, table, name in files:
        document = read_document(path, kind=kind, text_column=text_column, format=format)
        if document.name != name:
            document = dataclasses.replace(document, name=name)
        yield apply_attributes(document, table) if table is not None else document


def iter_documents(
    paths: PathArg | Iterable[PathArg],
    *,
    kind: str | None = None,
    attributes: AttributeTable | PathArg | None = None,
    text_column: str = "text",
    format: str | None = None,
) -> Iterator[Document]:
    """Read files and folders (see :func:`iter_files`) one document at a time, lazily."""
    return read_files(
        iter_files(paths, attributes=attributes), kind=kind, text_column=text_column, format=format
    )
