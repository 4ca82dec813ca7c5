"""The store is the checkpoint: kill -9 the orchestrator, resume, and finish the budget."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import cli_json
from sqlalchemy import create_engine, text

BUDGET = 60


def _evaluations(db_url: str) -> int:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("select count(*) from evaluations")).scalar_one()
    except Exception:
        return 0
    finally:
        engine.dispose()


def _start_run(db_url: str, budget: int, *flags: str, **popen: Any) -> subprocess.Popen:
    command = [sys.executable, "-m", "evoforge.cli.app", "run", "circle_packing"]
    return subprocess.Popen(
        [*command, "--max-evaluations", str(budget), *flags, "--db", db_url], **popen
    )


def _bubblewrap_children(parent: int) -> list[int]:
    """The bubblewrap processes `parent` started: its warm sandbox servers."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            status = Path(f"/proc/{entry}/status").read_text()
            command = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        if f"\nPPid:\t{parent}\n" in status and b"--serve" in command:
            found.append(int(entry))
    return found


@pytest.mark.slow
def test_killed_run_resumes_to_exactly_its_budget_without_duplicates(db_url: str) -> None:
    proc = _start_run(
        db_url,
        BUDGET,
        "--seed",
        "5",
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while _evaluations(db_url) < 15 and time.monotonic() < deadline:
        assert proc.poll() is None, "the run ended before it could be killed"
        time.sleep(0.2)
    servers = _bubblewrap_children(proc.pid)
    assert servers, "the run keeps warm sandbox servers"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = _evaluations(db_url)
    assert 15 <= done_before < BUDGET
    # The warm servers (each in a session of its own) die with the run that started them.
    deadline = time.monotonic() + 15
    while any(Path(f"/proc/{pid}").exists() for pid in servers):
        assert time.monotonic() < deadline, "a warm server outlived its killed run"
        time.sleep(0.1)

    runs = cli_json("runs", "--db", db_url)
    run_id = runs[0]["run_id"]
    summary = cli_json("resume", run_id, "--db", db_url, timeout=300)
    assert summary["status"] == "finished"
    assert summary["evaluations"]["total"] == BUDGET

    engine = create_engine(db_url)
    with engine.connect() as conn:
        per_candidate = conn.execute(
            text(
                "select candidate_id, count(*) from evaluations group by candidate_id "
                "having count(*) > 1"
            )
        ).all()
        hashes = conn.execute(
            text(
                "select content_hash, count(*) from candidates group by content_hash "
                "having count(*) > 1"
            )
        ).all()
        total = conn.execute(text("select count(*) from evaluations")).scalar_one()
    engine.dispose()
    assert per_candidate == [] and hashes == []
    assert total == BUDGET


@pytest.mark.slow
def test_ctrl_c_marks_the_run_interrupted_and_says_how_to_resume(db_url: str) -> None:
    proc = _start_run(db_url, 500, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while _evaluations(db_url) < 5 and time.monotonic() < deadline:
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130
    run_id = cli_json("runs", "--db", db_url)[0]["run_id"]
    assert f"evoforge resume {run_id}" in stderr
    summary = cli_json("show", run_id, "--db", db_url)
    assert summary["status"] == "interrupted"
    assert "Traceback" not in stderr


@pytest.mark.slow
def test_ctrl_c_during_a_slow_evaluation_returns_at_once_and_leaves_it_pending(
    tmp_path, db_url: str
) -> None:
    from cli_helpers import write_folder_task

    folder = write_folder_task(
        tmp_path,
        "slow",
        {
            "task.toml": 'files = ["program.py"]\n[resources]\ntimeout_s = 60\n',
            "program.py": "# EVOLVE-BLOCK-START\nDELAY = 30.0\n# EVOLVE-BLOCK-END\n",
            "evaluate.py": """
import runpy, time

def evaluate(program_path):
    delay = runpy.run_path(program_path)["DELAY"]
    if delay > 20:
        time.sleep(delay)
    return 1.0
""",
        },
    )
    command = [sys.executable, "-m", "evoforge.cli.app", "run", str(folder)]
    proc = subprocess.Popen(
        [*command, "--max-evaluations", "1", "--db", db_url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # Start-up takes 1-4 s (more where bytecode is not cached); once the seed is
    # stored its 30 s evaluation starts at once.
    engine = create_engine(db_url)
    deadline = time.monotonic() + 60
    while True:
        assert proc.poll() is None and time.monotonic() < deadline, proc.stderr
        try:
            with engine.connect() as conn:
                if conn.execute(text("select count(*) from candidates")).scalar():
                    break
        except Exception:  # no schema yet
            pass
        time.sleep(0.05)
    engine.dispose()
    time.sleep(1.5)  # the seed's evaluation is now running
    pressed = time.monotonic()
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=60)
    assert time.monotonic() - pressed < 10
    run = cli_json("runs", "--db", db_url)[0]
    assert run["status"] == "interrupted" and run["evaluations"]["total"] == 0
    assert run["pending"] == 1
