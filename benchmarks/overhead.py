"""Framework overhead per candidate through the real pipeline, and how it grows.

A trivial task (an instant evaluate on a one-constant program) runs through the
offline proposer, the process sandbox and 2 evaluation slots, at 200 and at 2,000
candidates, in this one process, each size `--repeats` times interleaved (this VM's
speed drifts by tens of percent from minute to minute; medians are reported). The
growth ratio compares the two sizes, so machine speed cancels out: flat scores 1.0.

    python benchmarks/overhead.py [--small 200] [--large 2000] [--repeats 2]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import textwrap
import time
from pathlib import Path

from evoforge.api import run_task

PROGRAM = """
# EVOLVE-BLOCK-START
X = 1.0
Y = 2.5
# EVOLVE-BLOCK-END
"""

EVALUATE = """
def evaluate(program_path):
    scope = {}
    exec(open(program_path).read(), scope)
    return -abs(scope["X"] - 3.0) - abs(scope["Y"] - 7.0)
"""


def make_task(root: Path) -> Path:
    folder = root / "trivial"
    folder.mkdir()
    (folder / "task.toml").write_text('files = ["program.py"]\n')
    (folder / "program.py").write_text(textwrap.dedent(PROGRAM).lstrip())
    (folder / "evaluate.py").write_text(textwrap.dedent(EVALUATE).lstrip())
    return folder


def ms_per_candidate(folder: Path, root: Path, candidates: int) -> float:
    db = f"sqlite:///{root / f'bench-{candidates}-{time.monotonic_ns()}.db'}"
    started = time.perf_counter()
    outcome = run_task(
        folder,
        db=db,
        max_evaluations=candidates,
        seed=1,
        evaluation_slots=2,
        proposal_slots=2,
        max_fruitless_proposals=10_000,
    )
    elapsed = time.perf_counter() - started
    done = outcome.summary["evaluations"]["total"]
    assert done == candidates, f"expected {candidates} evaluations, got {done}"
    return elapsed * 1000 / candidates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=200)
    parser.add_argument("--large", type=int, default=2000)
    parser.add_argument(
        "--repeats", type=int, default=2, help="runs per size, interleaved; medians reported"
    )
    args = parser.parse_args()
    smalls: list[float] = []
    larges: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        folder = make_task(root)
        ms_per_candidate(folder, root, 20)  # warm caches and imports, not reported
        for _ in range(args.repeats):  # interleaved, so a noisy minute hits both sizes
            smalls.append(ms_per_candidate(folder, root, args.small))
            larges.append(ms_per_candidate(folder, root, args.large))
    small, large = statistics.median(smalls), statistics.median(larges)
    print(
        f"ms_per_candidate_{args.small}={small:.2f} ms_per_candidate_{args.large}={large:.2f} "
        f"growth={large / small:.2f}"
    )


if __name__ == "__main__":
    main()
