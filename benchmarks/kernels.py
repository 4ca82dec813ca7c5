"""Every seed kernel on a GPU: correctness, speedup over PyTorch, and timing noise.

Runs the kernel evaluator in-process in `speed` mode (the `speedup` objective) on each
task's seed, prints one row per task (candidate and baseline medians, speedups over
eager and `torch.compile`, achieved GB/s and fraction of the roofline), then measures
one kernel 10 times with the evaluator's own timing loop and reports the coefficient
of variation of those medians: the noise floor below which a "speedup" means nothing.
Speedups are ratios taken in this one process, so the machine's speed cancels out.

Needs a CUDA GPU; without one it says so and exits 2 (CI never runs it).

    python benchmarks/kernels.py [--tasks softmax,matmul] [--noise-task vector_add]
                                 [--repeats 10] [--out results.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path
from typing import Any

import evoforge.kernels
from evoforge.kernels.catalog import ENTRIES
from evoforge.kernels.evaluator.session import MODE_ENV, TASK_ENV

SEEDS = Path(evoforge.kernels.__file__).parent / "seeds"


def evaluate_seed(name: str) -> dict[str, Any]:
    from evoforge.kernels.evaluator import stages

    os.environ[TASK_ENV] = f"evoforge.kernels.tasks.{name}"
    path = str(SEEDS / f"{name}.py")
    result = stages.compile_stage(path)
    if result.valid:
        stage_metrics = result.metrics
        result = stages.evaluate(path)
        result.metrics = {**stage_metrics, **result.metrics}
    return {"task": name, "valid": result.valid, "reason": result.reason, **result.metrics}


def timing_noise(name: str, repeats: int) -> dict[str, Any]:
    """The same kernel timed `repeats` times, each a full median-of-many measurement."""
    import torch

    from evoforge.kernels.evaluator.session import import_candidate
    from evoforge.kernels.evaluator.timing import CudaStopwatch, measure

    spec = __import__(f"evoforge.kernels.tasks.{name}", fromlist=["SPEC"]).SPEC
    forward = import_candidate(str(SEEDS / f"{name}.py")).forward
    inputs = spec.make_inputs(
        spec.gpu_shape, getattr(torch, spec.gpu_dtype), torch.device("cuda"), torch.Generator()
    )
    watch = CudaStopwatch(torch.cuda.Event, torch.cuda.synchronize)
    medians = [measure(lambda: forward(*inputs), watch).median_ms for _ in range(repeats)]
    mean = statistics.fmean(medians)
    return {
        "task": name,
        "repeats": repeats,
        "medians_ms": medians,
        "cv": statistics.stdev(medians) / mean if repeats > 1 else 0.0,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default=",".join(entry.name for entry in ENTRIES))
    parser.add_argument("--noise-task", default="vector_add")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    os.environ[MODE_ENV] = "speed"
    import torch

    if not torch.cuda.is_available():
        print(
            "benchmarks/kernels.py times kernels on a CUDA GPU, and none is visible here; "
            "run it on a machine with one (the CPU interpreter gives no timings)"
        )
        return 2
    device = torch.cuda.get_device_name()
    rows = [evaluate_seed(name) for name in args.tasks.split(",") if name]
    noise = timing_noise(args.noise_task, args.repeats)
    print(f"device: {device}, torch {torch.__version__}")
    header = (
        f"{'task':<18} {'ok':<3} {'seed ms':>9} {'eager ms':>9} {'x eager':>8} "
        f"{'compile ms':>10} {'x compile':>9} {'GB/s':>8} {'roofline':>8}"
    )
    print(header)
    for row in rows:
        if not row["valid"]:
            print(f"{row['task']:<18} no  {row['reason'][:90]}")
            continue
        print(
            f"{row['task']:<18} yes {row['candidate_ms']:>9.4f} {row['eager_ms']:>9.4f} "
            f"{row['speedup']:>8.3f} {row.get('compile_ms', float('nan')):>10.4f} "
            f"{row.get('speedup_compile') or float('nan'):>9.3f} {row['achieved_gbps']:>8.1f} "
            f"{100 * row.get('roofline_fraction', float('nan')):>7.1f}%"
        )
    print(
        f"timing noise: {noise['task']} timed {noise['repeats']} times, medians "
        f"{min(noise['medians_ms']):.4f}-{max(noise['medians_ms']):.4f} ms, "
        f"CV {100 * noise['cv']:.2f}%"
    )
    if args.out:
        args.out.write_text(json.dumps({"device": device, "rows": rows, "noise": noise}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
