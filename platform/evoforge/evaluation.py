"""The one evaluation function every executor calls.

It turns anything unexpected in the platform itself (not the candidate, which the
sandbox already contains) into a `crashed` outcome with the reason, so a single bad
evaluation never stops a run, and removes the secrets this process knows from every
outcome, so a candidate that found a key cannot have it stored or quoted to a model.
"""

from __future__ import annotations

import socket
import threading
import traceback
from typing import Any

from evoforge.jobs import EvaluationJob, EvaluationOutcome
from evoforge.plugin_manager import registry
from evoforge.protocols import Sandbox
from evoforge.secret_values import scrub_outcome


class SandboxCache:
    """One sandbox object per backend name, built lazily with the run's options."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        self._built: dict[str, Sandbox] = {}
        self._lock = threading.Lock()
        self._cancelled = False

    def get(self, name: str) -> Sandbox:
        with self._lock:
            if name not in self._built:
                cls = registry().lookup("sandboxes", name)
                self._built[name] = cls(**self.options.get(name, {}))
                if self._cancelled:  # built by an evaluation that began as Ctrl-C came
                    _cancel(self._built[name])
            return self._built[name]

    def cancel_all(self) -> None:
        """Stop what every built sandbox is running, where the sandbox supports it, and
        what any sandbox built from now on would start."""
        with self._lock:
            self._cancelled = True
            built = list(self._built.values())
        for sandbox in built:
            _cancel(sandbox)

    def close(self) -> None:
        """Stop what the sandboxes keep between evaluations (warm servers)."""
        with self._lock:
            built = list(self._built.values())
        for sandbox in built:
            close = getattr(sandbox, "close", None)
            if close is not None:
                close()


def _cancel(sandbox: Sandbox) -> None:
    cancel = getattr(sandbox, "cancel_all", None)
    if cancel is not None:
        cancel()


def evaluate_job(job: EvaluationJob, sandboxes: SandboxCache) -> EvaluationOutcome:
    """Run one job in its sandbox; the outcome holds none of the secrets this process
    knows (evoforge.secret_values), whoever wrote them: the candidate or a traceback."""
    try:
        outcome = sandboxes.get(job.sandbox).run(job)
    except Exception as exc:  # platform fault: record it, keep the run going
        outcome = EvaluationOutcome(
            status="crashed",
            reason=f"sandbox {job.sandbox!r} failed: {type(exc).__name__}: {exc}",
            stderr=traceback.format_exc()[-4000:],
            host=socket.gethostname(),
            sandbox=job.sandbox,
        )
    return scrub_outcome(outcome)
