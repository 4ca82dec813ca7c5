"""One evaluation's setup, shared by the cascade's stages in the sandbox process.

The order matters and is the reason this module exists: the mode is read and
`TRITON_INTERPRET` set before Triton is imported (the interpreter is chosen when a
kernel is decorated); the trusted modules are snapshotted and Triton's launches
wrapped before the candidate is imported, so nothing the candidate does at import
time goes unseen.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MODE_ENV = "EVOFORGE_KERNEL_MODE"
"""`speed` (correctness on the GPU, then timing) or `correctness` (no timing)."""
TASK_ENV = "EVOFORGE_KERNEL_TASK"
"""The module that defines the task's `SPEC`, e.g. `evoforge.kernels.tasks.softmax`."""
TRIALS_ENV = "EVOFORGE_KERNEL_TRIALS"
DEFAULT_TRIALS = 5

NO_TIMING_NOTE = (
    "no GPU: correctness only, checked under the Triton interpreter on the CPU "
    "(TRITON_INTERPRET=1); no timing was measured"
)


class SetupError(RuntimeError):
    """The evaluation cannot run here at all (not the candidate's fault)."""


@dataclass
class Session:
    mode: str
    spec: Any
    device: Any
    trials: int
    counter: Any
    snapshot: Any
    module: Any = None

    @property
    def timed(self) -> bool:
        return self.mode == "speed"


_sessions: dict[str, Session] = {}


def session_for(program_path: str) -> Session:
    """The session for this candidate, created by the first stage that asks."""
    if program_path not in _sessions:
        _sessions[program_path] = _start(program_path)
    return _sessions[program_path]


def _start(program_path: str) -> Session:
    mode = os.environ.get(MODE_ENV, "correctness")
    if mode not in ("speed", "correctness"):
        raise SetupError(f"{MODE_ENV}={mode!r}: use speed or correctness")
    module_name = os.environ.get(TASK_ENV)
    if not module_name:
        raise SetupError(f"{TASK_ENV} is not set: the task must name its kernel spec module")
    if mode == "correctness":
        os.environ.setdefault("TRITON_INTERPRET", "1")
    import torch

    if mode == "speed":
        if os.environ.get("TRITON_INTERPRET") == "1" or not torch.cuda.is_available():
            raise SetupError(
                "the speedup objective times kernels on a GPU, and this sandbox sees none; "
                "use --objective correctness, or run on a machine (or worker) with a GPU"
            )
        device = torch.device("cuda")
        torch.cuda.init()  # lazy initialisation changes torch.cuda: done before the snapshot
    else:
        device = torch.device("cpu")
    spec = importlib.import_module(module_name).SPEC
    # Entering a dispatch mode (the guards do) imports torch._dynamo, which wraps
    # torch.manual_seed and friends: import it first so the snapshot sees the wrapped ones.
    importlib.import_module("torch._dynamo")
    importlib.import_module("triton")
    from evoforge.kernels.evaluator.guards import LaunchCounter, Snapshot, trusted_objects

    snapshot = Snapshot(trusted_objects())
    counter = LaunchCounter()
    counter.install()
    trials = int(os.environ.get(TRIALS_ENV, DEFAULT_TRIALS))
    return Session(mode, spec, device, trials, counter, snapshot)


def import_candidate(program_path: str) -> Any:
    """Import the candidate under a fresh name, so no earlier import is reused."""
    path = Path(program_path)
    spec = importlib.util.spec_from_file_location(f"kernel_candidate_{uuid.uuid4().hex}", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import the candidate from {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
