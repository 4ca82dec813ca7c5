"""Several processes writing one store at once, as an orchestrator and its workers do.

Each writer is a separate OS process with its own `open_database` (threads would
share one interpreter and hide what separate connections do to each other). The
processes start writing together behind a barrier, and the checks are what a user
would see afterwards: no candidate lost or evaluated twice, gap-free sequence
numbers, and run counters that agree with the rows.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import queue
import time
import traceback
from collections import Counter
from multiprocessing.synchronize import Barrier
from typing import TYPE_CHECKING, Any

from sqlalchemy import create_engine, func, select
from sqlalchemy.pool import NullPool

from evoforge.jobs import EvaluationOutcome
from evoforge.store import Repository, open_database
from evoforge.store.migrations import current_revision, head_revision
from evoforge.store.models import Candidate, Evaluation, Run
from evoforge.task import ArtifactFile, Task

if TYPE_CHECKING:
    from support.postgres import PostgresServer

EVALUATORS = 4
PREMADE = 40
"""Candidates that exist before the writers start; each is recorded by two evaluators."""
ADDED = 20
"""Candidates the two adders both try to add (same files) while the evaluators run."""
START_TIMEOUT_S = 120.0
FINISH_TIMEOUT_S = 300.0


def _files(n: int) -> dict[str, str]:
    return {"main.py": f"x = {n}\n"}


def _score(n: int) -> float:
    return float((n * 37) % 101)


def _task() -> Task:
    return Task(
        name="toy",
        files=[ArtifactFile(name="main.py", seed="x = 1\n")],
        evaluate="toy.evaluate:evaluate",
        source="tests",
    )


# -- what each process runs (top level, so the spawn context can import it) ----------


def _report(results: Any, name: str, work: Any) -> None:
    try:
        results.put((name, work(), None))
    except BaseException:  # the parent fails the test with this traceback
        results.put((name, None, traceback.format_exc()))


def _evaluate(
    url: str, candidate_ids: list[tuple[str, int]], start: Barrier, results: Any, name: str
) -> None:
    def work() -> list[tuple[str, bool]]:
        database = open_database(url)
        try:
            repo = Repository(database)
            start.wait(START_TIMEOUT_S)
            return [
                (cid, repo.record_evaluation(cid, EvaluationOutcome(status="ok", score=_score(n))))
                for cid, n in candidate_ids
            ]
        finally:
            database.close()

    _report(results, name, work)


def _add(url: str, run_id: str, parent_id: str, start: Barrier, results: Any, name: str) -> None:
    def work() -> list[str]:
        database = open_database(url)
        try:
            repo = Repository(database)
            start.wait(START_TIMEOUT_S)
            mine = []
            for n in range(PREMADE, PREMADE + ADDED):
                view = repo.add_candidate(run_id, _files(n), parent_id=parent_id, proposer=name)
                if view is not None:  # the other adder got these files in first otherwise
                    repo.record_evaluation(view.id, EvaluationOutcome(status="ok", score=_score(n)))
                    mine.append(view.id)
            return mine
        finally:
            database.close()

    _report(results, name, work)


def _open_and_create_a_run(url: str, start: Barrier, results: Any, name: str) -> None:
    def work() -> str:
        start.wait(START_TIMEOUT_S)
        with open_database(url) as database:
            return Repository(database).create_run(_task(), {"opener": name})

    _report(results, name, work)


Writers = dict[str, tuple[Any, tuple[Any, ...]]]


def _run_all(writers: Writers) -> dict[str, Any]:
    """Start one spawned process per named writer, all released at once by a shared
    barrier; their results by name. Any process failing fails the test with its
    traceback."""
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(len(writers))
    results = context.Queue()
    processes = [
        context.Process(target=target, args=(*args, start, results, name))
        for name, (target, args) in writers.items()
    ]
    for process in processes:
        process.start()
    collected: list[tuple[str, Any, str | None]] = []
    deadline = time.monotonic() + FINISH_TIMEOUT_S
    try:
        while len(collected) < len(processes) and time.monotonic() < deadline:
            try:
                collected.append(results.get(timeout=1))
            except queue.Empty:
                if not any(process.is_alive() for process in processes):
                    with contextlib.suppress(queue.Empty):
                        while True:  # whatever the last ones sent before exiting
                            collected.append(results.get(timeout=1))
                    break
    finally:
        for process in processes:
            process.join(timeout=60)
            if process.is_alive():
                process.kill()
    failures = [f"{name}:\n{error}" for name, _, error in collected if error is not None]
    assert not failures, "\n".join(failures)
    silent = set(writers) - {name for name, _, _ in collected}
    assert not silent, f"writers died or hung without reporting: {sorted(silent)}"
    return {name: value for name, value, _ in collected}


# -- the tests -----------------------------------------------------------------------


def test_concurrent_writers_never_lose_or_double_rows(db_url: str) -> None:
    _write_concurrently_and_check(db_url)


def test_concurrent_writers_on_a_postgresql_database_defaulting_to_serializable(
    postgres: PostgresServer,
) -> None:
    """A server set to a stricter isolation level than the store expects must not
    turn a waiting writer's turn into a serialization error."""
    db_url = postgres.create_database()
    try:
        engine = create_engine(db_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        with engine.connect() as connection:
            connection.exec_driver_sql(
                f'ALTER DATABASE "{engine.url.database}" '
                "SET default_transaction_isolation = 'serializable'"
            )
        with engine.connect() as connection:  # a new session sees the new default
            shown = connection.exec_driver_sql("SHOW default_transaction_isolation").scalar()
        engine.dispose()
        assert shown == "serializable"
        _write_concurrently_and_check(db_url)
    finally:
        postgres.drop_database(db_url)


def _write_concurrently_and_check(db_url: str) -> None:
    with open_database(db_url) as database:
        repo = Repository(database)
        run_id = repo.create_run(_task(), {})
        premade = []
        for n in range(PREMADE):
            view = repo.add_candidate(run_id, _files(n), kind="seed" if n == 0 else "mutation")
            assert view is not None
            premade.append((view.id, n))

    # Candidate i goes to evaluators i % 4 and (i + 1) % 4, which walk their share in
    # the same order, so the two deliveries of each candidate race each other.
    shares = [
        [(cid, n) for cid, n in premade if e in (n % EVALUATORS, (n + 1) % EVALUATORS)]
        for e in range(EVALUATORS)
    ]
    parent = premade[0][0]
    writers: Writers = {f"evaluator-{e}": (_evaluate, (db_url, s)) for e, s in enumerate(shares)}
    writers |= {f"adder-{a}": (_add, (db_url, run_id, parent)) for a in range(2)}
    results = _run_all(writers)

    accepted = Counter(
        cid
        for name, delivered in results.items()
        if name.startswith("evaluator-")
        for cid, stored in delivered
        if stored
    )
    added = [cid for name, mine in results.items() if name.startswith("adder-") for cid in mine]
    assert accepted == Counter(cid for cid, _ in premade)  # each delivery pair: one True
    assert len(added) == ADDED  # identical files from two adders: stored once

    with open_database(db_url) as database:
        with database.session() as session:
            run = session.get(Run, run_id)
            assert run is not None
            candidates = dict(
                session.execute(
                    select(Candidate.id, Candidate.seq).where(Candidate.run_id == run_id)
                ).all()
            )
            evaluations = session.execute(
                select(Evaluation.candidate_id, Evaluation.seq, Evaluation.score).where(
                    Evaluation.run_id == run_id
                )
            ).all()
            statuses = set(
                session.scalars(select(Candidate.status).where(Candidate.run_id == run_id))
            )
            hashes = session.scalar(
                select(func.count(func.distinct(Candidate.content_hash))).where(
                    Candidate.run_id == run_id
                )
            )
        summary = Repository(database).run_summary(run_id)

    total = PREMADE + ADDED
    assert set(candidates) == {cid for cid, _ in premade} | set(added)
    assert sorted(candidates.values()) == list(range(1, total + 1))
    assert hashes == total
    assert Counter(cid for cid, _, _ in evaluations) == Counter(dict.fromkeys(candidates, 1))
    assert sorted(seq for _, seq, _ in evaluations) == list(range(1, total + 1))
    assert statuses == {"evaluated"}
    assert (run.candidate_count, run.evaluation_count) == (total, total)
    best = max(evaluations, key=lambda row: row[2])
    assert (run.best_score, run.seed_score) == (best[2], _score(0))
    assert summary["pending"] == 0
    assert summary["evaluations"]["total"] == total


def test_several_processes_opening_a_new_database_at_once_all_succeed(db_url: str) -> None:
    """Each opener migrates the empty database unless another already has; none fails."""
    results = _run_all({f"opener-{i}": (_open_and_create_a_run, (db_url,)) for i in range(5)})

    with open_database(db_url) as database:
        runs = Repository(database).list_runs()
        with database.engine.connect() as connection:
            assert current_revision(connection) == head_revision()
    assert sorted(r["run_id"] for r in runs) == sorted(results.values())
