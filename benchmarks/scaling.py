"""Scaling of the celery executor over worker processes, and its dispatch overhead.

Starts a private redis-server (Debian's package) and real `evoforge worker`
processes, one pool process each, like one machine each. The store is a SQLite
file, or any `--db` URL (a PostgreSQL database for the multi-machine picture).

1. **Scaling**: an evaluator that sleeps `--eval-time` seconds (1 s) through 1, 2
   and 4 workers, with as many evaluations in flight as workers. Throughput is
   counted between the seed's evaluation and the last one stored (start-up of the
   run is not steady state), and compared with one worker: the target is at least
   0.9 of linear.
2. **Dispatch overhead**: an instant evaluator with one evaluation in flight, once
   through the local executor and once through Celery with one worker, in this one
   script; the difference of the per-evaluation times is what Celery, Redis and the
   worker's own store writes add (target: at most 15 ms).

    python benchmarks/scaling.py [--workers 1,2,4] [--eval-time 1] [--per-worker 10]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import textwrap
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from sqlalchemy import text  # noqa: E402
from support.celery_workers import Worker  # noqa: E402
from support.redis_server import RedisServer  # noqa: E402

from evoforge.api import run_task  # noqa: E402
from evoforge.store.database import open_database  # noqa: E402

TASK_TOML = """
name = "sleep_{tag}"
files = ["program.py"]
evaluate = "evaluate.py:evaluate"
[resources]
timeout_s = 30
"""
PROGRAM = "# EVOLVE-BLOCK-START\nX = 1.0\n# EVOLVE-BLOCK-END\n"
EVALUATE = """
import time

def evaluate(program_path):
    scope = {{}}
    exec(open(program_path).read(), scope)
    time.sleep({sleep})
    return -abs(scope["X"] - 3.0)
"""


def task_folder(root: Path, tag: str, sleep: float) -> Path:
    folder = root / f"task_{tag}"
    folder.mkdir()
    (folder / "task.toml").write_text(textwrap.dedent(TASK_TOML.format(tag=tag)))
    (folder / "program.py").write_text(PROGRAM)
    (folder / "evaluate.py").write_text(EVALUATE.format(sleep=sleep))
    return folder


def steady_rate(db_url: str, run_id: str) -> tuple[float, int]:
    """Evaluations per second after the seed's, and how many were counted."""
    with open_database(db_url) as db, db.engine.connect() as conn:
        stamps: list[datetime] = [
            row[0]
            for row in conn.execute(
                text("SELECT created_at FROM evaluations WHERE run_id = :r ORDER BY seq"),
                {"r": run_id},
            )
        ]
    first, last = stamps[0], stamps[-1]
    if isinstance(first, str):  # SQLite without the ORM's type: parse it
        first, last = datetime.fromisoformat(first), datetime.fromisoformat(last)
    return (len(stamps) - 1) / (last - first).total_seconds(), len(stamps) - 1


def one_run(
    folder: Path, db_url: str, slots: int, evaluations: int, broker: str | None
) -> tuple[float, int]:
    options = {"executor": "celery", "broker": broker} if broker else {"executor": "local"}
    outcome = run_task(
        folder,
        db=db_url,
        max_evaluations=evaluations,
        evaluation_slots=slots,
        proposal_slots=2,
        seed=1,
        **options,
    )
    return steady_rate(db_url, outcome.run_id)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--eval-time", type=float, default=1.0)
    parser.add_argument("--per-worker", type=int, default=10, help="evaluations per worker")
    parser.add_argument("--instant-evaluations", type=int, default=60)
    parser.add_argument("--db", default=None, help="store URL (default: a SQLite file)")
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",")]

    with tempfile.TemporaryDirectory(prefix="evoforge-scaling-") as tmp:
        root = Path(tmp)
        db_url = args.db or f"sqlite:///{root / 'store.db'}"
        redis = RedisServer(root / "redis").start()
        workers: list[Worker] = []
        try:
            sleepy = task_folder(root, "sleepy", args.eval_time)
            rows = []
            for n in counts:
                while len(workers) < n:
                    name = f"bench{len(workers) + 1}@scaling"
                    workers.append(
                        Worker(
                            name,
                            broker=redis.url,
                            db=db_url,
                            log=root / f"{name}.log",
                            visibility_timeout=120,
                        ).start()
                    )
                rate, counted = one_run(
                    sleepy, db_url, n, 1 + n * args.per_worker, redis.url
                )  # fmt: skip
                rows.append((n, rate, counted))
                print(f"  {n} worker(s): {rate:.3f} evaluations/s over {counted}", flush=True)
            for worker in workers[1:]:
                worker.stop()
            workers = workers[:1]

            instant = task_folder(root, "instant", 0.0)
            local_rate, local_n = one_run(instant, db_url, 1, args.instant_evaluations, None)
            celery_rate, celery_n = one_run(instant, db_url, 1, args.instant_evaluations, redis.url)
        finally:
            for worker in workers:
                worker.stop()
            redis.stop()

    base = rows[0][1]
    print(f"\nScaling: evaluator sleeps {args.eval_time:g} s, one evaluation in flight per worker")
    print(f"{'workers':>8} {'eval/s':>8} {'speed-up':>9} {'of linear':>10}")
    for n, rate, _ in rows:
        speedup = rate / base
        print(f"{n:>8} {rate:>8.3f} {speedup:>8.2f}x {speedup / n:>9.0%}")
    local_ms, celery_ms = 1000 / local_rate, 1000 / celery_rate
    print("\nDispatch overhead: instant evaluator, process sandbox, one evaluation in flight")
    print(f"  local executor : {local_ms:7.1f} ms per evaluation ({local_n} evaluations)")
    print(f"  celery, 1 worker: {celery_ms:7.1f} ms per evaluation ({celery_n} evaluations)")
    print(f"  overhead       : {celery_ms - local_ms:+7.1f} ms per evaluation "
          f"({celery_ms / local_ms:.2f}x the local path)")  # fmt: skip


if __name__ == "__main__":
    main()
