"""User-facing errors: one line that says what went wrong and where."""

from __future__ import annotations


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
        super().__init__(f"{where}: {message}" if where else message)

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
