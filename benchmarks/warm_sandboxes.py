"""Warm servers against cold interpreters, in one run: what a slot's server saves.

Three measures, each warm (the default) against cold (`--sandbox-option warm=false`),
interleaved so machine drift hits both alike:

* **trivial**: `ProcessSandbox.run` of an evaluator that reads a number from the
  program: the sandbox's own cost per evaluation. Median wall time.
* **kernel correctness**: one Triton kernel task's correctness evaluation on the CPU
  interpreter (`TRITON_INTERPRET=1`), which imports torch and triton: median wall
  time; the warm figure leaves out the first evaluation, which starts the server
  (reported apart).
* **circle packing**: `evoforge run circle_packing` with 2 evaluation slots and the
  offline proposer: evaluations per second of the whole run, start-up included.

    python benchmarks/warm_sandboxes.py [--rounds 20] [--kernel-rounds 5]
        [--circle-evaluations 200] [--kernel rmsnorm] [--skip-kernels]

Targets (issue 19): kernel correctness median at most 1.0 s warm; circle packing at
least 3x the cold evaluations per second.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from evoforge.jobs import EvaluationJob
from evoforge.sandboxes.process import ProcessSandbox
from evoforge.task import Resources

EVALUATE = """
def evaluate(program_path):
    scope = {}
    exec(open(program_path).read(), scope)
    return float(scope["X"])
"""


def trivial(rounds: int) -> dict[str, float]:
    folder = Path(tempfile.mkdtemp(prefix="evoforge-bench-"))
    folder.chmod(0o755)
    evaluator = folder / "evaluator.py"
    evaluator.write_text(EVALUATE)
    job = EvaluationJob(
        run_id="bench",
        candidate_id="c",
        task_name="trivial",
        files={"program.py": "X = 1.5\n"},
        primary="program.py",
        evaluate=f"{evaluator}:evaluate",
        resources=Resources(timeout_s=30),
    )
    sandboxes = {"warm": ProcessSandbox(warm=True), "cold": ProcessSandbox(warm=False)}
    times: dict[str, list[float]] = {name: [] for name in sandboxes}
    for sandbox in sandboxes.values():  # one untimed run each: probes, server start
        assert sandbox.run(job).status == "ok"
    for _ in range(rounds):
        for name, sandbox in sandboxes.items():
            started = time.perf_counter()
            outcome = sandbox.run(job)
            times[name].append(time.perf_counter() - started)
            assert outcome.status == "ok", outcome.reason
    for sandbox in sandboxes.values():
        sandbox.close()
    return {name: statistics.median(values) for name, values in times.items()}


def kernel(name: str, rounds: int) -> dict[str, Any]:
    from evoforge.api import resolve_task

    task = resolve_task(f"kernel_{name}").with_objective("correctness")
    job = EvaluationJob.for_candidate(
        task, "bench", "c", {f.name: f.seed for f in task.files}, "process"
    )
    sandboxes = {"warm": ProcessSandbox(warm=True), "cold": ProcessSandbox(warm=False)}
    times: dict[str, list[float]] = {name: [] for name in sandboxes}
    first: dict[str, float] = {}
    for index in range(rounds + 1):
        for label, sandbox in sandboxes.items():
            started = time.perf_counter()
            outcome = sandbox.run(job)
            elapsed = time.perf_counter() - started
            assert outcome.status == "ok", (outcome.reason, outcome.stderr[-2000:])
            if index == 0:
                first[label] = elapsed
            else:
                times[label].append(elapsed)
    for sandbox in sandboxes.values():
        sandbox.close()
    medians = {label: statistics.median(values) for label, values in times.items()}
    return {"median": medians, "first": first}


def circle_packing(evaluations: int) -> dict[str, float]:
    rates: dict[str, float] = {}
    for label in ("warm", "cold"):
        with tempfile.TemporaryDirectory() as folder:
            command = [
                sys.executable, "-m", "evoforge.cli", "run", "circle_packing",
                "--max-evaluations", str(evaluations), "--evaluation-slots", "2", "--seed", "1",
                "--sandbox-option", f"warm={'true' if label == 'warm' else 'false'}",
                "--db", f"sqlite:///{folder}/store.db", "--json",
            ]  # fmt: skip
            started = time.perf_counter()
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            elapsed = time.perf_counter() - started
            if done.returncode != 0:
                raise SystemExit(f"evoforge run failed ({label}): {done.stderr[-2000:]}")
            summary = json.loads(done.stdout)
            rates[label] = summary["evaluations"]["total"] / elapsed
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--kernel-rounds", type=int, default=5)
    parser.add_argument("--kernel", default="rmsnorm")
    parser.add_argument("--circle-evaluations", type=int, default=200)
    parser.add_argument("--skip-kernels", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("TRITON_INTERPRET", "1")

    small = trivial(args.rounds)
    print(
        f"trivial evaluation, median of {args.rounds}: warm {small['warm'] * 1000:.1f} ms, "
        f"cold {small['cold'] * 1000:.1f} ms ({small['cold'] / small['warm']:.1f}x)"
    )
    rates = circle_packing(args.circle_evaluations)
    print(
        f"circle packing, {args.circle_evaluations} evaluations, 2 slots: warm "
        f"{rates['warm']:.1f}/s, cold {rates['cold']:.1f}/s "
        f"({rates['warm'] / rates['cold']:.2f}x; target >= 3x)"
    )
    if not args.skip_kernels:
        found = kernel(args.kernel, args.kernel_rounds)
        medians, first = found["median"], found["first"]
        print(
            f"kernel_{args.kernel} correctness (CPU interpreter), median of "
            f"{args.kernel_rounds}: warm {medians['warm']:.2f} s, cold {medians['cold']:.2f} s "
            f"({medians['cold'] / medians['warm']:.1f}x; target warm <= 1.0 s); "
            f"first evaluation (server start): warm {first['warm']:.2f} s, "
            f"cold {first['cold']:.2f} s"
        )


if __name__ == "__main__":
    main()
