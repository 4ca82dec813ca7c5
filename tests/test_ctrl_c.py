"""Ctrl-C at any point of `evoforge run`'s start-up leaves a consistent state.

Each case starts a real `evoforge run` and presses Ctrl-C as a terminal does (SIGINT to
its whole process group) at one point: while its modules load (points spread over the
import sequence, which `PYTHONPROFILEIMPORTTIME` writes to stderr as it goes), the
moment the run's row is stored, after the first evaluation, and in a `resume`.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import pytest
from cli_helpers import cli_json

BUDGET = 12
IMPORT_POINTS = 7
PR_SET_CHILD_SUBREAPER = 36
IMPORT_LINE = "import time:"


def _imports(stderr: str) -> list[str]:
    """The modules imported so far, in order, from `-X importtime`'s lines."""
    return [
        line.rsplit("|", 1)[-1].strip()
        for line in stderr.splitlines()
        if line.startswith(IMPORT_LINE) and "|" in line
    ]


def _shown(stderr: str) -> list[str]:
    """What the user sees on stderr: everything but the import-time lines."""
    return [line for line in stderr.splitlines() if line and not line.startswith(IMPORT_LINE)]


def _runs(db: Path) -> list[tuple[str, str, int]]:
    """(id, status, evaluations) of every run in the store; none while it has no table."""
    if not db.exists():
        return []
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
            return conn.execute("select id, status, evaluation_count from runs").fetchall()
    except sqlite3.OperationalError:  # no schema yet, or a write holds the file
        return []


def _evaluations(db: Path) -> int:
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
            return conn.execute("select count(*) from evaluations").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def _live_children() -> set[int]:
    """Live (not zombie) processes whose parent is this test process."""
    found = set()
    me = str(os.getpid())
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if ppid == me:
            if state == "Z":
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(int(entry), os.WNOHANG)
            else:
                found.add(int(entry))
    return found


@pytest.fixture
def orphans() -> Iterator[Callable[[], set[int]]]:
    """What an `evoforge` left running when it exited: this process becomes the child
    subreaper, so anything the run started and abandoned becomes its child."""
    libc = ctypes.CDLL(None, use_errno=True)
    assert libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0, os.strerror(ctypes.get_errno())
    before = _live_children()

    def left_behind() -> set[int]:
        deadline = time.monotonic() + 3  # bubblewrap's --die-with-parent takes a moment
        while (found := _live_children() - before) and time.monotonic() < deadline:
            time.sleep(0.05)
        return found

    try:
        yield left_behind
    finally:
        libc.prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
        for pid in _live_children() - before:
            with contextlib.suppress(ProcessLookupError, ChildProcessError):
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)


def _start(db: Path, scratch: Path, log: Path, *command: str) -> subprocess.Popen[bytes]:
    """`evoforge run` (or `command`) as a user starts it, its stderr (import lines too)
    in `log`."""
    scratch.mkdir(exist_ok=True)
    env = {
        **os.environ,
        "PYTHONPROFILEIMPORTTIME": "1",
        "TMPDIR": str(scratch),  # where the sandbox puts work folders
        "COLUMNS": "200",
    }
    command = command or ("run", "circle_packing", "--max-evaluations", str(BUDGET))
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "evoforge.cli", *command, "--db", f"sqlite:///{db}"],
            stdout=subprocess.DEVNULL,
            stderr=out,
            env=env,
            start_new_session=True,  # its own group, which Ctrl-C signals as a whole
        )


def _wait_for(ready: Callable[[], bool], proc: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 120
    while not ready():
        assert proc.poll() is None, f"evoforge ended (exit {proc.returncode}) before {what}"
        assert time.monotonic() < deadline, f"no {what} after 120 s"
        time.sleep(0.01)


def _import_count(tmp_path: Path) -> tuple[int, int]:
    """How many modules an uninterrupted run imports before evoforge's own code runs
    (Python's start-up, beyond its reach), and before its first evaluation is stored."""
    db, log = tmp_path / "calibrate.db", tmp_path / "calibrate.log"
    proc = _start(db, tmp_path / "scratch-calibrate", log)
    _wait_for(lambda: _evaluations(db) >= 1, proc, "the first evaluation")
    start_up = len(_imports(log.read_text()))
    assert proc.wait(timeout=300) == 0, log.read_text()
    return _imports(log.read_text()).index("evoforge.cli") + 1, start_up


def _check_interrupted(
    point: str,
    proc: subprocess.Popen[bytes],
    db: Path,
    scratch: Path,
    log: Path,
    orphans: Callable[[], set[int]],
) -> tuple[str, int] | None:
    """Assert all a user expects after Ctrl-C; returns the stored run (id, evaluations)."""
    proc.wait(timeout=120)
    stderr = log.read_text()
    shown = _shown(stderr)
    context = f"Ctrl-C {point}: exit {proc.returncode}, stderr:\n" + "\n".join(shown)
    # 130, or killed by SIGINT, which shells report as 130 too: CPython ends that way
    # when the press fell inside code it ran for a C extension (Cython modules do).
    assert proc.returncode in (130, -signal.SIGINT), context
    assert "Traceback" not in stderr, context
    assert 1 <= len(shown) <= 2 and shown[-1].startswith("interrupted"), context
    assert not orphans(), f"{context}\nleft running: {orphans()}"
    assert sorted(p.name for p in scratch.iterdir()) == [], context
    runs = _runs(db)
    if not runs:
        assert "nothing was stored" in shown[-1], context
        return None
    [(run_id, status, evaluations)] = runs
    assert status == "interrupted", context
    assert f"stopped after {evaluations} evaluation" in shown[-1], context
    assert f"resume {run_id} --db sqlite:///{db}" in shown[-1], context
    return run_id, evaluations


@pytest.mark.slow
def test_ctrl_c_at_any_point_of_start_up_ends_in_one_line_and_a_resumable_store(
    tmp_path: Path, orphans: Callable[[], set[int]]
) -> None:
    first, total = _import_count(tmp_path)  # points from evoforge's first line to its run
    stride = max(1, (total - first) // IMPORT_POINTS)
    stored: dict[str, tuple[Path, str, int]] = {}
    points: list[tuple[str, Callable[[Path, Path], bool]]] = [
        (
            f"after import {count} of {total}",
            lambda db, log, count=count: len(_imports(log.read_text())) >= count,
        )
        for count in range(first + 1, total, stride)
    ]
    points += [
        ("as the run's row appears", lambda db, log: bool(_runs(db))),
        ("after the first evaluation", lambda db, log: _evaluations(db) >= 1),
    ]
    for number, (point, ready) in enumerate(points):
        db, scratch, log = (tmp_path / f"{number}{suffix}" for suffix in (".db", "-tmp", ".log"))
        proc = _start(db, scratch, log)
        try:
            _wait_for(partial(ready, db, log), proc, point)
            os.killpg(proc.pid, signal.SIGINT)
            found = _check_interrupted(point, proc, db, scratch, log, orphans)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        if found is not None:
            stored[point] = (db, *found)
        # The store is whole after every Ctrl-C, an interrupted migration included.
        if db.exists():
            cli_json("runs", "--db", f"sqlite:///{db}")

    assert {"as the run's row appears", "after the first evaluation"} <= stored.keys()
    db, run_id, evaluated = stored["after the first evaluation"]
    scratch, log = tmp_path / "resume-tmp", tmp_path / "resume.log"
    proc = _start(db, scratch, log, "resume", run_id)
    try:
        _wait_for(lambda: _evaluations(db) > evaluated, proc, "an evaluation in the resume")
        os.killpg(proc.pid, signal.SIGINT)
        assert _check_interrupted("in a resume", proc, db, scratch, log, orphans)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)

    db, run_id, _ = stored["as the run's row appears"]
    url = f"sqlite:///{db}"
    [listed] = cli_json("runs", "--db", url)
    assert (listed["run_id"], listed["status"]) == (run_id, "interrupted")
    assert "evoforge resume" in listed["stop_reason"]  # what `show` and the UI print
    summary = cli_json("resume", run_id, "--db", url)
    assert (summary["status"], summary["evaluations"]["total"]) == ("finished", BUDGET)
    assert not orphans()


@pytest.mark.slow
def test_ctrl_c_while_another_process_locks_the_store_still_ends_in_seconds(
    tmp_path: Path,
) -> None:
    db, log = tmp_path / "store.db", tmp_path / "run.log"
    proc = _start(
        db, tmp_path / "scratch", log, "run", "circle_packing", "--max-evaluations", "500"
    )
    try:
        _wait_for(lambda: _evaluations(db) >= 3, proc, "three evaluations")
        lock = sqlite3.connect(db, isolation_level=None)
        lock.execute("BEGIN EXCLUSIVE")  # a backup, or another writer that hangs
        pressed = time.monotonic()
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=120)
        waited = time.monotonic() - pressed
        lock.execute("ROLLBACK")
        lock.close()
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    stderr = log.read_text()
    [(run_id, _, _)] = _runs(db)
    assert proc.returncode == 130 and "Traceback" not in stderr, stderr
    assert waited < 30  # not the 10 minutes a run waits out a busy store
    assert _shown(stderr)[-1] == (
        f"interrupted: run {run_id} stopped before the store could record it (it still "
        f"reads running); continue with: evoforge resume {run_id} --db sqlite:///{db}"
    )
