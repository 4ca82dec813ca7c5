"""The one evaluation function every executor calls.

It turns anything unexpected in the platform itself (not the candidate, which the
sandbox already contains) into a `crashed` outcome with the reason, so a single bad
evaluation never stops a run.
"""

from __future__ import annotations

import socket
import threading
import traceback
from typing import Any

from evoforge.jobs import EvaluationJob, EvaluationOutcome
from evoforge.plugin_manager import registry
from evoforge.protocols import Sandbox


class SandboxCache:
    """One sandbox object per backend name, built lazily with the run's options."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        self._built: dict[str, Sandbox] = {}
        self._lock = threading.Lock()

    def get(self, name: str) -> Sandbox:
        with self._lock:
            if name not in self._built:
                cls = registry().lookup("sandboxes", name)
                self._built[name] = cls(**self.options.get(name, {}))
            return self._built[name]

    def cancel_all(self) -> None:
        """Stop what every built sandbox is running, where the sandbox supports it."""
        with self._lock:
            built = list(self._built.values())
        for sandbox in built:
            cancel = getattr(sandbox, "cancel_all", None)
            if cancel is not None:
                cancel()


def evaluate_job(job: EvaluationJob, sandboxes: SandboxCache) -> EvaluationOutcome:
    try:
        return sandboxes.get(job.sandbox).run(job)
    except Exception as exc:  # platform fault: record it, keep the run going
        return EvaluationOutcome(
            status="crashed",
            reason=f"sandbox {job.sandbox!r} failed: {type(exc).__name__}: {exc}",
            stderr=traceback.format_exc()[-4000:],
            host=socket.gethostname(),
            sandbox=job.sandbox,
        )
