"""User-facing errors: one line that says what went wrong and where."""

from __future__ import annotations

import re

# Line breaks and other control characters (and Unicode line/paragraph separators) a message may quote
# from a user's file: shown escaped, so a message is always one line and cannot restyle a terminal.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def one_line(text: str) -> str:
    """``text`` with every control character shown as an escape (``\\n``, ``\\x0b``)."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


class ClhsError(Exception):
    """A problem with the user's input (a file, a codebook, a project, an id).

    ``str(error)`` says what and where in the library's words (what the app shows); ``hint``
    names the command or option that helps (``"clhs train"``, ``"--replace"``), which the CLI
    adds to its one-line message before exiting with code 2. Anything else that escapes is a
    bug in the library.
    """

    def __init__(self, message: str, *, where: str | None = None, hint: str | None = None) -> None:
        self.message = message
        self.where = where
        self.hint = hint
        super().__init__(one_line(f"{where}: {message}" if where else message))

    def __reduce__(
        self,
    ):  # keeps ``where`` and ``hint`` when an error crosses from an import's reader process
        return _restore, (type(self), self.message, self.where, self.hint)


def _restore(cls: type[ClhsError], message: str, where: str | None, hint: str | None = None) -> ClhsError:
    return cls(message, where=where, hint=hint)


class CodebookError(ClhsError):
    """The codebook file cannot be parsed or is invalid."""


class ReaderError(ClhsError):
    """A corpus file cannot be read into a Document."""


class StoreError(ClhsError):
    """The project store is missing, locked, corrupted or refuses an operation."""
