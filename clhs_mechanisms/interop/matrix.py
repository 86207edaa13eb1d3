"""Count matrices: codes by document and codes by attribute value.

The tables NVivo's matrix coding query or MAXQDA's code matrix browser give: one row
per code (in codebook order, every code even when it has no codings), one column per
document or per value of a document attribute, and counts in the cells. Pure
functions of the codings table, so they work the same from the CLI and a notebook.
"""

from __future__ import annotations

import pandas as pd

from ..codebook import Codebook
from ..errors import ClhsError
from ..store import Project

COUNTS = ("codings", "segments", "documents")
MISSING = "(missing)"


def _row_order(codebook: Codebook, codings: pd.DataFrame) -> list[str]:
    order = [c.id for d in codebook.domains for c in codebook.codes_in(d.id)]
    return order + sorted(set(codings["code"]) - set(order))


def _count(codings: pd.DataFrame, column: str, count: str) -> pd.Series:
    if count not in COUNTS:
        raise ClhsError(f"unknown count '{count}' (use one of: {', '.join(COUNTS)})")
    if codings.empty:
        return pd.Series(dtype="int64")
    if count == "segments":  # distinct coded spans: two coders on one span count once
        codings = codings.drop_duplicates(list(dict.fromkeys(["code", column, "document", "start", "end"])))
    elif count == "documents":
        codings = codings.drop_duplicates(list(dict.fromkeys(["code", column, "document"])))
    return codings.groupby(["code", column], sort=False).size()


def _matrix(
    codebook: Codebook, codings: pd.DataFrame, column: str, columns: list[str], count: str
) -> pd.DataFrame:
    counts = _count(codings, column, count)
    table = counts.unstack(fill_value=0) if len(counts) else pd.DataFrame()
    table = (
        table.reindex(index=_row_order(codebook, codings), columns=columns, fill_value=0)
        .fillna(0)
        .astype(int)
    )
    table.index.name = "code"
    table.columns.name = column
    return table


def code_by_document(project: Project, *, count: str = "codings", coder: str | None = None) -> pd.DataFrame:
    """Codes (rows) by documents (columns); every document is a column, even without codings.

    ``count``: ``codings`` (coding references), ``segments`` (distinct coded spans) or
    ``documents`` (1 if the document has the code). ``coder`` keeps one coder's codings.
    """
    codings = _filtered(project, coder)
    documents = list(project.documents()["name"])
    return _matrix(project.codebook, codings, "document", documents, count)


def code_by_attribute(
    project: Project, attribute: str, *, count: str = "codings", coder: str | None = None
) -> pd.DataFrame:
    """Codes (rows) by the values of a document attribute (columns), e.g. ``role`` or ``site``.

    Documents without the attribute fall in a ``(missing)`` column. ``count`` as in
    :func:`code_by_document`; ``documents`` counts the documents with that value that
    carry the code.
    """
    docs = project.documents()
    values = [a.get(attribute) for a in docs["attributes"]]
    if docs.empty or all(v is None for v in values):
        known = sorted({k for a in docs["attributes"] for k in a})
        raise ClhsError(
            f"no document has the attribute '{attribute}'"
            + (f" (known: {', '.join(known)})" if known else " (the project has no attributes)")
        )
    value_of = {name: (v if v not in (None, "") else MISSING) for name, v in zip(docs["name"], values)}
    codings = _filtered(project, coder).copy()
    codings[attribute] = [value_of.get(d, MISSING) for d in codings["document"]]
    columns = sorted(set(value_of.values()) - {MISSING}) + ([MISSING] if MISSING in value_of.values() else [])
    return _matrix(project.codebook, codings, attribute, columns, count)


def _filtered(project: Project, coder: str | None) -> pd.DataFrame:
    codings = project.codings()
    if coder is not None:
        if coder not in set(project.coders()["name"]):
            raise ClhsError(f"no coder '{coder}' in the project")
        codings = codings[codings["coder"] == coder]
    return codings
