"""Speed: the candidate against PyTorch eager and `torch.compile`, timed alike.

All three run in this process on the same fresh inputs, with the same stopwatch
(`timing.py`), so the ratios are fair whatever the machine's clock does. The
roofline turns the candidate's time into achieved GB/s and TFLOP/s and a fraction of
the device's peak. A speedup above `SUSPICIOUS_SPEEDUP` is re-verified (fresh
correctness trials, re-timed on fresh inputs) and flagged, because a result that good
is more often a hole in the harness than a breakthrough.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import torch

from evoforge.kernels.evaluator.correctness import TrialPlan, check_correctness
from evoforge.kernels.evaluator.guards import KernelRejected
from evoforge.kernels.evaluator.hardware import peak_for, roofline_metrics
from evoforge.kernels.evaluator.session import Session
from evoforge.kernels.evaluator.timing import WARMUP_CALLS, Stopwatch, measure, speedup

SUSPICIOUS_SPEEDUP = 10.0
REVERIFY_TRIALS = 3


@dataclass
class Timed:
    metrics: dict[str, Any]
    lines: list[str]
    """Feedback for the proposer, one line each."""


def measure_speed(
    current: Session,
    forward: Any,
    watch: Stopwatch,
    device_name: str,
    reps: int | None = None,
    compile_baseline: bool = True,
) -> Timed:
    """Time candidate, eager and compiled reference on the same fresh inputs."""
    spec = current.spec
    dtype = getattr(torch, spec.gpu_dtype)
    generator = torch.Generator().manual_seed(secrets.randbits(31))
    inputs = spec.make_inputs(spec.gpu_shape, dtype, current.device, generator)
    launches = current.counter.launches
    candidate = measure(lambda: forward(*inputs), watch, reps)
    if current.counter.launches - launches < WARMUP_CALLS + candidate.reps:
        raise KernelRejected(
            "forward() skipped launching its kernel on some timed calls: every call must "
            "compute its output"
        )
    eager = measure(lambda: spec.reference(*inputs), watch, reps)
    lines: list[str] = []
    compiled_timing = None
    if compile_baseline:
        try:
            compiled = torch.compile(spec.reference)
            compiled(*inputs)
            compiled_timing = measure(lambda: compiled(*inputs), watch, reps)
        except Exception as exc:  # a baseline that cannot compile is reported, not fatal
            lines.append(f"torch.compile baseline failed: {type(exc).__name__}: {exc}"[:300])
    else:
        lines.append("torch.compile baseline not measured")
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
        reseeded = torch.Generator().manual_seed(secrets.randbits(31))
        fresh = spec.make_inputs(spec.gpu_shape, dtype, current.device, reseeded)
        again = speedup(
            measure(lambda: spec.reference(*fresh), watch, reps),
            measure(lambda: forward(*fresh), watch, reps),
        )
        metrics["speedup_flagged"] = 1.0
        metrics["speedup_reverified"] = again
        if again is not None and again < over_eager:  # keep the more modest of the two
            metrics["speedup"] = again
        lines.append(
            f"FLAGGED: a {over_eager:.1f}x speedup is above {SUSPICIOUS_SPEEDUP:g}x; re-verified "
            f"on {REVERIFY_TRIALS} fresh trials and re-timed ({again or 0:.1f}x; the score is "
            "the lower of the two). Check it by hand before trusting it."
        )
    return Timed(metrics, lines)
