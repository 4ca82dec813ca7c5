"""evoforge: evolve text artifacts with proposers, sandboxed evaluators and SQL lineage.

This module stays import-light on purpose: the in-sandbox harness imports parts of
the package in every evaluation, so heavy dependencies load only where used.
"""

from __future__ import annotations

# Not `typing`: importing it costs every sandbox process milliseconds (see harness.py).
TYPE_CHECKING = False

__version__ = "0.1.0"

if TYPE_CHECKING:
    from typing import Any

    from evoforge.api import RunOutcome, run_task

__all__ = ["RunOutcome", "__version__", "run_task"]


def __getattr__(name: str) -> Any:
    if name in ("run_task", "RunOutcome"):
        from evoforge import api

        return getattr(api, name)
    raise AttributeError(f"module 'evoforge' has no attribute {name!r}")
