"""Wall time each sandbox adds to one evaluation, against a bare subprocess.

The same trivial evaluator (read the program, return a number) runs three ways,
interleaved round by round so machine drift hits all three alike:

* **bare**: `python -I runner.py` in a plain subprocess: import the evaluator by
  path, call it, print the score. No limits, no isolation: the floor.
* **process**: `ProcessSandbox().run(job)`, everything included: bubblewrap's minimal
  root and namespaces, the unprivileged user, the work folder's own tmpfs, pids and
  memory cgroups, rlimits, result file, unmount.
* **weak**: the same sandbox without bubblewrap (`--weak-isolation`: the harness's own
  read-only view of the host), to show what the full isolation costs beyond it.
* **docker**: `DockerSandbox().run(job)`: create, start, attach, wait, remove.

Reported: the median wall time of each, and the median added over bare. Targets on
the 2-core development VM: process at most +15 ms, docker at most +400 ms.

    python benchmarks/sandbox_overhead.py [--rounds 30] [--docker-host URL] [--image TAG]
    python benchmarks/sandbox_overhead.py --private-dockerd   # start one, as the tests do

`--private-dockerd` starts a daemon on a private socket and imports the tests' tiny
image, running this interpreter through read-only mounts (tests/support/dockerd.py).
"""

from __future__ import annotations

import argparse
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
RUNNER = """
import importlib.util, sys
spec = importlib.util.spec_from_file_location("evaluator", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
print(module.evaluate(sys.argv[2]))
"""
PROGRAM = "X = 0.5\n"


def bare(python: str, runner: Path, evaluator: Path, program: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run(
        [python, "-I", str(runner), str(evaluator), str(program)],
        capture_output=True,
        text=True,
        check=True,
    )
    elapsed = time.perf_counter() - started
    assert float(done.stdout) == 0.5
    return elapsed


def sandboxed(sandbox: Any, job: EvaluationJob) -> float:
    started = time.perf_counter()
    outcome = sandbox.run(job)
    elapsed = time.perf_counter() - started
    if outcome.status != "ok" or outcome.score != 0.5:
        raise SystemExit(f"{sandbox.name}: {outcome.status} {outcome.reason}\n{outcome.stderr}")
    return elapsed


class WeakProcessSandbox(ProcessSandbox):
    """The process sandbox as it runs where bubblewrap is missing and weak is accepted."""

    def __init__(self) -> None:
        super().__init__(weak_isolation=True)

    def bubblewrap_missing(self) -> str | None:
        return "not used by this benchmark row"


def docker_sandbox(args: argparse.Namespace, root: Path) -> tuple[Any, Any]:
    """(sandbox, daemon to stop or None), or (None, None) when Docker is not asked for."""
    from evoforge.sandboxes.container import DockerSandbox

    if args.private_dockerd:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
        from support.dockerd import TEST_IMAGE, Dockerd, build_test_image, interpreter_mounts

        daemon = Dockerd(root / "dockerd").start()
        build_test_image(daemon.client())
        sandbox = DockerSandbox(
            base_url=daemon.base_url,
            image=TEST_IMAGE,
            python=sys.executable,
            mounts=interpreter_mounts(),
        )
        return sandbox, daemon
    if args.docker_host or args.image:
        return DockerSandbox(base_url=args.docker_host, image=args.image), None
    return None, None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--docker-host", default=None, help="Docker daemon URL")
    parser.add_argument(
        "--image", default=None, help="sandbox image (default: evoforge-sandbox:cpu)"
    )
    parser.add_argument("--private-dockerd", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="evoforge-bench-") as folder:
        root = Path(folder)
        root.chmod(0o755)  # the container's non-root user reads the evaluator here
        evaluator, runner, program = root / "evaluate.py", root / "runner.py", root / "program.py"
        evaluator.write_text(EVALUATE)
        runner.write_text(RUNNER)
        program.write_text(PROGRAM)
        job = EvaluationJob(
            run_id="bench",
            candidate_id="c",
            task_name="trivial",
            files={"program.py": PROGRAM},
            primary="program.py",
            evaluate=f"{evaluator}:evaluate",
            resources=Resources(timeout_s=60),
        )
        sandboxes: dict[str, Any] = {"process": ProcessSandbox(), "weak": WeakProcessSandbox()}
        docker, daemon = docker_sandbox(args, root)
        if docker is not None:
            docker.check()
            sandboxes["docker"] = docker
        try:
            # Warm-up: first starts pay for page cache, the interpreter probe, image layers.
            bare(sys.executable, runner, evaluator, program)
            for sandbox in sandboxes.values():
                sandboxed(sandbox, job)
            times: dict[str, list[float]] = {"bare": [], **{name: [] for name in sandboxes}}
            for _ in range(args.rounds):
                times["bare"].append(bare(sys.executable, runner, evaluator, program))
                for name, sandbox in sandboxes.items():
                    times[name].append(sandboxed(sandbox, job))
        finally:
            if daemon is not None:
                daemon.stop()

    floor = statistics.median(times["bare"])
    print(f"{'way':<10}{'median ms':>12}{'added ms':>12}{'x bare':>9}   ({args.rounds} rounds)")
    for name, samples in times.items():
        median = statistics.median(samples)
        added = median - floor
        print(f"{name:<10}{median * 1e3:>12.1f}{added * 1e3:>12.1f}{median / floor:>9.2f}")
    targets = {"process": 0.015, "docker": 0.400}
    for name, limit in targets.items():
        if name in times:
            added = statistics.median(times[name]) - floor
            verdict = "meets" if added <= limit else "MISSES"
            print(f"{name}: +{added * 1e3:.1f} ms {verdict} the +{limit * 1e3:.0f} ms target")


if __name__ == "__main__":
    main()
