"""clhs-mechanisms: test the mechanisms of Collaborative Learning Health Systems in qualitative data.

The library API, stage by stage (data flows one way)::

    codebook -> corpus (readers) -> segment -> store -> suggest -> review -> analysis / interop

Names are imported lazily, so ``import clhs_mechanisms`` (and the CLI's start) stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "Code": "codebook",
    "Codebook": "codebook",
    "Domain": "codebook",
    "Hypothesis": "codebook",
    "lint_codebook": "codebook_lint",
    "load_codebook": "codebook",
    "parse_codebook": "codebook",
    "Document": "corpus",
    "Turn": "corpus",
    "read_document": "corpus",
    "iter_documents": "corpus",
    "ClhsError": "errors",
    "CodebookError": "errors",
    "ReaderError": "errors",
    "StoreError": "errors",
    "import_paths": "ingest",
    "Segment": "segment",
    "Segmenter": "segment",
    "Project": "store",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'clhs_mechanisms' has no attribute '{name}'")
