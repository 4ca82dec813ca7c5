"""Importing a candidate program inside the sandbox, shared by the built-in tasks.

Standard library only: it loads in every evaluation.
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
