"""Import a policy file and find its `decide` function.

Shared by the evaluator and by `baselines.py`, which must score the shipped baselines
exactly as the evaluator scores a candidate.
"""

from __future__ import annotations

import importlib.util
import uuid
from pathlib import Path
from typing import Any

from evoforge.evaluators.spot_scheduling.simulator import Policy


class MissingPolicy(Exception):
    """The program imports but defines no callable `decide`."""


def load_program(program_path: str | Path) -> Any:
    """Import the file under a fresh module name, so no stale module is ever reused."""
    path = Path(program_path)
    spec = importlib.util.spec_from_file_location(
        f"spot_scheduling_candidate_{uuid.uuid4().hex}", path
    )
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import the policy program from {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_policy(program_path: str | Path) -> Policy:
    decide = getattr(load_program(program_path), "decide", None)
    if not callable(decide):
        raise MissingPolicy("the program defines no decide(state) function")
    return decide
