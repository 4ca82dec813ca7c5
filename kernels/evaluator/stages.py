"""The kernel evaluator's cascade, as the task's stage and `evaluate` functions.

1. `compile_stage`: read the source (static rules), import it, and run `forward`
   once on small inputs under the guards, so a compile error or a forbidden trick
   costs seconds, not a full evaluation. Its feedback carries the compiler's message
   and, on a GPU, each kernel's registers, spills and shared memory.
2. `evaluate`: the correctness trials (`correctness.py`), then, for the speedup
   objective on a GPU, timing against PyTorch eager and `torch.compile`
   (`speed.py`, `timing.py`), with the roofline figures.
"""

from __future__ import annotations

import time
import traceback
from pathlib import Path
from typing import Any

from evoforge.kernels.evaluator.session import NO_TIMING_NOTE, Session, session_for
from evoforge.result import EvaluationResult

TRACEBACK_CHARS = 3000


def compile_stage(program_path: str) -> EvaluationResult:
    """Static rules, import and a first guarded run: the cheap half of the cascade."""
    from evoforge.kernels.evaluator.guards import KernelRejected
    from evoforge.kernels.evaluator.static_checks import check_source

    current = session_for(program_path)
    violations = check_source(Path(program_path).read_text("utf-8"), Path(program_path).name)
    if violations:
        listed = "\n".join(str(v) for v in violations)
        return _invalid(f"{Path(program_path).name} {violations[0]}", listed)
    from evoforge.kernels.evaluator.session import import_candidate

    started = time.perf_counter()
    try:
        current.module = import_candidate(program_path)
        forward = getattr(current.module, "forward", None)
        if not callable(forward):
            return _invalid("the candidate defines no forward() function")
        _first_run(current, forward)
    except KernelRejected as exc:
        return _invalid(exc.reason, exc.feedback)
    except Exception as exc:  # the candidate's own error: the compiler's message
        detail = "".join(traceback.format_exception(exc))[-TRACEBACK_CHARS:]
        kind = "compile error" if _is_compile_error(exc) else "the first run failed"
        message = str(exc).strip().splitlines()
        return _invalid(f"{kind}: {type(exc).__name__}: {message[0] if message else ''}", detail)
    from evoforge.kernels.evaluator.hardware import compiled_resources

    resources = compiled_resources(current.counter.compiled) if current.timed else {}
    metrics: dict[str, Any] = {"compile_s": round(time.perf_counter() - started, 4)}
    for name, entry in resources.items():
        for key, value in entry.items():
            metrics[f"{key}.{name}"] = value
    feedback = _resources_text(resources) if resources else ""
    return EvaluationResult(score=1.0, metrics=metrics, feedback=feedback)


def evaluate(program_path: str) -> EvaluationResult:
    """Correctness over fresh random trials, then (speedup objective) timing."""
    from evoforge.kernels.evaluator.correctness import TrialPlan, check_correctness
    from evoforge.kernels.evaluator.guards import KernelRejected

    current = session_for(program_path)
    if current.module is None:  # run without the compile stage (tests, scripts)
        stage = compile_stage(program_path)
        if not stage.valid:
            return stage
    forward = current.module.forward
    spec = current.spec
    if current.timed:
        plans = [TrialPlan(spec.gpu_shape, spec.gpu_dtype)] * (current.trials - 2) + [
            TrialPlan(spec.cpu_shape, spec.gpu_dtype)
        ] * 2
    else:
        plans = [TrialPlan(spec.cpu_shape, spec.cpu_dtype)] * current.trials
    try:
        report = check_correctness(
            spec, forward, plans, current.device, current.counter, current.snapshot
        )
    except KernelRejected as exc:
        return _invalid(exc.reason, exc.feedback)
    metrics: dict[str, Any] = {
        "correct": 1.0,
        "trials": report.trials,
        "max_abs_error": report.max_abs_error,
        "timed": 1.0 if current.timed else 0.0,
    }
    summary = f"correct on {report.trials} random trials (max abs error {report.max_abs_error:.3g})"
    if not current.timed:
        return EvaluationResult(score=1.0, metrics=metrics, feedback=f"{summary}\n{NO_TIMING_NOTE}")
    import torch

    from evoforge.kernels.evaluator.speed import measure_speed
    from evoforge.kernels.evaluator.timing import CudaStopwatch

    watch = CudaStopwatch(
        current.snapshot.original("torch.cuda", "Event"),
        current.snapshot.original("torch.cuda", "synchronize"),
    )
    try:
        timed = measure_speed(current, forward, watch, torch.cuda.get_device_name())
    except KernelRejected as exc:
        return _invalid(exc.reason, exc.feedback)
    metrics.update(timed.metrics)
    return EvaluationResult(
        score=timed.metrics["speedup"],
        metrics=metrics,
        feedback="\n".join([summary, *timed.lines]),
    )


def _first_run(current: Session, forward: Any) -> None:
    """One guarded call on small inputs: compiles every kernel `forward` launches."""
    import torch

    from evoforge.kernels.evaluator.guards import watching

    spec = current.spec
    dtype = spec.gpu_dtype if current.timed else spec.cpu_dtype
    generator = torch.Generator().manual_seed(0)
    inputs = spec.make_inputs(spec.cpu_shape, getattr(torch, dtype), current.device, generator)
    with watching(current.counter, current.snapshot):
        forward(*inputs)
    if current.timed:
        torch.cuda.synchronize()


def _is_compile_error(exc: BaseException) -> bool:
    module = type(exc).__module__ or ""
    return module.startswith("triton.compiler") or type(exc).__name__ == "CompilationError"


def _resources_text(resources: dict[str, dict[str, int]]) -> str:
    parts = []
    for name, entry in resources.items():
        shown = ", ".join(f"{key} {value}" for key, value in entry.items())
        parts.append(f"{name}: {shown}")
    return "compiled kernels: " + "; ".join(parts)


def _invalid(reason: str, feedback: str = "") -> EvaluationResult:
    return EvaluationResult(score=None, valid=False, reason=reason, feedback=feedback or reason)
