"""The kernel evaluator's cascade, as the task's stage and `evaluate` functions.

1. `compile_stage`: read the source (static rules), import it, and run `forward`
   once on small inputs under the guards, so a compile error or a forbidden trick
   costs seconds, not a full evaluation. Its feedback carries the compiler's message
   and, on a GPU, each kernel's registers, spills and shared memory.
2. `evaluate`: the correctness trials (`correctness.py`), then, for the speedup
   objective on a GPU, timing against PyTorch eager and `torch.compile`
   (`timing.py`), with the roofline figures. A speedup over `SUSPICIOUS_SPEEDUP` is
   re-verified on fresh inputs and flagged, because a result that good is more
   often a hole in the harness than a breakthrough.
"""

from __future__ import annotations

import time
import traceback
from pathlib import Path
from typing import Any

from evoforge.kernels.evaluator.session import NO_TIMING_NOTE, Session, session_for
from evoforge.result import EvaluationResult

SUSPICIOUS_SPEEDUP = 10.0
REVERIFY_TRIALS = 3
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
    try:
        timed = _time_on_gpu(current, forward)
    except KernelRejected as exc:
        return _invalid(exc.reason, exc.feedback)
    metrics.update(timed.metrics)
    return EvaluationResult(
        score=timed.metrics["speedup"],
        metrics=metrics,
        feedback="\n".join([summary, *timed.lines]),
    )


class _Timed:
    def __init__(self, metrics: dict[str, Any], lines: list[str]) -> None:
        self.metrics = metrics
        self.lines = lines


def _time_on_gpu(current: Session, forward: Any) -> _Timed:
    """Time candidate, eager and compiled reference on the same fresh inputs."""
    import torch

    from evoforge.kernels.evaluator.correctness import TrialPlan, check_correctness
    from evoforge.kernels.evaluator.guards import KernelRejected
    from evoforge.kernels.evaluator.hardware import peak_for, roofline_metrics
    from evoforge.kernels.evaluator.timing import CudaStopwatch, measure, speedup

    spec = current.spec
    watch = CudaStopwatch(
        current.snapshot.original("torch.cuda", "Event"),
        current.snapshot.original("torch.cuda", "synchronize"),
    )
    dtype = getattr(torch, spec.gpu_dtype)
    generator = torch.Generator().manual_seed(int(time.time_ns() % (1 << 31)))
    inputs = spec.make_inputs(spec.gpu_shape, dtype, current.device, generator)
    launches = current.counter.launches
    candidate = measure(lambda: forward(*inputs), watch)
    if current.counter.launches - launches < candidate.reps:
        raise KernelRejected(
            "forward() skipped launching its kernel on some timed calls: every call must "
            "compute its output"
        )
    eager = measure(lambda: spec.reference(*inputs), watch)
    lines: list[str] = []
    compiled_timing = None
    try:
        compiled = torch.compile(spec.reference)
        compiled(*inputs)
        compiled_timing = measure(lambda: compiled(*inputs), watch)
    except Exception as exc:  # a baseline that cannot compile is reported, not fatal
        lines.append(f"torch.compile baseline failed: {type(exc).__name__}: {exc}"[:300])
    over_eager = speedup(eager, candidate)
    over_compile = speedup(compiled_timing, candidate)
    metrics: dict[str, Any] = {
        "speedup": over_eager,
        "candidate_ms": candidate.median_ms,
        "eager_ms": eager.median_ms,
        "timing_spread": candidate.spread,
        "timing_reps": candidate.reps,
    }
    if compiled_timing is not None:
        metrics["compile_ms"] = compiled_timing.median_ms
        metrics["speedup_compile"] = over_compile
    bytes_moved, flops = spec.roofline(spec.gpu_shape, dtype.itemsize)
    device_name = torch.cuda.get_device_name()
    metrics.update(
        roofline_metrics(
            bytes_moved, flops, candidate.median_ms, spec.gpu_dtype, peak_for(device_name)
        )
    )
    lines.append(
        f"on {device_name}, shape {spec.gpu_shape} {spec.gpu_dtype}: candidate "
        f"{candidate.median_ms:.4f} ms (median of {candidate.reps}, L2 flushed), eager "
        f"{eager.median_ms:.4f} ms -> {over_eager:.3f}x"
        + (
            f"; torch.compile {compiled_timing.median_ms:.4f} ms -> {over_compile:.3f}x"
            if compiled_timing is not None and over_compile is not None
            else ""
        )
    )
    lines.append(
        f"achieved {metrics['achieved_gbps']:.1f} GB/s and {metrics['achieved_tflops']:.2f} "
        "TFLOP/s"
        + (
            f" ({100 * metrics['roofline_fraction']:.1f}% of the roofline, "
            f"{100 * metrics['bandwidth_fraction']:.1f}% of peak bandwidth)"
            if "roofline_fraction" in metrics
            else " (no peak known for this GPU)"
        )
    )
    if over_eager is not None and over_eager > SUSPICIOUS_SPEEDUP:
        plans = [TrialPlan(spec.gpu_shape, spec.gpu_dtype)] * REVERIFY_TRIALS
        check_correctness(spec, forward, plans, current.device, current.counter, current.snapshot)
        fresh = spec.make_inputs(spec.gpu_shape, dtype, current.device, torch.Generator())
        again = speedup(
            measure(lambda: spec.reference(*fresh), watch), measure(lambda: forward(*fresh), watch)
        )
        metrics["speedup_flagged"] = 1.0
        metrics["speedup_reverified"] = again
        lines.append(
            f"FLAGGED: a {over_eager:.1f}x speedup is above {SUSPICIOUS_SPEEDUP:g}x; re-verified "
            f"on {REVERIFY_TRIALS} fresh trials and re-timed ({again or 0:.1f}x). Check it by "
            "hand before trusting it."
        )
    return _Timed(metrics, lines)


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
