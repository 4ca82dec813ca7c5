"""Importing a program into this process: for the tasks' own, trusted code.

The built-in tasks import their baselines with it (to score them, or to build the
stored tables). A candidate is never imported this way: it runs in a process of its
own (`evoforge.candidate_process`), so nothing it patches can reach the score.

Standard library only: it may load in an evaluation.
"""

from __future__ import annotations

import importlib.util
import uuid
from pathlib import Path
from typing import Any


def load_program(program_path: str | Path) -> Any:
    """Import the candidate from its file under a fresh module name, so a module
    imported earlier in this process is never reused in its place."""
    path = Path(program_path)
    spec = importlib.util.spec_from_file_location(f"candidate_{uuid.uuid4().hex}", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import the candidate program from {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
