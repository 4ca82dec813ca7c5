"""What the device could do, and what the compiled kernel costs it.

Achieved bandwidth and FLOP/s mean little alone; set against the device's peak they
say whether a kernel is near its roofline or far from it. The peaks are datasheet
figures (dense, no sparsity) for the GPUs evoforge is run on, matched by name; an
unknown GPU gets no fraction rather than a guess.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Peak:
    gbps: float
    """Memory bandwidth, GB/s."""
    tflops: dict[str, float]
    """Dense tensor-core rate by input dtype (float32 means TF32), TFLOP/s."""


# Substrings of `torch.cuda.get_device_name()`, most specific first.
PEAKS: tuple[tuple[str, Peak], ...] = (
    ("H200", Peak(4800.0, {"float16": 989.0, "bfloat16": 989.0, "float32": 494.0})),
    ("H100 PCIe", Peak(2000.0, {"float16": 756.0, "bfloat16": 756.0, "float32": 378.0})),
    ("H100", Peak(3350.0, {"float16": 989.0, "bfloat16": 989.0, "float32": 494.0})),
    ("A100-SXM4-80GB", Peak(2039.0, {"float16": 312.0, "bfloat16": 312.0, "float32": 156.0})),
    ("A100", Peak(1555.0, {"float16": 312.0, "bfloat16": 312.0, "float32": 156.0})),
    ("L40S", Peak(864.0, {"float16": 362.0, "bfloat16": 362.0, "float32": 183.0})),
    ("L4", Peak(300.0, {"float16": 121.0, "bfloat16": 121.0, "float32": 60.0})),
    ("RTX 4090", Peak(1008.0, {"float16": 165.0, "bfloat16": 165.0, "float32": 83.0})),
)


def peak_for(device_name: str) -> Peak | None:
    for key, peak in PEAKS:
        if key in device_name:
            return peak
    return None


def roofline_metrics(
    bytes_moved: float, flops: float, median_ms: float, dtype: str, peak: Peak | None
) -> dict[str, float]:
    """Achieved GB/s and TFLOP/s, and the fraction of the roofline reached: the time the
    slower of the two ceilings allows over the time measured."""
    seconds = median_ms * 1e-3
    metrics = {
        "achieved_gbps": bytes_moved / seconds / 1e9,
        "achieved_tflops": flops / seconds / 1e12,
    }
    if peak is not None:
        floor_s = bytes_moved / (peak.gbps * 1e9)
        rate = peak.tflops.get(dtype)
        if rate:
            floor_s = max(floor_s, flops / (rate * 1e12))
        metrics["bandwidth_fraction"] = metrics["achieved_gbps"] / peak.gbps
        metrics["roofline_fraction"] = floor_s / seconds
    return metrics


def compiled_resources(compiled: dict[str, Any]) -> dict[str, dict[str, int]]:
    """Registers per thread, spilled registers and shared memory of each compiled
    kernel, as Triton reports them (nothing under the interpreter)."""
    report: dict[str, dict[str, int]] = {}
    for name, kernel in compiled.items():
        init = getattr(kernel, "_init_handles", None)
        if callable(init):
            init()
        metadata = getattr(kernel, "metadata", None)
        entry = {
            "registers": getattr(kernel, "n_regs", None),
            "spills": getattr(kernel, "n_spills", None),
            "shared_bytes": getattr(metadata, "shared", None),
            "num_warps": getattr(metadata, "num_warps", None),
        }
        report[name] = {k: int(v) for k, v in entry.items() if isinstance(v, int)}
    return report
