"""Hostile candidates: each is contained, reported, and leaves the host as it was."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable

import pytest

from evoforge.jobs import EvaluationJob
from evoforge.sandboxes.cgroups import pids_cgroup_base
from evoforge.sandboxes.process import network_isolation_prefix

MakeJob = Callable[..., EvaluationJob]


def live_processes_with(marker: str) -> list[int]:
    """Pids of running (non-zombie) processes whose environment holds `marker`."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as handle:
                environ = handle.read()
            with open(f"/proc/{entry}/stat") as handle:
                state = handle.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker.encode() in environ and state not in ("Z", "X"):
            found.append(int(entry))
    return found


def test_infinite_loop_times_out_at_the_deadline(sandbox, make_job: MakeJob) -> None:
    job = make_job(
        "def evaluate(program_path):\n    while True:\n        pass\n",
        resources={"timeout_s": 1},
    )
    started = time.monotonic()
    outcome = sandbox.run(job)
    assert time.monotonic() - started < 3
    assert outcome.status == "timeout"
    assert "1 s" in outcome.reason and outcome.score is None


def test_memory_hog_is_stopped_without_hurting_the_parent(sandbox, make_job: MakeJob) -> None:
    job = make_job(
        """
        def evaluate(program_path):
            blocks = []
            while True:
                blocks.append(bytearray(32 << 20))
        """,
        resources={"memory_mb": 256},
    )
    outcome = sandbox.run(job)
    assert outcome.status in ("failed", "crashed")
    assert "memory" in outcome.reason.lower()
    assert sandbox.run(make_job("def evaluate(path):\n    return 1.0\n")).status == "ok"


FORK_BOMB = """
import os

def evaluate(program_path):
    while True:
        try:
            if os.fork() == 0 and {leave_session}:
                os.setsid()
        except OSError:
            pass
"""


def test_fork_bomb_is_contained_and_leaves_no_processes(sandbox, make_job: MakeJob) -> None:
    marker = f"fork-bomb-{uuid.uuid4().hex}"
    job = make_job(
        FORK_BOMB.format(leave_session=False),
        resources={"timeout_s": 2, "max_processes": 16},
        env={"EVOFORGE_TEST_MARKER": marker},
    )
    started = time.monotonic()
    outcome = sandbox.run(job)
    assert time.monotonic() - started < 5
    assert outcome.status == "timeout"
    assert live_processes_with(marker) == []


@pytest.mark.skipif(pids_cgroup_base() is None, reason="needs a writable pids cgroup")
def test_fork_bomb_that_leaves_its_session_is_still_killed(sandbox, make_job: MakeJob) -> None:
    marker = f"fork-bomb-{uuid.uuid4().hex}"
    job = make_job(
        FORK_BOMB.format(leave_session=True),
        resources={"timeout_s": 2, "max_processes": 16},
        env={"EVOFORGE_TEST_MARKER": marker},
    )
    outcome = sandbox.run(job)
    assert outcome.status == "timeout"
    assert live_processes_with(marker) == []


def test_background_process_does_not_hold_up_the_result(sandbox, make_job: MakeJob) -> None:
    marker = f"straggler-{uuid.uuid4().hex}"
    job = make_job(
        """
        import subprocess, threading, time

        def evaluate(program_path):
            subprocess.Popen(["sleep", "60"])
            threading.Thread(target=time.sleep, args=(60,)).start()
            return 1.0
        """,
        env={"EVOFORGE_TEST_MARKER": marker},
    )
    started = time.monotonic()
    outcome = sandbox.run(job)
    assert time.monotonic() - started < 3
    assert (outcome.status, outcome.score) == ("ok", 1.0), outcome.reason
    assert live_processes_with(marker) == []


def test_printed_result_line_is_not_taken_as_the_score(sandbox, make_job: MakeJob) -> None:
    job = make_job(
        """
        import json

        def evaluate(program_path):
            print(json.dumps({"status": "ok", "score": 1e9, "combined_score": 1e9}))
            return 0.5
        """
    )
    outcome = sandbox.run(job)
    assert (outcome.status, outcome.score) == ("ok", 0.5)


def test_forged_result_file_is_rejected(sandbox, make_job: MakeJob) -> None:
    job = make_job(
        """
        import marshal, os, sys

        def evaluate(program_path):
            forged = {"status": "ok", "score": 1e9, "nonce": "guess"}
            with open(sys.argv[1], "rb") as handle:
                target = marshal.load(handle)["result_path"]
            for path in (target, os.path.join(os.getcwd(), "result.json")):
                with open(path, "w") as handle:
                    handle.write(str(forged).replace("'", '"'))
            os._exit(0)
        """
    )
    outcome = sandbox.run(job)
    assert outcome.status == "crashed"
    assert outcome.score is None
    assert "nonce" in outcome.reason


def test_secret_environment_is_hidden_from_the_candidate(
    sandbox, make_job: MakeJob, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVOFORGE_TEST_API_KEY", "sk-secret")
    job = make_job(
        """
        import os

        def evaluate(program_path):
            print(dict(os.environ))
            seen = os.environ.get("EVOFORGE_TEST_API_KEY", "absent")
            return 1.0, {"seen": seen, "token": os.environ.get("MY_SERVICE_TOKEN", "absent")}
        """,
        env={"MY_SERVICE_TOKEN": "tok-123", "MY_SETTING": "kept"},
    )
    outcome = sandbox.run(job)
    assert outcome.status == "ok", outcome.reason
    assert "seen: absent" in outcome.feedback and "token: absent" in outcome.feedback
    dumped = outcome.model_dump_json()
    assert "sk-secret" not in dumped and "tok-123" not in dumped
    assert "MY_SETTING" in outcome.stdout


def test_exit_before_scoring_is_a_crash(sandbox, make_job: MakeJob) -> None:
    job = make_job("import os\n\ndef evaluate(program_path):\n    os._exit(0)\n")
    outcome = sandbox.run(job)
    assert outcome.status == "crashed"
    assert "code 0" in outcome.reason


def test_segfault_names_the_signal(sandbox, make_job: MakeJob) -> None:
    job = make_job("import ctypes\n\ndef evaluate(program_path):\n    ctypes.string_at(0)\n")
    outcome = sandbox.run(job)
    assert outcome.status == "crashed"
    assert "SIGSEGV" in outcome.reason


def test_gigabyte_of_stdout_is_capped(sandbox, make_job: MakeJob) -> None:
    job = make_job(
        """
        import sys

        def evaluate(program_path):
            chunk = b"x" * (1 << 20)
            for _ in range(1024):
                sys.stdout.buffer.write(chunk)
            sys.stdout.flush()
            return 1.0
        """
    )
    started = time.monotonic()
    outcome = sandbox.run(job)
    assert time.monotonic() - started < 15
    assert (outcome.status, outcome.score) == ("ok", 1.0), outcome.reason
    assert len(outcome.stdout.encode()) <= 70 * 1024
    assert "bytes elided ...]" in outcome.stdout


def test_file_size_limit_stops_a_disk_filler(sandbox, make_job: MakeJob) -> None:
    job = make_job(
        """
        def evaluate(program_path):
            with open("big.bin", "wb") as handle:
                for _ in range(64):
                    handle.write(b"x" * (1 << 20))
            return 1.0
        """,
        resources={"max_file_mb": 8},
    )
    outcome = sandbox.run(job)
    assert outcome.status in ("failed", "crashed")
    assert "File too large" in outcome.reason or "file size" in outcome.reason


@pytest.mark.skipif(network_isolation_prefix() is None, reason="needs network namespaces")
def test_network_is_unreachable_from_the_candidate(sandbox, make_job: MakeJob) -> None:
    job = make_job(
        """
        import socket

        def evaluate(program_path):
            try:
                socket.create_connection(("1.1.1.1", 80), timeout=3).close()
            except OSError as error:
                return 0.0, {"error": str(error)}
            return 1.0
        """
    )
    outcome = sandbox.run(job)
    assert (outcome.status, outcome.score) == ("ok", 0.0), outcome.reason
    assert "unreachable" in outcome.feedback.lower()
    assert "no-netns" not in outcome.sandbox
