"""From a file on disk to clean text: reading, decoding, normalising, front matter.

Every reader goes through these helpers so that all formats agree on what a
readable file is and on the text that turn offsets point into (NFC, ``\\n`` line ends).
"""

from __future__ import annotations

import hashlib
import io
import re
import unicodedata
import zipfile
import zlib
from pathlib import Path
from typing import Iterable, Mapping

import yaml

from clhs_mechanisms.corpus.model import Document, DocumentKind, Turn
from clhs_mechanisms.errors import ReaderError

KINDS: tuple[DocumentKind, ...] = ("interview", "literature")

# Signatures of common non-text files, so a mis-named file gets a helpful message.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"%PDF-", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (.docx and .xlsx files are ZIP archives)"),
    (b"PK\x05\x06", "an empty ZIP archive"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "a legacy Office file (.doc/.xls)"),
    (b"\x1f\x8b", "a gzip archive"),
)
_BOMS: tuple[tuple[bytes, str], ...] = (
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)
MAX_FILE_BYTES = 128 << 20  # a 10-hour caption file is about 5 MB; larger is not a transcript
MAX_INFLATED_BYTES = 64 << 20  # a Word or Excel file's XML, unpacked (a long interview: a few MB)
_FENCE = re.compile(r"---[ \t]*\n")
_FENCE_END = re.compile(r"^(?:---|\.\.\.)[ \t]*$", re.MULTILINE)
_BLANK_LINES = re.compile(r"(?:[ \t]*\n)*")


def require_file(path: Path) -> None:
    """Raise ReaderError unless ``path`` names an existing regular file."""
    if not path.exists():
        raise ReaderError("no such file", where=str(path))
    if path.is_dir():
        raise ReaderError("is a directory, not a file", where=str(path))


def read_bytes(path: Path) -> bytes:
    """The file's raw bytes (hashed as they are, then decoded by the reader); files over
    :data:`MAX_FILE_BYTES` are refused before they are read."""
    require_file(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ReaderError(
                f"file too large to be a transcript or table ({size:,} bytes; the limit is "
                f"{MAX_FILE_BYTES >> 20} MiB)",
                where=str(path),
            )
        with path.open("rb") as f:
            return f.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        raise ReaderError(f"cannot read the file ({error.strerror or error})", where=str(path)) from error


def sniff_binary(data: bytes) -> str | None:
    """Name the kind of binary file ``data`` looks like, or None if no signature matches."""
    return next((kind for magic, kind in _MAGIC if data.startswith(magic)), None)


def normalise(text: str) -> str:
    """``\\n`` line ends (from CRLF and lone CR) and Unicode NFC, so offsets are stable."""
    return unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))


def decode_bytes(data: bytes, where: str) -> tuple[str, list[str]]:
    """Decode a text file's bytes; return the normalised text and any warnings.

    A byte-order mark decides (UTF-8, UTF-16 LE/BE); without one the bytes must be
    UTF-8, else they are read as cp1252 (what Word and Excel on Windows write) with a
    warning. Empty, binary and undecodable files raise ReaderError.
    """
    if not data.strip():
        raise ReaderError("empty file" if not data else "empty file (only whitespace)", where=where)
    warnings: list[str] = []
    bom = next(((mark, codec) for mark, codec in _BOMS if data.startswith(mark)), None)
    if bom is not None:
        mark, codec = bom
        try:
            text = data[len(mark) :].decode(codec)
        except UnicodeDecodeError as error:
            raise ReaderError(
                f"invalid {codec.upper()} after its byte-order mark ({error.reason} at byte {error.start + len(mark)})",
                where=where,
            ) from error
    else:
        kind = sniff_binary(data)
        if kind is not None:
            raise ReaderError(f"binary file, not text (looks like {kind})", where=where)
        if b"\x00" in data:
            raise ReaderError(
                "binary file, not text (NUL bytes; UTF-16 text needs a byte-order mark)", where=where
            )
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text, warning = _decode_legacy(data, where)
            warnings.append(warning)
    if "\x00" in text:
        raise ReaderError("binary file, not text (it contains NUL characters)", where=where)
    if not text.strip():
        raise ReaderError("empty file (only whitespace)", where=where)
    return normalise(text), warnings


def _decode_legacy(data: bytes, where: str) -> tuple[str, str]:
    """Bytes that are not valid UTF-8: cp1252 (what Word and Excel on Windows write), line by line
    when other lines hold real UTF-8 (a file pasted together from two sources), so that neither
    part is garbled ("—" read as cp1252 would become "â€”"). Returns the text and a warning that
    names the lines read as cp1252."""
    lines = data.split(b"\n")
    decoded, legacy, utf8_beyond_ascii = [], [], False
    for number, line in enumerate(lines, 1):
        try:
            decoded.append(line.decode("utf-8"))
            utf8_beyond_ascii = utf8_beyond_ascii or not line.isascii()
        except UnicodeDecodeError:
            try:
                decoded.append(line.decode("cp1252"))
            except UnicodeDecodeError as error:
                raise ReaderError(
                    f"cannot decode line {number}: not UTF-8 or cp1252 (byte 0x{line[error.start]:02x})",
                    where=where,
                ) from error
            legacy.append(number)
    if not utf8_beyond_ascii:
        return data.decode("cp1252"), "decoded as cp1252 (not valid UTF-8)"
    shown = ", ".join(map(str, legacy[:10])) + (f" and {len(legacy) - 10} more" if len(legacy) > 10 else "")
    return "\n".join(
        decoded
    ), f"mixed encodings: line{'s' if len(legacy) > 1 else ''} {shown} decoded as cp1252, the rest as UTF-8"


def split_front_matter(text: str, where: str) -> tuple[dict[str, str], str]:
    """Split YAML front matter (``---`` ... ``---`` at the very top) from the body.

    Returns the front matter as string attributes (YAML's base loader keeps ``007`` and
    ``yes`` as written; empty values are dropped) and the body without leading blank lines.
    """
    opening = _FENCE.match(text)
    if opening is None:
        return {}, text
    closing = _FENCE_END.search(text, opening.end())
    if closing is None:
        raise ReaderError("front matter opened with '---' is never closed with '---'", where=f"{where}:1")
    try:
        data = yaml.load(text[opening.end() : closing.start()], Loader=yaml.BaseLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 2 if mark is not None else 2
        problem = (getattr(error, "problem", None) or str(error)).split("\n")[0]
        raise ReaderError(f"malformed front matter: {problem}", where=f"{where}:{line}") from error
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ReaderError("front matter must be 'key: value' lines", where=f"{where}:2")
    attributes: dict[str, str] = {}
    for key, value in data.items():
        if not isinstance(value, str):
            raise ReaderError(
                f"front matter '{key}' must be a single value, not a list or mapping", where=f"{where}:2"
            )
        if value.strip():
            attributes[str(key)] = value.strip()
    body = text[closing.end() + 1 :]
    return attributes, body[_BLANK_LINES.match(body).end() :]


def check_zip(data: bytes, member: str, *, what: str, where: str, limit: int | None = None) -> None:
    """Raise ReaderError("not a <what>") unless ``data`` is a ZIP archive holding ``member`` whose
    members unpack to at most ``limit`` bytes in all: a small file that inflates to gigabytes (a
    "zip bomb") is refused before any XML parser sees it. The sizes the archive declares are
    checked first, then the members are unpacked as a stream and counted, so a false declaration
    cannot get past either. ``limit`` defaults to :data:`MAX_INFLATED_BYTES`."""
    limit = MAX_INFLATED_BYTES if limit is None else limit
    if not zipfile.is_zipfile(io.BytesIO(data)):
        kind = sniff_binary(data)
        raise ReaderError(
            f"not {what} (looks like {kind})" if kind else f"not {what} (not a ZIP package)", where=where
        )
    too_big = f"too large: unpacks to more than {limit >> 20} MiB (a damaged or malicious file?)"
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            if member not in package.namelist():
                raise ReaderError(f"not {what} (a ZIP archive without {member})", where=where)
            if sum(info.file_size for info in package.infolist()) > limit:
                raise ReaderError(too_big, where=where)
            unpacked = 0
            for info in package.infolist():
                with package.open(info) as stream:
                    while chunk := stream.read(1 << 20):
                        unpacked += len(chunk)
                        if unpacked > limit:
                            raise ReaderError(too_big, where=where)
    except ReaderError:
        raise
    except (
        zipfile.BadZipFile,
        zlib.error,
        EOFError,
        NotImplementedError,
        RuntimeError,
        OSError,
        ValueError,
    ) as error:  # bad offsets, bad deflate data, a member name that is not UTF-8
        raise ReaderError(f"not {what} (a damaged ZIP archive: {error})", where=where) from error


def new_document(
    path: Path,
    data: bytes,
    *,
    kind: str,
    text: str,
    turns: Iterable[Turn],
    attributes: Mapping[str, str] | None = None,
    warnings: Iterable[str] = (),
) -> Document:
    """Build the Document for ``path``: name, sha256 of the raw bytes, source path."""
    if kind not in KINDS:
        raise ReaderError(
            f"unknown document kind '{kind}' (expected interview or literature)", where=str(path)
        )
    return Document(
        name=path.name,
        kind=kind,  # type: ignore[arg-type]  # checked against KINDS above
        text=text,
        turns=tuple(turns),
        sha256=hashlib.sha256(data).hexdigest(),
        attributes=attributes or {},
        source_path=str(path),
        warnings=tuple(warnings),
    )
