"""Exchange: REFI-QDA (.qdc/.qdpx) export and import, CSV/Excel tables, codebook documents,
count matrices and training data.

Every writer is atomic (the file appears whole or not at all); every REFI-QDA exchange
returns an :class:`ExchangeReport` of what was carried over, changed and left out.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "ExchangeReport": "report",
    "export_qdc": "refi_export",
    "export_qdpx": "refi_export",
    "codebook_xml": "refi_export",
    "import_qdc": "refi_import",
    "import_qdpx": "refi_import",
    "codings_table": "tables",
    "write_csv": "tables",
    "codings_workbook": "xlsx",
    "write_tables_xlsx": "xlsx",
    "code_by_document": "matrix",
    "code_by_attribute": "matrix",
    "training_examples": "training",
    "write_jsonl": "training",
    "write_docbin": "training",
    "code_tree": "codebook_doc",
    "code_markdown": "codebook_doc",
    "codebook_markdown": "codebook_doc",
    "codebook_html": "codebook_doc",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'clhs_mechanisms.interop' has no attribute '{name}'")
