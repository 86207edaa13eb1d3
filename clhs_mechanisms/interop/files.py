"""Writing export files safely: a file appears whole at its path, or nothing changes there."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import ClhsError


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def check_target(path: str | Path) -> Path:
    """The regular file to write for ``path``: a symbolic link is followed (the file it points to
    is replaced and the link stays a link); a directory, a missing directory, and anything that is
    not a regular file (a device such as /dev/full, a pipe, a socket) are refused, since replacing
    one with a file would destroy it."""
    target = Path(path)
    if target.is_symlink():
        target = target.resolve()
    if target.is_dir():
        raise ClhsError("is a directory", where=str(path))
    if target.exists() and not target.is_file():
        raise ClhsError(
            "is not a regular file (a device, pipe or socket): refusing to replace it", where=str(path)
        )
    if not target.parent.exists():
        raise ClhsError("no such directory", where=str(target.parent))
    return target


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path``; it replaces ``path`` only if the block succeeds.

    An error or an interruption inside the block leaves an existing ``path`` untouched
    and no partial file behind.
    """
    target = check_target(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    os.close(fd)
    temp = Path(tmp)
    try:
        yield temp
        os.chmod(temp, 0o666 & ~_umask())
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write UTF-8 text (``\\n`` line ends) atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8", newline="\n")


def write_bytes_atomic(path: str | Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
