"""Document attributes from a sidecar CSV (site, role, disease, ...), for filtering and comparison."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path, PurePosixPath
from typing import Mapping

from clhs_mechanisms.corpus.model import Document
from clhs_mechanisms.corpus.tables import read_csv_table
from clhs_mechanisms.corpus.text import read_bytes
from clhs_mechanisms.errors import ReaderError


class AttributeTable:
    """Rows of a sidecar CSV keyed by file and/or participant id.

    The CSV needs a ``file`` or a ``participant`` column (any case). A row's other
    non-empty cells are its attributes; the participant id is one of them, the file
    name is not (it is the document's name already). A ``file`` is a name (``p01.txt``) or
    a path (``site_a/p01.txt``, matched against the end of the document's name).
    """

    def __init__(
        self, by_file: Mapping[str, Mapping[str, str]], by_participant: Mapping[str, Mapping[str, str]]
    ) -> None:
        self._by_file = dict(by_file)
        self._by_participant = dict(by_participant)

    @classmethod
    def from_csv(cls, path: str | os.PathLike[str]) -> AttributeTable:
        """Read a sidecar CSV; a key listed twice is a ReaderError naming both lines."""
        path = Path(path)
        table, _ = read_csv_table(read_bytes(path), str(path))
        file_key, participant_key = table.column("file"), table.column("participant")
        if file_key is None and participant_key is None:
            raise ReaderError(
                f"an attributes table needs a 'file' or 'participant' column (found: {', '.join(table.columns)})",
                where=str(path),
            )
        indexes: dict[str, dict[str, dict[str, str]]] = {"file": {}, "participant": {}}
        lines: dict[tuple[str, str], int] = {}
        for number, cells in table.rows:
            attributes = {column: value for column, value in cells.items() if column != file_key}
            for index, key_column in (("file", file_key), ("participant", participant_key)):
                if key_column is None or key_column not in cells:
                    continue
                key = _file_key(cells[key_column]) if index == "file" else cells[key_column]
                if (index, key) in lines:
                    raise ReaderError(
                        f"{index} '{key}' is listed twice (lines {lines[index, key]} and {number})",
                        where=f"{path}:{number}",
                    )
                lines[index, key] = number
                indexes[index][key] = attributes
        return cls(indexes["file"], indexes["participant"])

    def lookup(self, document: Document) -> dict[str, str]:
        """The attributes for ``document``: by its file (the one row whose ``file`` ends the document's
        name, or is ended by it), else by its ``participant`` attribute."""
        if document.name in self._by_file:
            return dict(self._by_file[document.name])
        parts = PurePosixPath(document.name).parts
        rows = [
            row
            for key, row in self._by_file.items()
            if _ends(parts, PurePosixPath(key).parts) or _ends(PurePosixPath(key).parts, parts)
        ]
        if len(rows) == 1:
            return dict(rows[0])
        participant = next(
            (value for key, value in document.attributes.items() if key.casefold() == "participant"), None
        )
        return dict(self._by_participant.get(participant, {})) if participant else {}


def _file_key(value: str) -> str:
    """A sidecar's ``file`` cell as a relative POSIX path: ``.\\site_a\\p01.txt`` -> ``site_a/p01.txt``."""
    return PurePosixPath(
        *[part for part in value.replace("\\", "/").split("/") if part not in ("", ".")]
    ).as_posix()


def _ends(parts: tuple[str, ...], suffix: tuple[str, ...]) -> bool:
    return 0 < len(suffix) <= len(parts) and parts[len(parts) - len(suffix) :] == suffix


def apply_attributes(document: Document, table: AttributeTable) -> Document:
    """A copy of ``document`` with the sidecar's attributes added.

    Sidecar values only fill in: where the document's own attributes (its front matter)
    have the same key, they win, and a differing sidecar value is noted as a warning.
    """
    extra = table.lookup(document)
    conflicts = [
        f"attribute '{key}': front matter '{document.attributes[key]}' kept, attributes table says '{value}'"
        for key, value in extra.items()
        if key in document.attributes and document.attributes[key] != value
    ]
    return dataclasses.replace(
        document,
        attributes={**extra, **document.attributes},
        warnings=document.warnings + tuple(conflicts),
    )
