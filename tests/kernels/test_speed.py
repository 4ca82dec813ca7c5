"""The speed stage's bookkeeping, driven on the CPU by a wall-clock stopwatch.

On a GPU the stage times with CUDA events; here a host stopwatch stands in so the
parts a user reads can be checked without one: the speedup is eager time over the
candidate's, the roofline figures follow from the task's bytes and FLOPs, and a
speedup above 10x is re-verified and flagged. The reference is made artificially slow
so the seed kernel (run by Triton's interpreter) is "fast" by a known margin.
"""

from __future__ import annotations

import json

import pytest
from kernel_runner import run_script

pytestmark = pytest.mark.slow

SCRIPT = """
import json, os, time
os.environ["EVOFORGE_KERNEL_TASK"] = "evoforge.kernels.tasks.vector_add"
import dataclasses
from evoforge.kernels.evaluator import stages
from evoforge.kernels.evaluator.session import session_for
from evoforge.kernels.evaluator.speed import measure_speed
import evoforge.kernels, pathlib

class HostStopwatch:
    def start(self): return time.perf_counter()
    stop = start
    def elapsed_ms(self, a, b): return (b - a) * 1e3
    def synchronize(self): pass
    def flush(self): pass

seed = str(pathlib.Path(evoforge.kernels.__file__).parent / "seeds" / "vector_add.py")
assert stages.compile_stage(seed).valid
current = session_for(seed)
spec = current.spec

def slow_reference(x, y):
    time.sleep(DELAY)
    return x + y

shape = SHAPE or spec.cpu_shape
current.spec = dataclasses.replace(spec, reference=slow_reference, gpu_shape=shape,
                                   gpu_dtype="float32")
timed = measure_speed(current, current.module.forward, HostStopwatch(), "NVIDIA H100 80GB HBM3",
                      reps=5, compile_baseline=False)
print(json.dumps({"metrics": timed.metrics, "lines": timed.lines}))
"""


def speed_of(delay: float, shape: dict[str, int] | None = None) -> dict:
    """`shape`: the timed size; a tiny one keeps the interpreted kernel to one program,
    so the slowed reference stays far more than 10x slower even on a loaded machine."""
    out = run_script(SCRIPT.replace("DELAY", repr(delay)).replace("SHAPE", repr(shape)))
    return json.loads(out.strip().splitlines()[-1])


def test_a_speedup_over_ten_is_reverified_and_flagged() -> None:
    result = speed_of(0.5, {"n": 100})
    metrics = result["metrics"]
    first = metrics["eager_ms"] / metrics["candidate_ms"]
    assert first > 10
    assert metrics["speedup_flagged"] == 1.0
    assert metrics["speedup_reverified"] > 1
    assert metrics["speedup"] == pytest.approx(min(first, metrics["speedup_reverified"]))
    assert any(line.startswith("FLAGGED") for line in result["lines"])
    assert "torch.compile baseline not measured" in result["lines"]


def test_an_ordinary_result_carries_roofline_figures_and_no_flag() -> None:
    metrics = speed_of(0.0)["metrics"]
    assert "speedup_flagged" not in metrics
    assert metrics["speedup"] == pytest.approx(metrics["eager_ms"] / metrics["candidate_ms"])
    assert metrics["timing_reps"] == 5
    n = 5003
    seconds = metrics["candidate_ms"] / 1e3
    assert metrics["achieved_gbps"] == pytest.approx(3 * n * 4 / seconds / 1e9)
    assert metrics["roofline_fraction"] == pytest.approx((3 * n * 4 / 3350e9) / seconds)
