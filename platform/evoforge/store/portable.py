"""Values every supported database accepts, made so at the boundary.

Evaluator output is untrusted text and numbers: PostgreSQL rejects NUL in text and
NaN in JSON, and SQLite would silently write JSON no reader accepts. Cleaning once,
on the way in, keeps the rest of the store backend-agnostic.
"""

from __future__ import annotations

import math
from typing import Any


def finite(value: float | None) -> float | None:
    """A float, or None for missing, NaN and infinite values."""
    if value is None or not math.isfinite(value):
        return None
    return float(value)


def json_safe(value: Any) -> Any:
    """Non-finite floats become null, keys become strings, tuples become lists."""
    if isinstance(value, float):
        return finite(value)
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def text(value: str) -> str:
    """Text without NUL characters (a crashing candidate's output may hold them)."""
    return value.replace("\x00", "\ufffd") if "\x00" in value else value
