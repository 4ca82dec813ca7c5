"""Do the ADRS tasks hold up offline? Baseline, seed and evolved best on every split.

For each built-in ADRS task that needs no model (prompt_classify calls one, so it is
left out), three figures per split (train, validation, test), every score maximised:

* the task's main baseline (`task.baselines[0]`), its files written to a temporary
  folder and scored in this process by the task's own `evaluate`, so a stale figure in
  its README shows up next to the documented one;
* an offline evolution of a fixed budget (`run_task`, the default `mutate` proposer,
  process sandbox) and what `Repository.generalization` reports when it ends: the seed
  and the best candidate on training, with their validation and test scores;
* the evolved best over the baseline, per split, and the run's wall time;
* on each task's public protocol: every baseline's public score measured here, beside
  the figure the task documents and the published one, and what an offline run
  searching on the protocol (`--train-on public`, `--public-budget` evaluations)
  reaches against the published baseline.

One Markdown table goes to stdout, the raw figures as JSON to `--out`.

    python benchmarks/tasks.py [--tasks model_placement,cloudcast] [--budget 60]
                               [--seed 1] [--strategy islands] [--public-budget 100]
                               [--out benchmarks/tasks-last-run.json]
"""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from evoforge.api import resolve_task, run_task
from evoforge.public_protocol import load_public_instances
from evoforge.store.database import open_database
from evoforge.store.repository import Repository
from evoforge.task import OWN_SPLITS as SPLITS
from evoforge.task import Task

OFFLINE_TASKS = ("model_placement", "spot_scheduling", "moe_eplb", "txn_scheduling", "cloudcast")
"""Every ADRS task but prompt_classify, whose evaluator calls a task model."""


def evaluator(task: Task) -> Any:
    """The task's `evaluate` callable, imported here rather than in a sandbox."""
    module, _, function = task.evaluate.partition(":")
    return getattr(importlib.import_module(module), function)


def score_baseline(task: Task) -> dict[str, Any]:
    """The main baseline scored on every split in this process, with the documented scores."""
    baseline = task.baselines[0]
    evaluate = evaluator(task)
    measured: dict[str, float | None] = {}
    reasons: dict[str, str] = {}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        for name, text in baseline.files.items():
            path = Path(folder, name)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        program = str(Path(folder, task.primary))
        for split in SPLITS:
            result = evaluate(program, task.split_instances(split))
            measured[split] = result.score if result.valid else None
            if not result.valid:
                reasons[split] = result.reason
    return {
        "name": baseline.name,
        "measured": measured,
        "documented": {split: baseline.scores.get(split) for split in SPLITS},
        "invalid": reasons,
        "seconds": time.perf_counter() - started,
    }


def evolve(name: str, budget: int, seed: int, strategy: str, root: Path) -> dict[str, Any]:
    """One offline run; the seed's and the best-on-train candidate's scores per split."""
    db = f"sqlite:///{root / f'{name}.db'}"
    started = time.perf_counter()
    outcome = run_task(name, db=db, max_evaluations=budget, seed=seed, strategy=strategy)
    wall_s = time.perf_counter() - started
    repo = Repository(open_database(db))
    report = repo.generalization(outcome.run_id)
    summary = repo.run_summary(outcome.run_id)

    def row(role: str) -> dict[str, float | None]:
        found = next((r for r in report["rows"] if role in r["roles"]), None)
        return {split: found[split] if found else None for split in SPLITS}

    return {
        "run_id": outcome.run_id,
        "wall_s": wall_s,
        "evaluations": summary["evaluations"],
        "stop_reason": summary.get("stop_reason"),
        "seed": row("seed"),
        "best_on_train": row("best on train"),
        "best_on_validation": row("best on validation"),
        "seed_is_best": any({"seed", "best on train"} <= set(r["roles"]) for r in report["rows"]),
    }


PUBLISHED: dict[str, dict[str, float]] = {
    "spot_scheduling": {"public_greedy": 28.0, "public_uniform_progress": 45.0},
    "txn_scheduling": {"public_greedy": 38.0},
    "cloudcast": {"shortest_paths": 26.74},
    "model_placement": {"greedy": 60.82},
}
"""The published public scores of the baselines each task reproduces (the ADRS
leaderboard's; txn's greedy is randomised, published 352 ticks: seed 0 gives 369)."""


UNITS: dict[str, tuple[str, ...]] = {
    "spot_scheduling": ("public_cost_usd", "late_scenarios"),
    "txn_scheduling": ("public_makespan",),
    "cloudcast": ("public_cost_usd",),
    "model_placement": ("public_avg_max_kv_pressure",),
}
"""The figures each public benchmark publishes in its own units."""


def score_public(task: Task) -> dict[str, Any]:
    """Every baseline with a public figure, scored here on the public instances by the
    task's own `evaluate`, beside the figure it documents and the published one."""
    instances = load_public_instances(task)
    evaluate = evaluator(task)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for baseline in task.baselines:
            if "public" not in baseline.scores:
                continue
            for name, text in baseline.files.items():
                Path(folder, name).write_text(text)
            result = evaluate(str(Path(folder, task.primary)), instances)
            rows.append(
                {
                    "name": baseline.name,
                    "measured": result.score if result.valid else None,
                    "documented": baseline.scores["public"],
                    "published": PUBLISHED.get(task.name, {}).get(baseline.name),
                    "units": {k: result.metrics.get(k) for k in UNITS.get(task.name, ())},
                }
            )
    return {"instances": len(instances), "baselines": rows}


def evolve_public(name: str, budget: int, seed: int, strategy: str, root: Path) -> dict[str, Any]:
    """One offline run searching on the public protocol (`--train-on public`)."""
    db = f"sqlite:///{root / f'{name}-public.db'}"
    started = time.perf_counter()
    outcome = run_task(
        name, db=db, max_evaluations=budget, seed=seed, strategy=strategy, train_on="public"
    )
    summary = Repository(open_database(db)).run_summary(outcome.run_id)
    return {
        "run_id": outcome.run_id,
        "wall_s": time.perf_counter() - started,
        "seed": summary["seed_score"],
        "best": summary["best_score"],
        "reference": summary["reference_score"],
    }


def public_table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| task | baseline | published | documented | measured | public units |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        for base in row["public"]["baselines"]:
            units = ", ".join(f"{k} {fmt(v, 6)}" for k, v in base["units"].items())
            lines.append(
                f"| {row['task']} | {base['name']} | {fmt(base['published'])} "
                f"| {fmt(base['documented'])} | {fmt(base['measured'])} | {units} |"
            )
    lines += [
        "",
        "| task | searched on public: seed | evolved best | reference (published baseline) "
        "| wall s |",
        "| --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        run = row["public_run"]
        lines.append(
            f"| {row['task']} | {fmt(run['seed'])} | {fmt(run['best'])} "
            f"| {fmt(run['reference'])} | {run['wall_s']:.0f} |"
        )
    return "\n".join(lines)


def fmt(value: float | None, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}g}"


def ratio(evolved: float | None, baseline: float | None) -> float | None:
    if evolved is None or baseline is None or baseline == 0:
        return None
    return evolved / baseline


def triple(values: dict[str, float | None], digits: int = 4) -> str:
    return " / ".join("-" if values[s] is None else f"{values[s]:.{digits}f}" for s in SPLITS)


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| task | baseline (name) train / val / test | seed train / val / test "
        "| evolved best train / val / test | evolved / baseline | wall s |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        base, run = row["baseline"], row["run"]
        lines.append(
            f"| {row['task']} | {triple(base['measured'])} ({base['name']}) "
            f"| {triple(run['seed'])} | {triple(run['best_on_train'])} "
            f"| {triple(row['ratio'], 3)} | {run['wall_s']:.0f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default=",".join(OFFLINE_TASKS))
    parser.add_argument("--budget", type=int, default=60, help="evaluations per run")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--strategy", default="islands")
    parser.add_argument(
        "--public-budget",
        type=int,
        default=100,
        help="evaluations of the run searching on each task's public protocol (0: none)",
    )
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "tasks-last-run.json")
    args = parser.parse_args()
    names = [name for name in args.tasks.split(",") if name]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            task = resolve_task(name)
            base = score_baseline(task)
            run = evolve(name, args.budget, args.seed, args.strategy, Path(tmp))
            public: dict[str, Any] = {}
            public_run: dict[str, Any] = {}
            if task.public_protocol and args.public_budget:
                public = score_public(task)
                public_run = evolve_public(
                    name, args.public_budget, args.seed, args.strategy, Path(tmp)
                )
            rows.append(
                {
                    "task": name,
                    "baseline": base,
                    "run": run,
                    "public": public,
                    "public_run": public_run,
                    "ratio": {
                        split: ratio(run["best_on_train"][split], base["measured"][split])
                        for split in SPLITS
                    },
                }
            )
    print(
        f"{args.budget} evaluations, seed {args.seed}, strategy {args.strategy}, "
        "mutate proposer, process sandbox; every score maximised"
    )
    print(table(rows))
    with_public = [row for row in rows if row["public"]]
    if with_public:
        print(
            f"\nOn the public protocols (the public benchmarks' instances and rules, their "
            f"0..100 scores); the search: {args.public_budget} evaluations, --train-on public"
        )
        print(public_table(with_public))
    for row in rows:
        base, run = row["baseline"], row["run"]
        counts = run["evaluations"]
        print(
            f"{row['task']}: {counts['total']} evaluations ({counts['ok']} ok), best on "
            f"validation {triple(run['best_on_validation'])}, baseline scored in "
            f"{base['seconds']:.2f} s"
        )
        if base["invalid"]:
            print(f"{row['task']}: baseline {base['name']} invalid: {base['invalid']}")
        drift = [
            split
            for split in SPLITS
            if base["documented"][split] is not None
            and base["measured"][split] is not None
            and abs(base["measured"][split] - base["documented"][split]) > 1e-6
        ]
        if drift:
            print(f"{row['task']}: baseline {base['name']} differs from its README on {drift}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "date": datetime.now(UTC).isoformat(timespec="seconds"),
                "machine": platform.platform(),
                "budget": args.budget,
                "seed": args.seed,
                "strategy": args.strategy,
                "rows": rows,
            },
            indent=2,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
