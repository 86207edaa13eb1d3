"""Numbers and codes as a reader sees them on a page: pure functions, no Streamlit.

``p_value`` and ``stat`` turn floats into short strings ("< 0.001", "0.612"), with "—" where there
is no number (None, NaN); ``estimate`` adds an interval ("0.612 (0.520–0.700)"); ``code_label``
names a code by its codebook label. Tables keep the raw numbers in the library; pages format them
only when they show them.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any

MISSING = "—"  # shown where there is no number
P_FLOOR = 0.001  # p-values below this are shown as "< 0.001"


def _number(x: Any) -> float | None:
    """``x`` as a float; None for None, NaN, pandas' NA and anything that is not a number."""
    if x is None or isinstance(x, bool):
        return None
    try:
        value = float(x)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(value) else value


def significant(x: float, digits: int = 3) -> str:
    """``x`` to ``digits`` significant digits, trailing zeros kept ("0.500", "12.3"); from 10^digits
    up with thousands separators ("12,300"), below 0.001 in scientific notation ("1.23e-04")."""
    if math.isinf(x):
        return "∞" if x > 0 else "−∞"
    if x == 0:
        return "0"
    rounded = float(f"{x:.{digits - 1}e}")
    magnitude = math.floor(math.log10(abs(rounded)))
    if magnitude >= digits:
        return f"{rounded:,.0f}"
    if magnitude < -3:
        return f"{rounded:.{digits - 1}e}"
    return f"{rounded:.{max(0, digits - 1 - magnitude)}f}"


def stat(x: Any, digits: int = 3) -> str:
    """A statistic (kappa, an odds ratio) to ``digits`` significant digits, a whole number (a count)
    in full ("1,204"); "—" if missing."""
    if isinstance(x, numbers.Integral) and not isinstance(x, bool):
        return f"{int(x):,}"
    value = _number(x)
    return MISSING if value is None else significant(value, digits)


def p_value(x: Any) -> str:
    """A p-value: "< 0.001" below 0.001, else 3 significant digits without trailing zeros ("0.012",
    "0.5"); "—" if missing."""
    value = _number(x)
    if value is None:
        return MISSING
    if value < P_FLOOR:
        return f"< {P_FLOOR}"
    return f"{value:.3g}"


def estimate(value: Any, low: Any = None, high: Any = None, digits: int = 3) -> str:
    """A value with its interval, "0.612 (0.520–0.700)"; the value alone when the interval is missing."""
    shown = stat(value, digits)
    if _number(value) is None or _number(low) is None or _number(high) is None:
        return shown
    return f"{shown} ({stat(low, digits)}–{stat(high, digits)})"


def code_label(codebook: Any, code_id: str) -> str:
    """The label of ``code_id`` in ``codebook`` (a :class:`~clhs_mechanisms.codebook.Codebook` or a
    mapping id -> label); the id itself for a code the codebook does not hold (e.g. "(all codes)")."""
    if isinstance(codebook, Mapping):
        return str(codebook.get(code_id, code_id))
    if code_id in codebook:
        return codebook.code(code_id).label or code_id
    return code_id


def code_labels(codebook: Any) -> dict[str, str]:
    """Code id -> label for every code of ``codebook`` (for a picker's ``format_func`` or a table column)."""
    return {code.id: code.label or code.id for code in codebook}
