"""Hostile candidates, against every sandbox: each is contained, reported, and leaves
the host as it was. The same cases run in the process sandbox and in Docker."""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from support.connections import recording

from evoforge.jobs import EvaluationJob
from evoforge.protocols import Sandbox
from evoforge.sandboxes.cgroups import pids_cgroup_base
from evoforge.sandboxes.process import ProcessSandbox

MakeJob = Callable[..., EvaluationJob]
# A container takes a few hundred milliseconds to start and to remove.
SLACK_S = {"process": 2.0, "docker": 4.0}


def slack(sandbox: Sandbox) -> float:
    return SLACK_S.get(sandbox.name, 4.0)


def files_left(folder: Path) -> list[str]:
    """Every file (not folder) under `folder`: what a candidate could have left there."""
    return [
        os.path.join(top, name)
        for top, _, names in os.walk(folder, onerror=lambda error: None)
        for name in names
    ]


def live_processes_with(marker: str) -> list[int]:
    """Pids of running (non-zombie) processes whose environment holds `marker`.

    Container processes are host processes too, so this sees into Docker as well.
    """
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


def wait_for_no_processes(marker: str, within_s: float = 2.0) -> list[int]:
    """The marked processes left after a moment (a killed container takes a beat to reap)."""
    deadline = time.monotonic() + within_s
    while (left := live_processes_with(marker)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def test_infinite_loop_times_out_at_the_deadline(any_sandbox, make_job: MakeJob) -> None:
    job = make_job(
        "def evaluate(program_path):\n    while True:\n        pass\n",
        resources={"timeout_s": 1},
    )
    started = time.monotonic()
    outcome = any_sandbox.run(job)
    assert time.monotonic() - started < 1 + slack(any_sandbox)
    assert outcome.status == "timeout"
    assert "1 s" in outcome.reason and outcome.score is None


def test_memory_hog_is_stopped_without_hurting_the_parent(any_sandbox, make_job: MakeJob) -> None:
    job = make_job(
        """
        def evaluate(program_path):
            blocks = []
            while True:
                blocks.append(bytearray(32 << 20))
        """,
        resources={"memory_mb": 256},
    )
    outcome = any_sandbox.run(job)
    assert outcome.status in ("failed", "crashed")
    assert "memory" in outcome.reason.lower()
    assert any_sandbox.run(make_job("def evaluate(path):\n    return 1.0\n")).status == "ok"


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


@pytest.mark.parametrize("leave_session", [False, True], ids=["same-session", "setsid"])
def test_fork_bomb_is_contained_and_leaves_no_processes(
    any_sandbox, make_job: MakeJob, leave_session: bool
) -> None:
    if leave_session and any_sandbox.name == "process" and pids_cgroup_base() is None:
        pytest.skip("the process sandbox needs a writable pids cgroup to catch setsid()")
    marker = f"fork-bomb-{uuid.uuid4().hex}"
    job = make_job(
        FORK_BOMB.format(leave_session=leave_session),
        resources={"timeout_s": 2, "max_processes": 16},
        env={"EVOFORGE_TEST_MARKER": marker},
    )
    started = time.monotonic()
    outcome = any_sandbox.run(job)
    assert time.monotonic() - started < 2 + slack(any_sandbox) + 1
    assert outcome.status == "timeout"
    assert wait_for_no_processes(marker) == []


def test_daemonized_grandchild_is_gone_after_the_deadline(any_sandbox, make_job: MakeJob) -> None:
    marker = f"daemon-{uuid.uuid4().hex}"
    job = make_job(
        """
        import os, time

        def evaluate(program_path):
            if os.fork() == 0:          # child: detach and fork the real daemon
                os.setsid()
                if os.fork() == 0:
                    os.closerange(0, 3)
                    time.sleep(600)
                os._exit(0)
            time.sleep(600)             # the evaluation itself sleeps past its deadline
        """,
        resources={"timeout_s": 1.5},
        env={"EVOFORGE_TEST_MARKER": marker},
    )
    outcome = any_sandbox.run(job)
    assert outcome.status == "timeout"
    assert wait_for_no_processes(marker) == []


def test_background_process_does_not_hold_up_the_result(any_sandbox, make_job: MakeJob) -> None:
    marker = f"straggler-{uuid.uuid4().hex}"
    job = make_job(
        """
        import subprocess, sys, threading, time

        def evaluate(program_path):
            subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
            threading.Thread(target=time.sleep, args=(60,)).start()
            return 1.0
        """,
        env={"EVOFORGE_TEST_MARKER": marker},
    )
    started = time.monotonic()
    outcome = any_sandbox.run(job)
    assert time.monotonic() - started < 1 + slack(any_sandbox)
    assert (outcome.status, outcome.score) == ("ok", 1.0), outcome.reason
    assert wait_for_no_processes(marker) == []


def test_printed_result_line_is_not_taken_as_the_score(any_sandbox, make_job: MakeJob) -> None:
    job = make_job(
        """
        import json

        def evaluate(program_path):
            print(json.dumps({"status": "ok", "score": 1e9, "combined_score": 1e9}))
            return 0.5
        """
    )
    outcome = any_sandbox.run(job)
    assert (outcome.status, outcome.score) == ("ok", 0.5)


def test_forged_result_file_is_rejected(any_sandbox, make_job: MakeJob) -> None:
    job = make_job(
        """
        import gc, os

        def evaluate(program_path):
            forged = {"status": "ok", "score": 1e9, "nonce": "guess"}
            # The harness's spec, found in memory (cold or warm, file or message).
            target = next(o["result_path"] for o in gc.get_objects()
                          if isinstance(o, dict) and "result_path" in o)
            for path in (target, os.path.join(os.getcwd(), "result.json")):
                with open(path, "w") as handle:
                    handle.write(str(forged).replace("'", '"'))
            os._exit(0)
        """
    )
    outcome = any_sandbox.run(job)
    assert outcome.status == "crashed"
    assert outcome.score is None
    assert "nonce" in outcome.reason


def test_redirected_result_path_loses_the_result(
    any_sandbox, make_job: MakeJob, tmp_path: Path
) -> None:
    """The candidate rewrites the harness's own spec so the result lands elsewhere."""
    elsewhere = tmp_path / "stolen-result.json"
    job = make_job(
        """
        import gc, os

        def evaluate(program_path):
            for obj in gc.get_objects():
                if isinstance(obj, dict) and "result_path" in obj and "nonce" not in obj:
                    obj["result_path"] = os.environ["ELSEWHERE"]
            return 1e9
        """,
        env={"ELSEWHERE": str(elsewhere)},
    )
    outcome = any_sandbox.run(job)
    assert outcome.status == "crashed" and outcome.score is None
    assert "before writing a result" in outcome.reason
    assert not elsewhere.exists()


def test_result_path_replaced_by_a_fifo_does_not_hang_the_sandbox(
    any_sandbox, make_job: MakeJob
) -> None:
    job = make_job(
        """
        import gc, os

        def evaluate(program_path):
            target = next(o["result_path"] for o in gc.get_objects()
                          if isinstance(o, dict) and "result_path" in o)
            os.mkfifo(target)
            os._exit(0)
        """,
        resources={"timeout_s": 5},
    )
    outcome_box: list = []
    worker = threading.Thread(target=lambda: outcome_box.append(any_sandbox.run(job)))
    worker.start()
    worker.join(5 + slack(any_sandbox) + 5)
    assert not worker.is_alive(), "the sandbox hung on a FIFO at the result path"
    outcome = outcome_box[0]
    assert outcome.status == "crashed" and outcome.score is None


def test_secret_environment_is_hidden_from_the_candidate(
    any_sandbox, make_job: MakeJob, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVOFORGE_TEST_API_KEY", "sk-secret")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai-secret")
    job = make_job(
        """
        import os

        def evaluate(program_path):
            print(dict(os.environ))
            with open("/proc/self/environ", "rb") as handle:
                raw = handle.read().decode(errors="replace")
            keys = [name for name in os.environ if name.endswith("_API_KEY")]
            return 1.0, {
                "seen": os.environ.get("EVOFORGE_TEST_API_KEY", "absent"),
                "keys": ",".join(keys) or "none",
                "raw": "leaked" if "sk-" in raw else "clean",
                "token": os.environ.get("MY_SERVICE_TOKEN", "absent"),
            }
        """,
        env={"MY_SERVICE_TOKEN": "tok-123", "MY_SETTING": "kept"},
    )
    outcome = any_sandbox.run(job)
    assert outcome.status == "ok", outcome.reason
    for expected in ("seen: absent", "keys: none", "raw: clean", "token: absent"):
        assert expected in outcome.feedback
    dumped = outcome.model_dump_json()
    assert "sk-secret" not in dumped and "sk-openai" not in dumped and "tok-123" not in dumped
    assert "MY_SETTING" in outcome.stdout


def test_exit_before_scoring_is_a_crash(any_sandbox, make_job: MakeJob) -> None:
    job = make_job("import os\n\ndef evaluate(program_path):\n    os._exit(0)\n")
    outcome = any_sandbox.run(job)
    assert outcome.status == "crashed"
    assert "code 0" in outcome.reason


def test_segfault_names_the_signal(any_sandbox, make_job: MakeJob) -> None:
    job = make_job("import ctypes\n\ndef evaluate(program_path):\n    ctypes.string_at(0)\n")
    outcome = any_sandbox.run(job)
    assert outcome.status == "crashed"
    assert "SIGSEGV" in outcome.reason


def test_gigabyte_of_stdout_is_capped(any_sandbox, make_job: MakeJob) -> None:
    job = make_job(
        """
        import sys

        def evaluate(program_path):
            chunk = b"x" * (1 << 20)
            for _ in range(1024):
                sys.stdout.buffer.write(chunk)
            sys.stdout.flush()
            return 1.0
        """,
        resources={"timeout_s": 60},
    )
    started = time.monotonic()
    outcome = any_sandbox.run(job)
    assert time.monotonic() - started < 30
    assert (outcome.status, outcome.score) == ("ok", 1.0), outcome.reason
    assert len(outcome.stdout.encode()) <= 70 * 1024
    assert "bytes elided ...]" in outcome.stdout


def test_file_size_limit_stops_a_disk_filler(any_sandbox, make_job: MakeJob) -> None:
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
    outcome = any_sandbox.run(job)
    assert outcome.status in ("failed", "crashed")
    assert "File too large" in outcome.reason or "file size" in outcome.reason


@pytest.fixture
def loopback_server() -> Iterator[tuple[int, list[str]]]:
    """A TCP server on 127.0.0.1 that records every connection it accepts."""
    server = socket.create_server(("127.0.0.1", 0))
    with recording(server) as accepted:
        yield server.getsockname()[1], accepted


def test_candidate_cannot_reach_a_loopback_server_on_the_host(
    any_sandbox, make_job: MakeJob, loopback_server: tuple[int, list[str]]
) -> None:
    port, accepted = loopback_server
    with socket.create_connection(("127.0.0.1", port), timeout=3):
        pass  # the server works for the host
    time.sleep(0.3)
    assert len(accepted) == 1
    job = make_job(
        """
        import os, socket

        def evaluate(program_path):
            try:
                socket.create_connection(("127.0.0.1", int(os.environ["PORT"])), timeout=3).close()
            except OSError as error:
                return 0.0, {"error": str(error)}
            return 1.0
        """,
        env={"PORT": str(port)},
    )
    outcome = any_sandbox.run(job)
    assert (outcome.status, outcome.score) == ("ok", 0.0), outcome.reason
    assert "refused" in outcome.feedback.lower() or "unreachable" in outcome.feedback.lower()
    time.sleep(0.3)
    assert len(accepted) == 1, "the candidate's connection reached the host's server"
    assert "no-netns" not in outcome.sandbox


def test_writes_outside_the_work_folder_fail(
    any_sandbox, make_job: MakeJob, tmp_path: Path
) -> None:
    outside = tmp_path / "host-folder"
    outside.mkdir()
    root_file = Path(f"/evoforge-escaped-{uuid.uuid4().hex}.txt")
    job = make_job(
        """
        import os

        def evaluate(program_path):
            targets = {
                "outside": os.environ["OUTSIDE"] + "/escaped.txt",
                "root": os.environ["ROOT_FILE"],
                "home": os.path.expanduser("~") + "/inside.txt",
                "cwd": "inside-cwd.txt",
            }
            results = {}
            for where, path in targets.items():
                try:
                    with open(path, "w") as handle:
                        handle.write("x")
                    results[where] = "written"
                except OSError as error:
                    results[where] = "refused " + type(error).__name__
            return 1.0, results
        """,
        env={"OUTSIDE": str(outside), "ROOT_FILE": str(root_file)},
    )
    outcome = any_sandbox.run(job)
    assert outcome.status == "ok", outcome.reason
    assert "outside: refused" in outcome.feedback
    assert "root: refused" in outcome.feedback
    assert "home: written" in outcome.feedback  # its own folder works
    assert "cwd: written" in outcome.feedback
    assert list(outside.iterdir()) == []
    assert not root_file.exists()


def test_a_tree_deeper_than_the_recursion_limit_is_still_removed(
    any_sandbox, make_job: MakeJob, tmp_path: Path
) -> None:
    """3,000 nested folders (deeper than Python's recursion limit, longer than
    PATH_MAX as one path) with data at the bottom, its folder made unreadable: the
    work folder is removed all the same, in both sandboxes."""
    import copy

    root = tmp_path / "work-root"
    root.mkdir()
    root.chmod(0o755)
    if isinstance(any_sandbox, ProcessSandbox):
        sandbox = ProcessSandbox(workdir_root=str(root), warm=any_sandbox.warm)
    else:
        sandbox = copy.copy(any_sandbox)
        sandbox.workdir_root = str(root)  # type: ignore[attr-defined]
    job = make_job(
        """
        import os

        def evaluate(program_path):
            fd = os.open(".", os.O_RDONLY)
            for _ in range(3000):
                os.mkdir("d", dir_fd=fd)
                deeper = os.open("d", os.O_RDONLY, dir_fd=fd)
                os.close(fd)
                fd = deeper
            data = os.open("data", os.O_WRONLY | os.O_CREAT, 0o600, dir_fd=fd)
            os.write(data, b"results that must not stay on the host")
            os.close(data)
            os.fchmod(fd, 0)
            os.close(fd)
            return 1.0
        """
    )
    outcome = sandbox.run(job)
    assert outcome.status == "ok", (outcome.reason, outcome.stderr[-2000:])
    assert files_left(root) == []  # a warm slot's folder stays, emptied
    close = getattr(sandbox, "close", None)
    if close is not None:
        close()
    assert list(root.iterdir()) == []
