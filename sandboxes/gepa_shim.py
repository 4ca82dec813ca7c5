"""Lets GEPA evaluators call `oa.log(...)` and take `opt_state` unchanged, gepa or not.

GEPA's `optimize_anything` captures what an evaluator passes to `oa.log` and hands it
to its proposer as side information (under `"log"`). The harness does the same: it
opens a capture around every evaluator call and adds the text to the feedback the
proposer sees. The captured text is only ever feedback, never parsed for a score, so
a candidate that imports this module and logs `score: 100` changes nothing but the
text; and it is capped, so a flood of logging cannot fill the result file.

Without gepa installed, `import gepa.optimize_anything as oa` (or
`gepa.gepa_launcher`) finds stand-in modules here: installed last on
`sys.meta_path`, so a real gepa wins. With a real gepa, the harness opens gepa's own
log context instead (see `LogCapture`).

Loaded in every evaluation: standard library only, and no `typing`, `threading` or
`dataclasses` (each costs milliseconds per evaluation to import).
"""

from __future__ import annotations

import sys
from importlib.machinery import ModuleSpec

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

LOG_CAP_CHARS = 32_000
"""The most `oa.log` text one evaluator call keeps: the first and last halves."""

STAND_IN_MODULES = ("gepa", "gepa.optimize_anything", "gepa.gepa_launcher")


class LogContext:
    """One evaluator call's log: keeps the head and the tail, counts what fell between.

    A plain list append is atomic in CPython, so child threads given this context
    (`set_log_context`) can write to it without a lock.
    """

    def __init__(self, cap: int = LOG_CAP_CHARS) -> None:
        self.half = cap // 2
        self._empty()

    def _empty(self) -> None:
        self.head: list[str] = []
        self.head_chars = 0
        self.tail: list[str] = []
        self.tail_chars = 0
        self.dropped = 0

    def write(self, text: str) -> None:
        room = self.half - self.head_chars
        if room > 0:
            self.head.append(text[:room])
            self.head_chars += min(room, len(text))
            text = text[room:]
        if not text:
            return
        self.tail.append(text)
        self.tail_chars += len(text)
        if self.tail_chars > 2 * self.half:  # trim now and then, so memory stays bounded
            kept = "".join(self.tail)[-self.half :]
            self.dropped += self.tail_chars - len(kept)
            self.tail, self.tail_chars = [kept], len(kept)

    def drain(self) -> str:
        """All text kept so far (with a note of what was dropped); the context empties."""
        tail = "".join(self.tail)
        dropped = self.dropped + max(0, len(tail) - self.half)
        tail = tail[-self.half :] if self.half else ""
        note = f"\n[... {dropped} characters of oa.log output dropped ...]\n" if dropped else ""
        text = "".join(self.head) + note + tail
        self._empty()
        return text


_current: LogContext | None = None


def get_log_context() -> LogContext:
    """The running evaluator call's context, to hand to threads it starts (as GEPA)."""
    if _current is None:
        raise RuntimeError("get_log_context() must be called inside an evaluator")
    return _current


def set_log_context(context: LogContext | None) -> None:
    """Route this process's `log` calls to `context` (GEPA calls this in child threads)."""
    global _current
    _current = context


def log(*args: Any, sep: str = " ", end: str = "\n") -> None:
    """Like `print`, but into the side information the proposer sees (GEPA's `oa.log`)."""
    if _current is not None:
        _current.write(sep.join(str(arg) for arg in args) + end)


class OptimizationState:
    """What GEPA injects as `opt_state`: the best earlier evaluations of this example.

    evoforge evaluates each candidate on its own, so that the same files always get
    the same score (duplicates are skipped and resumed runs replay safely): the
    sandbox is given no run history, and `best_example_evals` is empty.
    """

    def __init__(self, best_example_evals: list[dict[str, Any]] | None = None) -> None:
        self.best_example_evals = list(best_example_evals or [])

    def __repr__(self) -> str:
        return f"OptimizationState(best_example_evals={self.best_example_evals!r})"


class LogCapture:
    """Opens a log context around one evaluator call and returns what was logged.

    With a real gepa imported (by the evaluator), its own context is opened too, since
    the evaluator's `oa.log` then writes there.
    """

    def __init__(self) -> None:
        self.context = LogContext()
        self.real: Any = None

    def __enter__(self) -> LogCapture:
        set_log_context(self.context)
        launcher = sys.modules.get("gepa.gepa_launcher")
        spec = getattr(launcher, "__spec__", None)
        if spec is not None and not isinstance(spec.loader, _StandInFinder):
            self.real = launcher.LogContext()
            launcher.set_log_context(self.real)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.real is not None:
            sys.modules["gepa.gepa_launcher"].set_log_context(None)
            self.context.write(self.real.drain())
        set_log_context(None)

    def text(self) -> str:
        return self.context.drain()


class ScriptStopped(BaseException):
    """Raised by evoforge.gepa's `optimize_anything` inside a sandbox.

    The sandbox imports the user's script to find its evaluator; the script's own
    `optimize_anything(...)` call must not start another run there, so the import
    stops at that line, with every function defined above it already in place.
    """


_in_sandbox = False


def in_sandbox() -> bool:
    """Whether this process is the harness running an evaluation."""
    return _in_sandbox


def _stand_in_optimize_anything(*args: Any, **kwargs: Any) -> Any:
    raise ScriptStopped


class _StandInFinder:
    """Last on `sys.meta_path`: answers `import gepa...` only when gepa is not installed."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname not in STAND_IN_MODULES:
            return None
        return ModuleSpec(fullname, self, is_package=fullname == "gepa")

    def create_module(self, spec: Any) -> Any:
        return None

    def exec_module(self, module: Any) -> None:
        if module.__name__ == "gepa":
            module.__path__ = []
            return
        module.log = log
        module.LogContext = LogContext
        module.get_log_context = get_log_context
        module.set_log_context = set_log_context
        module.OptimizationState = OptimizationState
        module.optimize_anything = _stand_in_optimize_anything


def install_gepa_shim() -> None:
    """Make `import gepa.optimize_anything as oa` work in the sandbox, gepa or not."""
    global _in_sandbox
    _in_sandbox = True
    sys.meta_path.append(_StandInFinder())
