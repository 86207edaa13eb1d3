"""The ``clhs`` command line: a thin shell over the library.

Every user error (bad file, bad codebook, unknown code, missing project) prints one
line ``error: ...`` on stderr and exits with code 2; never a traceback. Commands live in
one module per area; importing them registers them on ``main``.
"""

from __future__ import annotations

from . import agreement, analysis, app, assist, interop, mechanisms, project, review, team  # noqa: F401  (registers commands)
from .common import main

__all__ = ["main"]
