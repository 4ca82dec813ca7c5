"""What a call into a separate candidate process costs (`evoforge.candidate_process`).

Three figures per payload, all in microseconds per call, medians of `--repeats` runs:

* `in-process`: the same function imported and called directly (what evaluators did);
* `pipe floor`: a bare round trip of the same bytes through two pipes to a forked
  echo process, the least any process separation can cost on this machine;
* `CandidateProcess`: `remote.call(...)`, with marshal out, JSON back and the reply
  checked; `added per call` is its difference to the in-process call, and what it
  costs above the pipe floor is the helper's own work.

Payloads: an int, the spot_scheduling task's per-tick state dict (its policy is called
thousands of times per evaluation), and a moe_eplb plan (4 x 288 ints). Also the time
from `CandidateProcess(...)` to the first call answered (a fresh interpreter loading
the program), with and without numpy imported by the program.

    python benchmarks/candidate_calls.py [--calls 3000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import select
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from evoforge.candidate_process import CandidateProcess

PROGRAM = """
def echo(value):
    return value

def decide(state):
    return "spot" if state["spot_available"] else "idle"

def plan(layers):
    return [[slot % 256 for slot in range(288)] for _ in range(layers)]
"""

STATE = {
    "tick": 120,
    "tick_h": 1 / 6,
    "elapsed_h": 20.0,
    "work_h": 48.0,
    "work_done_h": 18.5,
    "work_left_h": 29.5,
    "deadline_h": 52.0,
    "time_left_h": 32.0,
    "overhead_h": 0.2,
    "spot_available": True,
    "current": "spot",
    "preempted": False,
    "history": [True, True, False, True, True, True, True, False, True, True, True, True],
    "spot_price": 0.9731,
    "on_demand_price": 3.06,
}


def pipe_floor(size: int, calls: int) -> float:
    """Microseconds per round trip of `size` bytes to a forked echo process."""
    down_read, down_write = os.pipe()
    up_read, up_write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(down_write)
        os.close(up_read)
        while data := os.read(down_read, 1 << 16):
            os.write(up_write, data)
        os._exit(0)
    os.close(down_read)
    os.close(up_write)
    poll = select.poll()
    poll.register(up_read, select.POLLIN)
    message = b"x" * size
    started = time.perf_counter()
    for _ in range(calls):
        os.write(down_write, message)
        received = 0
        while received < size:
            poll.poll(-1)
            received += len(os.read(up_read, 1 << 16))
    elapsed = time.perf_counter() - started
    os.close(down_write)
    os.waitpid(pid, 0)
    os.close(up_read)
    return elapsed / calls * 1e6


def per_call(function: Any, calls: int) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        function()
    return (time.perf_counter() - started) / calls * 1e6


def startup(path: Path, repeats: int) -> float:
    """Milliseconds from `CandidateProcess(...)` to the first answer."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        with CandidateProcess(path) as remote:
            remote.call("echo", 1)
            times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    calls, repeats = args.calls, args.repeats
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, "program.py")
        path.write_text(PROGRAM)
        heavy = Path(folder, "numpy_program.py")
        heavy.write_text("import numpy\n" + PROGRAM)
        scope: dict[str, Any] = {}
        exec(PROGRAM, scope)  # the in-process reference
        cases = [
            ("int", ("echo", 7), lambda: scope["echo"](7), 20),
            ("spot state", ("decide", STATE), lambda: scope["decide"](dict(STATE)), 330),
            ("moe plan", ("plan", 4), lambda: scope["plan"](4), 4700),
        ]
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {calls} calls x {repeats}")
        print(
            "| payload | in-process us | pipe floor us | CandidateProcess us "
            "| added per call us | ratio to in-process |"
        )
        print("| --- | --- | --- | --- | --- | --- |")
        with CandidateProcess(path) as remote:
            for label, (name, argument), local, size in cases:
                local_us = statistics.median(per_call(local, calls) for _ in range(repeats))
                floor_us = statistics.median(pipe_floor(size, calls) for _ in range(repeats))
                remote_us = statistics.median(
                    per_call(lambda n=name, a=argument: remote.call(n, a), calls)
                    for _ in range(repeats)
                )
                print(
                    f"| {label} | {local_us:.2f} | {floor_us:.1f} | {remote_us:.1f} | "
                    f"{remote_us - local_us:.1f} | {remote_us / local_us:.0f}x |"
                )
        plain_ms, numpy_ms = startup(path, repeats), startup(heavy, repeats)
        print(f"\nstart to first answer: {plain_ms:.1f} ms (a stdlib program), ", end="")
        print(f"{numpy_ms:.1f} ms (a program importing numpy)")


if __name__ == "__main__":
    main()
