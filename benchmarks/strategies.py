"""Does evolution beat the honest baseline? Circle packing, offline proposer.

Each strategy runs the same budget from the same seed artifact, for a few random
seeds, in this one process; the table reports the best score and the gain over the
seed as a ratio to best-of-n's gain (the baseline every study should report).

    python benchmarks/strategies.py [--evaluations 200] [--seeds 1 2 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from evoforge.api import run_task

STRATEGIES = ("best-of-n", "greedy", "islands")


def best_score(strategy: str, seed: int, evaluations: int, root: Path) -> tuple[float, float]:
    db = f"sqlite:///{root / f'{strategy}-{seed}.db'}"
    outcome = run_task(
        "circle_packing", db=db, max_evaluations=evaluations, seed=seed, strategy=strategy
    )
    return outcome.summary["seed_score"], outcome.summary["best_score"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evaluations", type=int, default=200)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    args = parser.parse_args()
    gains: dict[str, list[float]] = {}
    bests: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for strategy in STRATEGIES:
            for seed in args.seeds:
                start, best = best_score(strategy, seed, args.evaluations, Path(tmp))
                gains.setdefault(strategy, []).append(best - start)
                bests.setdefault(strategy, []).append(best)
    baseline = statistics.mean(gains["best-of-n"])
    print(f"circle_packing, {args.evaluations} evaluations, seeds {args.seeds}")
    print(f"{'strategy':<10} {'mean best':>10} {'mean gain':>10} {'gain / best-of-n':>17}")
    for strategy in STRATEGIES:
        gain = statistics.mean(gains[strategy])
        print(
            f"{strategy:<10} {statistics.mean(bests[strategy]):>10.4f} {gain:>10.4f} "
            f"{gain / baseline:>17.2f}"
        )


if __name__ == "__main__":
    main()
