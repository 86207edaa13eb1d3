"""One line of a JSON Lines file as a JSON object, or a one-line error that says where and why.

Shared by every JSON Lines reader (gold data for training and evaluation, coded segments to import),
so that all refuse the same things the same way: bad JSON, nesting deep enough to exhaust Python's
stack, a number too long to convert, a line that is not an object.
"""

from __future__ import annotations

import json
from typing import Any

from .errors import ClhsError


def json_object(line: str, where: str) -> dict[str, Any]:
    """Parse ``line`` as a JSON object; ClhsError (naming ``where``) for anything else."""
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ClhsError(f"bad JSON: {exc.msg} (column {exc.colno})", where=where) from None
    except RecursionError:
        raise ClhsError("bad JSON: nested too deeply", where=where) from None
    except ValueError as exc:  # e.g. an integer of thousands of digits
        raise ClhsError(f"bad JSON: {exc}", where=where) from None
    if not isinstance(obj, dict):
        raise ClhsError("each line must be a JSON object", where=where)
    return obj
