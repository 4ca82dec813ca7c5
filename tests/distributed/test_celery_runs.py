"""Runs on the celery executor: real Redis, real PostgreSQL, real worker processes.

Every test reads its verdict from the shared store (what a user's `show` reads) and
from the workers' own logs (which message each one was handed).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import EVOFORGE, run_cli
from sqlalchemy import text

from evoforge.store import open_database

pytestmark = pytest.mark.slow


def store_facts(db_url: str) -> dict[str, Any]:
    """What the store holds: one row per evaluation, with its seq and host."""
    with open_database(db_url) as db, db.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT candidate_id, seq, host, status, sandbox FROM evaluations ORDER BY seq")
        ).all()
        run = conn.execute(text("SELECT id, status, evaluation_count FROM runs")).one()
        pending = conn.execute(
            text("SELECT count(*) FROM candidates WHERE status = 'pending'")
        ).scalar_one()
    return {
        "candidates": [r.candidate_id for r in rows],
        "seqs": [r.seq for r in rows],
        "hosts": {r.candidate_id: r.host for r in rows},
        "statuses": Counter(r.status for r in rows),
        "sandboxes": Counter(r.sandbox for r in rows),
        "run_id": run.id,
        "run_status": run.status,
        "evaluation_count": run.evaluation_count,
        "pending": pending,
    }


def assert_stored_once(facts: dict[str, Any], budget: int) -> None:
    assert facts["run_status"] == "finished"
    assert len(facts["candidates"]) == budget
    assert len(set(facts["candidates"])) == budget, "a candidate was stored twice"
    assert facts["seqs"] == list(range(1, budget + 1))
    assert facts["evaluation_count"] == budget
    assert facts["pending"] == 0


def run_json(*args: str, timeout: float = 240, expect: int = 0) -> dict[str, Any]:
    """The command's JSON; `expect` 1 for a run with no ok evaluation (the CLI exits 1)."""
    result = run_cli(*args, "--json", timeout=timeout)
    assert result.returncode == expect, result.stderr[-3000:]
    return json.loads(result.stdout)


def resend(broker: str, db_url: str, run_id: str, candidate_id: str) -> dict[str, Any]:
    """Publish a candidate's job again, as a re-delivery would, and wait for the answer."""
    from evoforge.executors.distributed.settings import TASK_NAME, make_app
    from evoforge.jobs import EvaluationJob
    from evoforge.store import Repository
    from evoforge.task import Task

    with open_database(db_url) as db:
        repo = Repository(db)
        task = Task.model_validate(repo.get_run(run_id).task_json)
        files = repo.candidate_view(candidate_id).files
    job = EvaluationJob.for_candidate(task, run_id, candidate_id, dict(files), "process")
    app = make_app(broker)
    try:
        sent = app.send_task(
            TASK_NAME, args=[job.model_dump(mode="json"), {}], task_id=f"{candidate_id}-again",
            queue="cpu",
        )  # fmt: skip
        return sent.get(timeout=60)
    finally:
        app.close()


def start_run(out: Path, *args: str) -> subprocess.Popen[bytes]:
    """`evoforge run ARGS` in the background, its output (progress, notices) in `out`."""
    with out.open("w") as sink:
        return subprocess.Popen(
            [*EVOFORGE, "run", *args],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env={**os.environ, "COLUMNS": "200"},
        )


def wait_for(
    condition: Callable[[], bool], explain: Callable[[], str], timeout_s: float = 60
) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, explain()
        time.sleep(0.05)


def test_a_run_on_two_workers_completes_with_every_evaluation_stored_once(
    redis_server, pg_url, start_worker, sleepy_task
) -> None:
    one = start_worker("w1@test", broker=redis_server.url, db=pg_url)
    two = start_worker("w2@test", broker=redis_server.url, db=pg_url)
    task = sleepy_task(0.3)

    summary = run_json(
        "run", str(task), "--broker", redis_server.url, "--db", pg_url,
        "--max-evaluations", "12", "-E", "2", "--seed", "1",
    )  # fmt: skip

    assert summary["evaluations"]["ok"] == 12
    facts = store_facts(pg_url)
    assert_stored_once(facts, 12)
    assert set(facts["hosts"].values()) == {"w1@test", "w2@test"}, "both workers evaluate"
    # Each worker forks its evaluations from warm servers of its own.
    assert all(",warm)" in sandbox for sandbox in facts["sandboxes"]), facts["sandboxes"]
    handed = one.received() + two.received()
    assert sorted(handed) == sorted(facts["candidates"]), "each job delivered exactly once"

    # A job delivered again after its evaluation was stored (an acknowledgement lost to
    # a broker restart) is answered from the store: nothing runs, nothing is added.
    again = resend(redis_server.url, pg_url, facts["run_id"], facts["candidates"][3])
    assert again["host"] == facts["hosts"][facts["candidates"][3]]
    assert store_facts(pg_url)["evaluation_count"] == 12
    wait_for(lambda: "answering from the store" in one.text() + two.text(), one.text)


def test_a_worker_killed_mid_evaluation_loses_nothing_and_its_job_runs_elsewhere(
    redis_server, pg_url, start_worker, sleepy_task, tmp_path: Path
) -> None:
    victim = start_worker("victim@test", broker=redis_server.url, db=pg_url)
    survivor = start_worker("survivor@test", broker=redis_server.url, db=pg_url)
    task = sleepy_task(1.0)
    budget = 10
    out = tmp_path / "run.out"
    run = start_run(
        out, str(task), "--broker", redis_server.url, "--db", pg_url,
        "--max-evaluations", str(budget), "-E", "2", "--seed", "3",
    )  # fmt: skip

    # Wait until the victim has finished one evaluation and is inside the next one.
    wait_for(lambda: bool(victim.succeeded()) and victim.evaluating(), victim.text)
    lost = [c for c in victim.received() if c not in victim.succeeded()]
    victim.kill_like_a_lost_machine()

    assert run.wait(timeout=180) == 0, out.read_text()[-3000:]
    facts = store_facts(pg_url)
    assert_stored_once(facts, budget)
    assert len(lost) == 1
    assert facts["hosts"][lost[0]] == "survivor@test", "the lost evaluation ran again elsewhere"
    assert lost[0] in survivor.received()


def test_a_redis_restart_pauses_the_run_which_then_completes(
    redis_server, pg_url, start_worker, sleepy_task, tmp_path: Path
) -> None:
    worker = start_worker("w1@test", broker=redis_server.url, db=pg_url, concurrency=2)
    task = sleepy_task(0.2)
    budget = 16
    err = tmp_path / "run.out"
    run = start_run(
        err, str(task), "--broker", redis_server.url, "--db", pg_url,
        "--max-evaluations", str(budget), "-E", "2", "--seed", "5",
    )  # fmt: skip
    wait_for(lambda: len(worker.succeeded()) >= 3, worker.text)

    redis_server.restart(down_s=3.0)

    assert run.wait(timeout=180) == 0, err.read_text()[-3000:]
    shown = err.read_text()
    assert "paused:" in shown
    assert "unreachable" in shown or "cannot read results" in shown
    assert "continuing" in shown
    assert_stored_once(store_facts(pg_url), budget)
    assert worker.proc is not None and worker.proc.poll() is None, "the worker survived"


def test_a_failing_candidate_is_stored_once_and_never_retried(
    redis_server, pg_url, start_worker, tmp_path: Path
) -> None:
    from cli_helpers import write_folder_task

    worker = start_worker("w1@test", broker=redis_server.url, db=pg_url)
    task = write_folder_task(
        tmp_path,
        "crashing",
        {
            "task.toml": """
                name = "crashing"
                files = ["program.py"]
                evaluate = "evaluate.py:evaluate"
                [resources]
                timeout_s = 5
            """,
            "program.py": "# EVOLVE-BLOCK-START\nX = 3.0\n# EVOLVE-BLOCK-END\n",
            "evaluate.py": "import os\n\ndef evaluate(program_path):\n    os._exit(3)\n",
        },
    )
    summary = run_json(
        "run", str(task), "--broker", redis_server.url, "--db", pg_url,
        "--max-evaluations", "4", "-E", "1", "--seed", "1", expect=1,
    )  # fmt: skip
    facts = store_facts(pg_url)
    assert summary["evaluations"]["crashed"] == 4
    assert {g["status"] for g in summary["failures"]} == {"crashed"}
    assert sum(g["count"] for g in summary["failures"]) == 4
    assert_stored_once(facts, 4)
    assert Counter(worker.received()) == Counter(facts["candidates"]), "no candidate retried"


def test_gpu_jobs_go_to_the_gpu_queue_and_hold_one_gpu_each(
    redis_server, pg_url, start_worker, sleepy_task
) -> None:
    start_worker(
        "gpu@test", broker=redis_server.url, db=pg_url, queues="gpu", concurrency=3, gpus="0,1"
    )
    task = sleepy_task(0.4, name="gpu_task", gpus=1)
    run_json(
        "run", str(task), "--broker", redis_server.url, "--db", pg_url,
        "--max-evaluations", "6", "-E", "3", "--seed", "2",
    )  # fmt: skip
    with open_database(pg_url) as db, db.engine.connect() as conn:
        metrics = [
            json.loads(m) if isinstance(m, str) else m
            for (m,) in conn.execute(text("SELECT metrics_json FROM evaluations"))
        ]
    assert {m["visible"] for m in metrics} == {"0", "1"}
    for gpu in ("0", "1"):
        spans = sorted((m["start"], m["end"]) for m in metrics if m["visible"] == gpu)
        for (_, end), (start, _) in zip(spans, spans[1:], strict=False):
            assert start >= end, f"two evaluations overlapped on GPU {gpu}: {spans}"


def test_a_run_with_no_worker_says_so_and_goes_on_once_one_starts(
    redis_server, pg_url, start_worker, sleepy_task, tmp_path: Path
) -> None:
    config = tmp_path / "run.toml"
    config.write_text("[executor_options]\nstall_s = 1.0\n")
    out = tmp_path / "run.out"
    run = start_run(
        out, str(sleepy_task(0.0)), "--broker", redis_server.url, "--db", pg_url,
        "--config", str(config), "--max-evaluations", "3", "--seed", "1",
    )  # fmt: skip
    wait_for(lambda: "no worker has started one" in out.read_text(), out.read_text)
    assert run.poll() is None
    assert "evoforge worker --queues cpu" in " ".join(out.read_text().split())

    start_worker("late@test", broker=redis_server.url, db=pg_url)

    assert run.wait(timeout=120) == 0, out.read_text()[-3000:]
    assert "continuing" in out.read_text()
    assert_stored_once(store_facts(pg_url), 3)


def test_an_interrupted_run_keeps_what_workers_finished_and_resume_repeats_nothing(
    redis_server, pg_url, start_worker, sleepy_task, tmp_path: Path
) -> None:
    workers = [start_worker(f"w{i}@test", broker=redis_server.url, db=pg_url) for i in (1, 2)]
    budget = 8
    out = tmp_path / "run.out"
    run = start_run(
        out, str(sleepy_task(1.0)), "--broker", redis_server.url, "--db", pg_url,
        "--max-evaluations", str(budget), "-E", "2", "--seed", "4",
    )  # fmt: skip
    wait_for(lambda: len(workers[0].succeeded() + workers[1].succeeded()) >= 3, out.read_text)
    wait_for(lambda: any(w.evaluating() for w in workers), out.read_text)
    run.send_signal(signal.SIGINT)
    assert run.wait(timeout=60) == 130, out.read_text()[-3000:]
    run_id = store_facts(pg_url)["run_id"]

    # What was running when the user pressed Ctrl-C finishes and is stored.
    wait_for(lambda: not any(w.evaluating() for w in workers), out.read_text, timeout_s=30)
    time.sleep(0.5)
    stored_before = set(store_facts(pg_url)["candidates"])
    handed_before = set(workers[0].received() + workers[1].received())
    assert handed_before <= stored_before, "an evaluation a worker started was lost"

    resumed = run_cli("resume", run_id, "--db", pg_url, timeout=240)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    facts = store_facts(pg_url)
    assert_stored_once(facts, budget)
    handed = workers[0].received() + workers[1].received()
    assert Counter(handed) == Counter(facts["candidates"]), "resume ran nothing twice"
