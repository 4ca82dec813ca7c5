"""Evaluate kernel files with the real evaluator in a fresh process; one JSON line each.

`python kernel_runner.py FILE:TASK [FILE:TASK ...]` runs the cascade (compile stage,
then `evaluate`) in correctness mode, as the sandbox would, but for many files in one
process, so the suite pays for importing PyTorch and Triton once. A fresh process,
because some files in the hack gallery patch modules when imported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any


def _interpreter_env() -> dict[str, str]:
    """Correctness mode under Triton's interpreter, as the sandbox gives it on a CPU."""
    return {**os.environ, "TRITON_INTERPRET": "1", "EVOFORGE_KERNEL_MODE": "correctness"}


def evaluate_files(pairs: list[tuple[Path, str]], timeout: float = 600) -> list[dict[str, Any]]:
    """Each file's result as `{"file", "valid", "score", "reason", "feedback", "metrics"}`."""
    args = [f"{path}:{task}" for path, task in pairs]
    done = subprocess.run(
        [sys.executable, __file__, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=_interpreter_env(),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def run_script(code: str, timeout: float = 600) -> str:
    """Run Python code in a fresh interpreter with the interpreter-mode environment."""
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=_interpreter_env(),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def main(args: list[str]) -> None:
    from evoforge.kernels.evaluator import stages

    for arg in args:
        path, _, task = arg.rpartition(":")
        os.environ["EVOFORGE_KERNEL_TASK"] = f"evoforge.kernels.tasks.{task}"
        result = stages.compile_stage(path)
        if result.valid:
            result = stages.evaluate(path)
        line = {
            "file": path,
            "valid": result.valid,
            "score": result.score,
            "reason": result.reason,
            "feedback": result.feedback,
            "metrics": result.metrics,
        }
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
