"""Reading a ``.qdpx`` archive defensively: never trusting its names or its sizes.

A ``.qdpx`` is a ZIP with one ``project.qde`` and a flat ``sources/`` folder. Members are
read straight from the archive (nothing is extracted to disk), every name is checked
(absolute paths and ``..`` are refused, as an extracting tool would write outside its
folder), and bytes are counted as they are decompressed, so a small archive that
inflates to gigabytes stops at the size limit instead of filling memory.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

from ..corpus.text import sniff_binary
from ..errors import ClhsError

DEFAULT_MAX_BYTES = 1 << 30  # 1 GiB of decompressed data per archive
CHUNK = 1 << 16
_DRIVE = re.compile(r"^[A-Za-z]:")


class _Counted(io.RawIOBase):
    """A member's stream that refuses to yield more than the archive's remaining budget."""

    def __init__(self, stream: IO[bytes], archive: QdpxArchive, name: str) -> None:
        self._stream, self._archive, self._name = stream, archive, name

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        try:
            data = self._stream.read(len(buffer))
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:  # damaged compressed data
            raise ClhsError(f"damaged member '{self._name}' ({exc})", where=self._archive.where) from None
        self._archive._spend(len(data), self._name)
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._stream.close()
        super().close()


@dataclass(frozen=True)
class Member:
    name: str  # as stored in the archive
    size: int  # declared uncompressed size


class QdpxArchive:
    """The members of a ``.qdpx`` file, checked for safety before anything is read."""

    def __init__(self, path: str | Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.path = Path(path)
        self.where = str(self.path)
        self.max_bytes = max_bytes
        self._read = 0
        if not self.path.is_file():
            raise ClhsError("no such file" if not self.path.exists() else "is not a file", where=self.where)
        if not zipfile.is_zipfile(self.path):
            with open(self.path, "rb") as fh:
                head = fh.read(16)
            kind = sniff_binary(head)
            looks = f" (looks like {kind})" if kind else ""
            raise ClhsError(
                f"not a REFI-QDA project: a .qdpx is a ZIP archive, this is not one{looks}", where=self.where
            )
        try:
            self._zip = zipfile.ZipFile(self.path)
            infos = self._zip.infolist()
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise ClhsError(f"damaged ZIP archive ({exc})", where=self.where) from None
        declared = 0
        self.members: list[Member] = []
        for info in infos:
            self._check_name(info.filename)
            if info.is_dir():
                continue
            declared += info.file_size
            self.members.append(Member(info.filename, info.file_size))
        if declared > max_bytes:
            self.close()
            raise ClhsError(
                f"archive too large: {declared:,} bytes uncompressed, over the limit of {max_bytes:,} bytes",
                where=self.where,
            )
        self._by_lower = {m.name.lower(): m for m in self.members}

    def _check_name(self, name: str) -> None:
        unified = name.replace("\\", "/")
        parts = PurePosixPath(unified).parts
        if unified.startswith("/") or _DRIVE.match(unified) or ".." in parts or "\x00" in name:
            self.close()
            raise ClhsError(
                f"unsafe path '{name}' inside the archive (it points outside the archive's folder); refused",
                where=self.where,
            )

    def _spend(self, n: int, name: str) -> None:
        self._read += n
        if self._read > self.max_bytes:
            raise ClhsError(
                f"archive too large: more than {self.max_bytes:,} bytes after decompression (reading {name})",
                where=self.where,
            )

    def close(self) -> None:
        zf = getattr(self, "_zip", None)
        if zf is not None:
            zf.close()

    def __enter__(self) -> QdpxArchive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- finding members ------------------------------------------------------

    def project_file(self) -> tuple[Member, str | None]:
        """The ``.qde`` member, and a note when it is not the standard ``project.qde``."""
        qdes = [m for m in self.members if m.name.lower().endswith(".qde")]
        if not qdes:
            raise ClhsError(
                "no .qde project file in the archive (a .qdpx must hold project.qde)", where=self.where
            )
        exact = [m for m in qdes if m.name == "project.qde"]
        if exact:
            return exact[0], None
        top = [m for m in qdes if "/" not in m.name.replace("\\", "/")]
        candidates = [m for m in top if m.name.lower() == "project.qde"] or top or qdes
        if len(candidates) > 1:
            names = ", ".join(sorted(m.name for m in candidates))
            raise ClhsError(
                f"several .qde files ({names}): cannot tell which one is the project", where=self.where
            )
        return candidates[
            0
        ], f"the project file is '{candidates[0].name}', not 'project.qde'; read it all the same"

    def source(self, reference: str) -> Member | None:
        """The member an ``internal://NAME`` reference points to (``sources/NAME``, any case)."""
        name = reference.split("://", 1)[1] if "://" in reference else reference
        name = name.lstrip("/").replace("\\", "/")
        for candidate in (f"sources/{name}", name):
            member = self._by_lower.get(candidate.lower())
            if member is not None:
                return member
        return None

    # -- reading --------------------------------------------------------------

    def open(self, member: Member) -> IO[bytes]:
        """A stream of the member's bytes, counted against the size limit."""
        try:
            raw = self._zip.open(member.name)
        except (zipfile.BadZipFile, OSError, NotImplementedError, RuntimeError, ValueError) as exc:
            raise ClhsError(  # ValueError: a member whose stored name is not what it declares
                f"cannot read '{member.name}' from the archive ({exc})", where=self.where
            ) from None
        return io.BufferedReader(_Counted(raw, self, member.name), buffer_size=CHUNK)

    def read(self, member: Member) -> bytes:
        out = bytearray()
        try:
            with self.open(member) as stream:
                while chunk := stream.read(CHUNK):
                    out += chunk
        except zipfile.BadZipFile as exc:
            raise ClhsError(f"damaged member '{member.name}' ({exc})", where=self.where) from None
        return bytes(out)
