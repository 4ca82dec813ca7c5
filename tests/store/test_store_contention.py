"""A busy or briefly unreachable store pauses the run; it never fails it.

The locks here are taken by a real second process, as a second run, a backup or a
hostile candidate would take them: a `BEGIN EXCLUSIVE` transaction, and the attack
that was reported, a read lock on the WAL lock bytes of the `-shm` file through a
read-only descriptor. (POSIX locks belong to a process, so a thread of the test
could not stand in for the attacker: its locks would merge with the store's own.)
SQLite's busy timeout is cut to 100 ms here so each lock reaches the store's retry
within the test's few seconds, and the checks are what a user sees afterwards: the
write went through once, whole, and the log said the run paused.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
import pytest
from sqlalchemy import Engine, create_engine, event, select, text
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

from evoforge.api import run_task
from evoforge.jobs import EvaluationOutcome
from evoforge.presses import noting_presses
from evoforge.proposals import CandidateView
from evoforge.store import Database, Repository, StoreError, StoreUnavailable, open_database
from evoforge.store import database as database_module
from evoforge.store.models import Evaluation, Run
from evoforge.store.retry import PATIENCE_ENV, Retrier, transient_reason
from evoforge.task import ArtifactFile, Task

if TYPE_CHECKING:
    from support.postgres import PostgresServer

STORE_LOG = "evoforge.store"
BUSY = "store busy"

LOCKER = r"""
import fcntl, os, sqlite3, sys, time

path, mode, hold, free, cycles = sys.argv[1:6]
hold, free = float(hold), float(free)
# SQLite's unix VFS locks bytes 120-127 of the -shm file (WAL write lock, checkpoint,
# recovery, five read marks) and 128 (the "is anyone here" byte); byte 120 is the one
# every writer needs exclusively.
SHM_LOCKS, SHM_LOCK_BYTES = 120, 9
for cycle in range(int(cycles)):
    kind = mode if mode != "both" else ("exclusive", "shm")[cycle % 2]
    if kind == "exclusive":
        holder = sqlite3.connect(path, isolation_level=None, timeout=30)
        holder.execute("BEGIN EXCLUSIVE")
    else:
        holder = os.open(path + "-shm", os.O_RDONLY)
        fcntl.lockf(holder, fcntl.LOCK_SH, SHM_LOCK_BYTES, SHM_LOCKS, os.SEEK_SET)
    print("locked", kind, flush=True)
    time.sleep(hold)
    if kind == "exclusive":
        holder.execute("ROLLBACK")
        holder.close()
    else:
        os.close(holder)
    print("released", flush=True)
    time.sleep(free)
"""


@contextlib.contextmanager
def locked(
    path: Path, mode: str, hold_s: float, free_s: float = 0.0, cycles: int = 1
) -> Iterator[subprocess.Popen[str]]:
    """A second process locking the store (`exclusive`, `shm`, or `both` in turn),
    `cycles` times for `hold_s` with `free_s` between; returns once it holds the
    first lock and ends it (by its own Popen) if it is still cycling on exit."""
    locker = subprocess.Popen(
        [sys.executable, "-c", LOCKER, str(path), mode, str(hold_s), str(free_s), str(cycles)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert locker.stdout is not None
        first = locker.stdout.readline()
        assert first.startswith("locked"), f"the locker did not lock: {locker.stderr.read()}"
        yield locker
    finally:
        if locker.poll() is None and cycles > 1:
            locker.terminate()
        _, errors = locker.communicate(timeout=60)
        assert locker.returncode in (0, -15), errors


@pytest.fixture
def quick_retries(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """Locks surface after 100 ms and retries come every 0.05-0.5 s, so each test
    takes seconds; a broken retry fails within a minute rather than ten."""
    monkeypatch.setattr(database_module, "SQLITE_BUSY_TIMEOUT_MS", 100)
    monkeypatch.setattr(
        database_module,
        "Retrier",
        functools.partial(Retrier, first_delay_s=0.05, max_delay_s=0.5),
    )
    monkeypatch.setenv(PATIENCE_ENV, "60")
    caplog.set_level(logging.WARNING, logger=STORE_LOG)


def _task() -> Task:
    return Task(
        name="toy",
        files=[ArtifactFile(name="main.py", seed="x = 1\n")],
        evaluate="toy.evaluate:evaluate",
        source="tests",
    )


@pytest.fixture
def store(tmp_path: Path, quick_retries: None) -> Iterator[tuple[Database, Path]]:
    """A SQLite store with one query done, so its -wal and -shm files exist while the
    test runs (the store's pooled connection keeps them)."""
    path = tmp_path / "evoforge.db"
    database = open_database(f"sqlite:///{path}")
    Repository(database).list_runs()
    assert Path(f"{path}-shm").is_file()
    yield database, path
    database.close()


def _candidate(repo: Repository, n: int = 1) -> tuple[str, CandidateView]:
    run_id = repo.create_run(_task(), {"proposer": "mutate"}, seed=0)
    view = repo.add_candidate(run_id, {"main.py": f"x = {n}\n"})
    assert view is not None
    return run_id, view


def _stored_once(database: Database, run_id: str, candidate_id: str, score: float) -> None:
    """One evaluation row with the score, and the run's counter agreeing: the retried
    transaction was redone whole, never half-stored."""
    with database.session() as session:
        rows = session.execute(
            select(Evaluation.seq, Evaluation.score).where(Evaluation.candidate_id == candidate_id)
        ).all()
        count = session.scalar(select(Run.evaluation_count).where(Run.id == run_id))
    assert [tuple(r) for r in rows] == [(1, score)]
    assert count == 1


def _busy_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if BUSY in r.getMessage()]


# -- SQLite: a second process holds the lock ----------------------------------------


def test_a_write_waits_out_an_exclusive_transaction_in_another_process(
    store: tuple[Database, Path], caplog: pytest.LogCaptureFixture
) -> None:
    database, path = store
    repo = Repository(database)
    run_id, view = _candidate(repo)

    with locked(path, "exclusive", hold_s=1.5):
        started = time.monotonic()
        assert repo.record_evaluation(view.id, EvaluationOutcome(status="ok", score=3.0))
        waited = time.monotonic() - started

    assert waited >= 1.0, "the write went through while the lock was held"
    _stored_once(database, run_id, view.id, 3.0)
    lines = _busy_lines(caplog)
    assert lines, "no retry was logged"
    assert "store busy (database is locked) during record_evaluation" in lines[0]
    assert "the run pauses, retrying in" in lines[0]


def test_a_read_lock_on_the_shm_file_through_a_read_only_descriptor_only_pauses_writes(
    store: tuple[Database, Path], caplog: pytest.LogCaptureFixture
) -> None:
    """The reported attack: the lock that ended the run now costs a pause."""
    database, path = store
    repo = Repository(database)
    run_id, view = _candidate(repo)

    with locked(path, "shm", hold_s=1.5):
        started = time.monotonic()
        assert repo.record_evaluation(view.id, EvaluationOutcome(status="ok", score=4.0))
        waited = time.monotonic() - started
        assert repo.count_candidates(run_id) == 1  # reads never waited

    assert waited >= 1.0
    _stored_once(database, run_id, view.id, 4.0)
    assert _busy_lines(caplog)


def test_a_whole_run_finishes_while_its_store_is_locked_on_and_off(
    store: tuple[Database, Path], caplog: pytest.LogCaptureFixture
) -> None:
    """Both kinds of lock in turn, 60% of the time, from before the run starts."""
    _, path = store
    url = f"sqlite:///{path}"
    with locked(path, "both", hold_s=0.6, free_s=0.4, cycles=1000):
        outcome = run_task("circle_packing", db=url, max_evaluations=8, seed=3)

    assert outcome.summary["evaluations"]["total"] == 8
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            status = connection.scalar(
                text("select status from runs where id = :id"), {"id": outcome.run_id}
            )
            stored = connection.scalar(
                text("select count(*) from evaluations where run_id = :id"),
                {"id": outcome.run_id},
            )
    finally:
        engine.dispose()
    assert (status, stored) == ("finished", 8)
    assert _busy_lines(caplog), "the run never met the lock"


# -- PostgreSQL: the connection is terminated mid-transaction -------------------------


@contextlib.contextmanager
def terminating_backends(url: str, every: int, times: int) -> Iterator[list[int]]:
    """Terminate every connection to the database behind `url` just before each
    `every`-th INSERT into evaluations (at most `times` times), from inside that
    transaction; yields the numbers of the INSERTs that were cut."""
    kills: list[int] = []
    inserts = 0
    conninfo = url.replace("postgresql+psycopg://", "postgresql://")

    def kill(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        nonlocal inserts
        if not statement.lstrip().upper().startswith("INSERT INTO EVALUATIONS"):
            return
        inserts += 1
        if inserts % every or len(kills) >= times:
            return
        with psycopg.connect(conninfo, autocommit=True) as admin:
            admin.execute(
                "select pg_terminate_backend(pid, 5000) from pg_stat_activity "
                "where datname = current_database() and pid <> pg_backend_pid()"
            )
        kills.append(inserts)

    event.listen(Engine, "before_cursor_execute", kill)
    try:
        yield kills
    finally:
        event.remove(Engine, "before_cursor_execute", kill)


@pytest.fixture
def pg_url(postgres: PostgresServer, quick_retries: None) -> Iterator[str]:
    url = postgres.create_database()
    yield url
    postgres.drop_database(url)


def test_a_terminated_postgresql_connection_is_retried_whole(
    pg_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    database = open_database(pg_url)
    try:
        repo = Repository(database)
        run_id, view = _candidate(repo)
        with terminating_backends(pg_url, every=1, times=1) as kills:
            assert repo.record_evaluation(view.id, EvaluationOutcome(status="ok", score=5.0))
        # The first try was cut after it bumped the run's counter; the retry started
        # over, so the counter moved once.
        assert kills == [1]
        _stored_once(database, run_id, view.id, 5.0)
    finally:
        database.close()
    assert any("connection" in line for line in _busy_lines(caplog))


def test_a_pooled_connection_that_died_while_idle_is_replaced_without_a_ping(
    pg_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A server restart or an idle timeout kills the pooled connection between two
    writes; with no pre-ping, the next write meets it dead and is retried whole."""
    database = open_database(pg_url)
    try:
        repo = Repository(database)
        run_id, view = _candidate(repo)  # the pool now holds an idle connection
        with psycopg.connect(pg_url.replace("postgresql+psycopg://", "postgresql://"),
                             autocommit=True) as admin:  # fmt: skip
            killed = admin.execute(
                "select count(*) from (select pg_terminate_backend(pid, 5000) "
                "from pg_stat_activity where datname = current_database() "
                "and pid <> pg_backend_pid()) as terminated"
            ).fetchone()
        assert killed is not None and killed[0] >= 1
        assert repo.record_evaluation(view.id, EvaluationOutcome(status="ok", score=5.0))
        _stored_once(database, run_id, view.id, 5.0)
    finally:
        database.close()
    assert any("connection" in line for line in _busy_lines(caplog))


def test_a_run_on_postgresql_survives_its_connections_being_terminated(
    pg_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with terminating_backends(pg_url, every=3, times=3) as kills:
        outcome = run_task("circle_packing", db=pg_url, max_evaluations=8, seed=3)
    assert outcome.summary["evaluations"]["total"] == 8
    assert kills == [3, 6, 9]
    assert _busy_lines(caplog)


# -- what is not retried ---------------------------------------------------------------


def test_a_missing_table_fails_at_once(
    store: tuple[Database, Path], caplog: pytest.LogCaptureFixture
) -> None:
    database, path = store
    repo = Repository(database)
    run_id, _ = _candidate(repo)
    with contextlib.closing(sqlite3.connect(path)) as other:
        other.execute("drop table proposals")
        other.commit()

    started = time.monotonic()
    with pytest.raises(OperationalError, match="no such table"):
        repo.count_proposals(run_id)
    assert time.monotonic() - started < 1.0
    with pytest.raises(StoreError, match="no candidate"):
        repo.record_evaluation("nope", EvaluationOutcome(status="ok", score=1.0))
    assert not _busy_lines(caplog)


def test_an_integrity_error_is_raised_on_the_first_try(store: tuple[Database, Path]) -> None:
    database, _ = store
    tries = 0

    def duplicate() -> None:
        nonlocal tries
        tries += 1
        raise IntegrityError("INSERT", {}, sqlite3.IntegrityError("UNIQUE constraint failed"))

    with pytest.raises(IntegrityError):
        database.retrying("duplicate", duplicate)
    assert tries == 1


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (sqlite3.OperationalError("database is locked"), "database is locked"),
        (sqlite3.OperationalError("database table is locked"), "database table is locked"),
        (sqlite3.OperationalError("no such table: runs"), None),
        (sqlite3.OperationalError("disk I/O error"), None),
        (psycopg.errors.SerializationFailure("could not serialize"), "serialization failure"),
        (psycopg.errors.DeadlockDetected("deadlock"), "deadlock detected"),
        (psycopg.errors.AdminShutdown("terminating connection"), "administrator"),
        (psycopg.OperationalError("connection failed: Connection refused"), "connection lost"),
        (psycopg.errors.UndefinedTable("relation does not exist"), None),
        (psycopg.OperationalError("password authentication failed"), None),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else str(value),
)
def test_which_errors_are_transient(error: Exception, reason: str | None) -> None:
    wrapped = OperationalError("SELECT 1", {}, error)
    found = transient_reason(wrapped)
    if reason is None:
        assert found is None
    else:
        assert found is not None and reason in found


def test_a_disk_io_error_counts_only_when_a_file_lock_caused_it() -> None:
    from_lock = sqlite3.OperationalError("disk I/O error")
    from_lock.sqlite_errorcode = sqlite3.SQLITE_IOERR_SHMLOCK  # type: ignore[attr-defined]
    from_disk = sqlite3.OperationalError("disk I/O error")
    from_disk.sqlite_errorcode = sqlite3.SQLITE_IOERR  # type: ignore[attr-defined]
    snapshot = sqlite3.OperationalError("database is locked")
    snapshot.sqlite_errorcode = sqlite3.SQLITE_BUSY_SNAPSHOT  # type: ignore[attr-defined]
    assert transient_reason(OperationalError("x", {}, from_lock)) == (
        "disk I/O error from a file lock"
    )
    assert transient_reason(OperationalError("x", {}, from_disk)) is None
    assert transient_reason(OperationalError("x", {}, snapshot)) == "database is locked"
    assert transient_reason(ProgrammingError("x", {}, sqlite3.ProgrammingError("y"))) is None


# -- the schedule ------------------------------------------------------------------------


class FakeTime:
    """A clock that only moves when the retrier sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def _locked_error() -> OperationalError:
    return OperationalError("UPDATE runs", {}, sqlite3.OperationalError("database is locked"))


def _failing(times: int) -> Callable[[], str]:
    left = [times]

    def work() -> str:
        if left[0] > 0:
            left[0] -= 1
            raise _locked_error()
        return "done"

    return work


def test_backoff_doubles_with_jitter_up_to_its_cap(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger=STORE_LOG)
    fake = FakeTime()
    retrier = Retrier("sqlite:///x", 3600, clock=fake.clock, sleep=fake.sleep, rng=random.Random(1))
    assert retrier.call("record_evaluation", _failing(12)) == "done"

    assert len(fake.sleeps) == 12
    for attempt, pause in enumerate(fake.sleeps):
        ceiling = min(30.0, 0.5 * 2**attempt)
        assert ceiling / 2 <= pause <= ceiling
    assert max(fake.sleeps) <= 30.0
    assert len(set(fake.sleeps)) == 12, "no jitter"
    assert len(_busy_lines(caplog)) == 12  # one line per retry
    assert "went through after 12 retries" in caplog.records[-1].getMessage()


def test_patience_runs_out_with_one_line_naming_the_fix() -> None:
    fake = FakeTime()
    retrier = Retrier("sqlite:///x.db", 120, clock=fake.clock, sleep=fake.sleep)
    with pytest.raises(StoreUnavailable) as raised:
        retrier.call("record_evaluation", _failing(10_000))
    message = str(raised.value)
    assert "\n" not in message
    assert "sqlite:///x.db" in message and "database is locked" in message
    assert PATIENCE_ENV in message and "resume" in message
    assert 60 <= fake.now <= 120

    # Having given up, the run's last writes (marking it failed) try once...
    before = len(fake.sleeps)
    with pytest.raises(StoreUnavailable):
        retrier.call("set_run_status", _failing(1))
    assert len(fake.sleeps) == before
    # ...and a success restores the full patience.
    assert retrier.call("get_run", _failing(0)) == "done"
    assert retrier.call("record_evaluation", _failing(3)) == "done"


def test_ctrl_c_during_a_run_ends_the_wait_for_a_locked_store() -> None:
    """Under asyncio the first Ctrl-C only cancels the run's task, which a write
    waiting on a lock never lets run: the wait itself must give way to the press."""
    before = signal.signal(signal.SIGINT, lambda *_: None)  # quiet, like asyncio's
    retrier = Retrier("sqlite:///x", 600)
    press = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
    try:
        with noting_presses():
            press.start()
            began = time.monotonic()
            with pytest.raises(KeyboardInterrupt):
                retrier.call("record_candidate", _failing(10_000))
            waited = time.monotonic() - began
        # After the run's block, the writes that mark it stopped wait as before.
        assert retrier.call("set_run_status", _failing(1)) == "done"
    finally:
        press.cancel()
        signal.signal(signal.SIGINT, before)
    assert 0.3 <= waited < 2.0  # not the 600 s of patience


def test_a_method_calling_another_is_retried_only_as_a_whole() -> None:
    fake = FakeTime()
    retrier = Retrier("sqlite:///x", 60, clock=fake.clock, sleep=fake.sleep)
    inner_tries = 0

    def inner() -> None:
        nonlocal inner_tries
        inner_tries += 1
        if inner_tries == 1:
            raise _locked_error()

    outer_tries = 0

    def outer() -> str:
        nonlocal outer_tries
        outer_tries += 1
        retrier.call("inner", inner)
        return "ok"

    assert retrier.call("outer", outer) == "ok"
    assert (outer_tries, inner_tries, len(fake.sleeps)) == (2, 2, 1)


def test_every_repository_method_is_a_retried_unit_of_work() -> None:
    public = [name for name in dir(Repository) if not name.startswith("_")]
    assert "record_evaluation" in public
    assert [name for name in public if not hasattr(getattr(Repository, name), "__wrapped__")] == []


def test_patience_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'p.db'}"
    monkeypatch.setenv(PATIENCE_ENV, "42")
    with open_database(url) as database:
        assert database.retrier.patience_s == 42
    monkeypatch.setenv(PATIENCE_ENV, "soon")
    with pytest.raises(StoreError, match=PATIENCE_ENV):
        open_database(url)


def test_a_writer_in_another_thread_is_not_blocked_by_a_retrying_one(
    store: tuple[Database, Path],
) -> None:
    """The retry marker is per thread: a second thread's unit retries on its own."""
    database, path = store
    repo = Repository(database)
    run_id, view = _candidate(repo)
    other = _candidate(repo, 2)[1]
    results: list[bool] = []
    with locked(path, "exclusive", hold_s=1.0):
        thread = threading.Thread(
            target=lambda: results.append(
                repo.record_evaluation(other.id, EvaluationOutcome(status="ok", score=1.0))
            )
        )
        thread.start()
        results.append(repo.record_evaluation(view.id, EvaluationOutcome(status="ok", score=2.0)))
        thread.join(timeout=60)
    assert results == [True, True]
    assert repo.count_candidates(run_id) == 1
