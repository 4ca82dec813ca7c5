"""Watching the candidate while it runs: what the source check cannot see.

A candidate can reach PyTorch through a tensor method (`x.softmax(-1)`), patch the
timer through an alias, or start a thread; none of that is visible in the text for
certain. So every call of the candidate's `forward` during the correctness trials
runs under three watchers:

* `OpRecorder`, a `TorchDispatchMode`, sees every PyTorch operator and attributes it
  to the first Python frame outside PyTorch. Operators that Triton itself runs (the
  interpreter copies tensors) are Triton's business; any other compute, whether from
  the candidate's file, a module it reached, or the reference, is recorded.
* `LaunchCounter` wraps Triton's launch entry points, so "a kernel must be launched"
  is checked on what happened, and each compiled kernel's registers, spills and
  shared memory can be read back for the proposer.
* `Snapshot` remembers, before the candidate is imported, every attribute of the
  modules the evaluator relies on (timers, synchronize, events, comparisons) and
  names any that changed.
"""

from __future__ import annotations

import os
import sys
import threading
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode

ALLOWED_OPS = frozenset(
    {
        # allocation, and filling a buffer with a constant (atomics need zeros)
        "empty",
        "empty_like",
        "empty_strided",
        "new_empty",
        "new_empty_strided",
        "zeros",
        "zeros_like",
        "full",
        "full_like",
        "fill_",
        "zero_",
        # views: no data moves
        "view",
        "_unsafe_view",
        "as_strided",
        "t",
        "transpose",
        "permute",
        "expand",
        "unsqueeze",
        "squeeze",
        "slice",
        "select",
        "alias",
        "detach",
        "lift_fresh",
    }
)

_TORCH_DIR = os.path.dirname(torch.__file__) + os.sep


def _package_dir(name: str) -> str | None:
    module = sys.modules.get(name)
    path = getattr(module, "__file__", None)
    return os.path.dirname(path) + os.sep if path else None


class KernelRejected(Exception):
    """The candidate broke a rule: `reason` is the one line stored, `feedback` the detail."""

    def __init__(self, reason: str, feedback: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.feedback = feedback or reason


@dataclass
class RecordedOp:
    op: str
    where: str


class OpRecorder(TorchDispatchMode):
    """Records PyTorch operators that someone other than PyTorch or Triton asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.compute: list[RecordedOp] = []
        self._triton_dir = _package_dir("triton")

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        name = func.overloadpacket.__name__
        if name not in ALLOWED_OPS:
            caller = self._caller()
            if caller is not None:
                self.compute.append(RecordedOp(f"aten.{name}", caller))
        return func(*args, **(kwargs or {}))

    def _caller(self) -> str | None:
        """Where the operator was asked for, or None when Triton's own code asked."""
        frame: types.FrameType | None = sys._getframe(2)
        while frame is not None and frame.f_code.co_filename.startswith(_TORCH_DIR):
            frame = frame.f_back
        if frame is None:
            return None
        filename = frame.f_code.co_filename
        if self._triton_dir and filename.startswith(self._triton_dir):
            return None
        return f"{os.path.basename(filename)} line {frame.f_lineno}"


@dataclass
class LaunchCounter:
    """Counts Triton launches and keeps the compiled kernels they return.

    Triton's launch entry points are wrapped once per process; the wrapper reports to
    whichever counter was installed last (one evaluation per sandbox process, several
    in a test process).
    """

    launches: int = 0
    compiled: dict[str, Any] = field(default_factory=dict)

    def install(self) -> None:
        global _active
        _active = self
        if _wrapped:
            return
        from triton.runtime.jit import JITFunction

        classes: list[type] = [JITFunction]
        try:
            from triton.runtime.interpreter import InterpretedFunction

            classes.append(InterpretedFunction)
        except ImportError:  # pragma: no cover - every Triton 3 has the interpreter
            pass
        for cls in classes:
            cls.run = _counting(cls.run)  # type: ignore[method-assign]
            _wrapped.append(cls)

    def record(self, kernel: Any, result: Any) -> None:
        self.launches += 1
        if result is not None:
            name = getattr(getattr(kernel, "fn", None), "__name__", "kernel")
            self.compiled[name] = result


_active: LaunchCounter | None = None
_wrapped: list[type] = []


def _counting(original: Callable[..., Any]) -> Callable[..., Any]:
    def run(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = original(self, *args, **kwargs)
        if _active is not None and not kwargs.get("warmup"):
            _active.record(self, result)
        return result

    return run


class Snapshot:
    """The attributes of the modules and classes the evaluator trusts, as first seen."""

    def __init__(self, objects: dict[str, Any]) -> None:
        self._objects = objects
        self._originals = {
            label: {name: value for name, value in vars(obj).items() if _tracked(value)}
            for label, obj in objects.items()
        }
        self._seen = {
            label: {name: id(value) for name, value in found.items()}
            for label, found in self._originals.items()
        }

    def changed(self) -> list[str]:
        """Attributes replaced or removed since the snapshot (added ones are lazy imports)."""
        found = []
        for label, obj in self._objects.items():
            now = vars(obj)
            for name, ident in self._seen[label].items():
                if name not in now or id(now[name]) != ident:
                    found.append(f"{label}.{name}")
        return found

    def original(self, label: str, name: str) -> Any:
        return self._originals[label][name]


def _tracked(value: Any) -> bool:
    """Functions, classes and modules: what a patch replaces. Plain data is left out,
    because the libraries change their own flags (`torch.cuda._initialized`) as they run."""
    return callable(value) or isinstance(value, types.ModuleType)


def trusted_objects() -> dict[str, Any]:
    """What timing and comparison rely on: patching any of it could fake a result."""
    import time

    objects: dict[str, Any] = {"time": time, "torch": torch, "torch.Tensor": torch.Tensor}
    objects["torch.testing"] = torch.testing
    if torch.cuda.is_available():
        objects["torch.cuda"] = torch.cuda
        objects["torch.cuda.Event"] = torch.cuda.Event
    try:
        import triton.testing

        objects["triton.testing"] = triton.testing
    except ImportError:  # pragma: no cover
        pass
    return objects


@contextmanager
def watching(counter: LaunchCounter, snapshot: Snapshot) -> Iterator[OpRecorder]:
    """Run one candidate call under every watcher; raise `KernelRejected` on a breach."""
    threads_before = set(threading.enumerate())
    launches_before = counter.launches
    recorder = OpRecorder()
    with recorder:
        yield recorder
    patched = snapshot.changed()
    if patched:
        raise KernelRejected(
            f"the candidate replaced {', '.join(patched[:3])}: patching timers, "
            "synchronization or comparisons is not allowed"
        )
    if recorder.compute:
        first = recorder.compute[0]
        ops = sorted({r.op for r in recorder.compute})
        raise KernelRejected(
            f"forward() ran PyTorch compute ({first.op} from {first.where}): the arithmetic "
            "must be done by Triton kernels; host code may only allocate and make views",
            "PyTorch operators run on the forward path: "
            + ", ".join(ops)
            + "\n"
            + "\n".join(f"  {r.op} from {r.where}" for r in recorder.compute[:10]),
        )
    if counter.launches == launches_before:
        raise KernelRejected(
            "forward() launched no @triton.jit kernel: it must compute its output with one"
        )
    started = [t for t in threading.enumerate() if t not in threads_before and t.is_alive()]
    if started:
        raise KernelRejected(
            f"forward() left {len(started)} thread(s) running ({started[0].name}): "
            "work must happen on the caller's thread and stream"
        )
