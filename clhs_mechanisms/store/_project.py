"""The :class:`Project`: one class for every interface, assembled from one part per concern."""

from __future__ import annotations

from ._codings import CodingsMixin
from ._documents import DocumentsMixin
from ._edits import EditsMixin
from ._exchange import ExchangeMixin
from ._modifiers import ModifiersMixin
from ._reads import ReadsMixin
from ._suggestions import SuggestionsMixin
from ._team import TeamMixin


class Project(
    DocumentsMixin,
    CodingsMixin,
    ModifiersMixin,
    EditsMixin,
    SuggestionsMixin,
    ReadsMixin,
    ExchangeMixin,
    TeamMixin,
):
    """A coding project: its database and the operations every interface shares.

    Open one with :meth:`open` (or create one with :meth:`init`); use it as a context manager
    or :meth:`close` it. Reads return DataFrames, dicts or records; writes are transactions.
    """
