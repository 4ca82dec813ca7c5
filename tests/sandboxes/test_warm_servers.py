"""Warm servers (sandboxes/warm.py): one per slot, a forked child per evaluation.

What a user relies on: nothing one candidate does reaches the next one forked from the
same server, a server that hangs or dies costs no candidate its evaluation, a changed
evaluator is picked up, and a candidate process forked from the warm scorer never holds
the nonce that would let it forge the result.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from evoforge.jobs import EvaluationJob
from evoforge.sandboxes import process as process_module
from evoforge.sandboxes import warm
from evoforge.sandboxes.process import ProcessSandbox

MakeJob = Callable[..., EvaluationJob]


def lines(feedback: str) -> dict[str, str]:
    return dict(line.split(": ", 1) for line in feedback.splitlines() if ": " in line)


@pytest.fixture
def warm_sandbox() -> Iterator[ProcessSandbox]:
    sandbox = ProcessSandbox(warm=True)
    if sandbox.bubblewrap_missing() is not None:
        pytest.skip(f"warm servers need bubblewrap: {sandbox.bubblewrap_missing()}")
    yield sandbox
    sandbox.close()


def with_program(job: EvaluationJob, program: str) -> EvaluationJob:
    """The same evaluator (so the same server) judging another program."""
    return job.model_copy(update={"files": {"program.py": program}})


# The evaluator every case below shares: ROLE picks what the candidate does. LOADED
# is set once, when the server imports the evaluator; a child forked from the same
# server reports the same value.
SHARED_EVALUATOR = """
import json, os, subprocess, sys, threading, time

LOADED = repr(time.time())


def evaluate(program_path):
    role = load(program_path).ROLE
    if role == "a":
        json.dumps = lambda *args, **kwargs: "patched by a"
        with open("/tmp/left-by-a", "w") as handle:
            handle.write("a")
        with open("/dev/shm/left-by-a", "w") as handle:
            handle.write("a")
        with open(os.path.join(os.environ["HOME"], "left-by-a"), "w") as handle:
            handle.write("a")
        os.environ["LEFT_BY_A"] = "1"
        threading.Thread(target=time.sleep, args=(60,)).start()
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        if os.fork() == 0:  # a daemon of its own session
            os.setsid()
            time.sleep(60)
            os._exit(0)
    elif role == "stop-server":
        os.kill(os.getppid(), signal.SIGSTOP)
    elif role == "kill-server":  # cold, its parent is out of reach: nothing to kill
        try:
            os.kill(os.getppid(), signal.SIGKILL)
        except PermissionError:
            pass
    elif role == "swap-tmp":  # the server's /tmp left on a folder the host no longer empties
        slot = os.path.dirname(os.path.dirname(os.path.abspath(program_path)))
        os.rename(os.path.join(slot, "tmp"), os.path.join(slot, "kept"))
        os.mkdir(os.path.join(slot, "tmp"))
        with open("/tmp/left-by-swap", "w") as handle:
            handle.write("swap")
    others = [
        p for p in os.listdir("/proc")
        if p.isdigit() and int(p) not in (1, os.getpid(), os.getppid())
    ]
    return 1.0, {
        "loaded": LOADED,
        "json": json.dumps([1]),
        "tmp": str(os.path.exists("/tmp/left-by-a") or os.path.exists("/tmp/left-by-swap")),
        "shm": str(os.path.exists("/dev/shm/left-by-a")),
        "home": str(os.path.exists(os.path.join(os.environ["HOME"], "left-by-a"))),
        "env": os.environ.get("LEFT_BY_A", "unset"),
        "threads": str(threading.active_count()),
        "other_processes": str(len(others)),
    }
"""


def test_nothing_a_candidate_does_reaches_the_next_one(
    warm_sandbox: ProcessSandbox, make_job: MakeJob
) -> None:
    first = make_job("import signal\n" + SHARED_EVALUATOR, program="ROLE = 'a'\n")
    a = warm_sandbox.run(first)
    assert a.status == "ok", (a.reason, a.stderr)
    assert "warm" in a.sandbox
    seen_by_a = lines(a.feedback)
    assert seen_by_a["json"] == "patched by a" and seen_by_a["tmp"] == "True"

    b = warm_sandbox.run(with_program(first, "ROLE = 'b'\n"))
    assert b.status == "ok", (b.reason, b.stderr)
    seen = lines(b.feedback)
    assert seen["loaded"] == seen_by_a["loaded"], "b did not fork from a's server"
    assert seen == {
        "loaded": seen_by_a["loaded"],
        "json": "[1]",  # the module a patched is whole again
        "tmp": "False",
        "shm": "False",
        "home": "False",
        "env": "unset",
        "threads": "1",
        "other_processes": "0",  # a's subprocess and daemon were killed
    }


def test_a_server_the_candidate_stops_is_replaced(
    warm_sandbox: ProcessSandbox, make_job: MakeJob, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(warm, "ANSWER_TIMEOUT_S", 2.0)
    job = make_job("import signal\n" + SHARED_EVALUATOR, program="ROLE = 'b'\n")
    before = lines(warm_sandbox.run(job).feedback)["loaded"]
    started = time.monotonic()
    stopped = warm_sandbox.run(with_program(job, "ROLE = 'stop-server'\n"))
    # The child wrote its result before the server was found hung.
    assert stopped.status == "ok", (stopped.reason, stopped.stderr)
    after = warm_sandbox.run(job)
    assert after.status == "ok", (after.reason, after.stderr)
    assert lines(after.feedback)["loaded"] != before, "the hung server was used again"
    assert time.monotonic() - started < 30


def test_a_candidate_that_kills_its_server_ends_only_its_own_evaluation(
    warm_sandbox: ProcessSandbox, make_job: MakeJob
) -> None:
    """Its result stands if it wrote one before the server went down; otherwise the
    server's death counts as the infrastructure's, not the candidate's, and the
    evaluation runs again cold, where it has no server to kill. The next evaluation
    runs on a fresh server."""
    job = make_job("import signal\n" + SHARED_EVALUATOR, program="ROLE = 'b'\n")
    before = lines(warm_sandbox.run(job).feedback)["loaded"]
    killed = warm_sandbox.run(with_program(job, "ROLE = 'kill-server'\n"))
    assert killed.status == "ok", (killed.status, killed.reason)
    after = warm_sandbox.run(job)
    assert after.status == "ok", (after.reason, after.stderr)
    assert lines(after.feedback)["loaded"] != before


def test_a_server_that_died_while_idle_is_replaced_before_the_candidate_runs(
    warm_sandbox: ProcessSandbox, make_job: MakeJob
) -> None:
    job = make_job("import signal\n" + SHARED_EVALUATOR, program="ROLE = 'b'\n")
    assert warm_sandbox.run(job).status == "ok"
    [server] = [s for servers in warm_sandbox._servers._idle.values() for s in servers]
    assert server.host_pid is not None
    os.kill(server.host_pid, signal.SIGKILL)  # an OOM kill, say
    outcome = warm_sandbox.run(job)
    assert outcome.status == "ok", (outcome.reason, outcome.stderr)
    assert "warm" in outcome.sandbox


def test_a_changed_evaluator_gets_a_fresh_server(
    warm_sandbox: ProcessSandbox, make_job: MakeJob
) -> None:
    job = make_job(
        "import time\nLOADED = repr(time.time())\n"
        "def evaluate(path):\n    return 1.0, {'loaded': LOADED}\n"
    )
    first = lines(warm_sandbox.run(job).feedback)["loaded"]
    assert lines(warm_sandbox.run(job).feedback)["loaded"] == first  # warm: imported once
    evaluator = Path(job.evaluate.rpartition(":")[0])
    evaluator.write_text(evaluator.read_text() + "\nEDITED = True\n")
    os.utime(evaluator, ns=(time.time_ns(), time.time_ns() + 10**9))
    time.sleep(process_module.FINGERPRINT_TTL_S + 0.1)  # task folders are walked once a second
    assert lines(warm_sandbox.run(job).feedback)["loaded"] != first


NONCE = "feedface" * 4

FORKED_CANDIDATE_EVALUATOR = """
from evoforge.candidate_process import CandidateProcess


def evaluate(program_path):
    with CandidateProcess(program_path, timeout_s=20) as remote:
        found = remote.call("look")
    return 1.0, {"found": found}
"""

NONCE_HUNTER = """
import gc, os, re, sys

def look():
    hex32 = re.compile("[0-9a-f]{32}")
    found = set()
    for obj in gc.get_objects():
        if isinstance(obj, (str, bytes)) and hex32.search(str(obj)):
            found.update(hex32.findall(str(obj)))
        elif isinstance(obj, dict):
            for value in obj.values():
                if isinstance(value, (str, bytes)) and hex32.search(str(value)):
                    found.update(hex32.findall(str(value)))
    for fd in range(0, 1100):
        try:
            data = os.pread(fd, 4096, 0) if fd > 2 else os.read(fd, 4096) if fd == 0 else b""
        except OSError:
            continue
        found.update(hex32.findall(data.decode("latin-1")))
    return " ".join(sorted(found)) or "nothing"
"""


def test_a_candidate_process_forked_from_the_warm_scorer_never_holds_the_nonce(
    warm_sandbox: ProcessSandbox, make_job: MakeJob, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(process_module.secrets, "token_hex", lambda _n=16: NONCE)
    job = make_job(FORKED_CANDIDATE_EVALUATOR, program=NONCE_HUNTER)
    outcome = warm_sandbox.run(job)
    assert outcome.status == "ok", (outcome.reason, outcome.stderr)
    assert "warm" in outcome.sandbox
    assert NONCE not in lines(outcome.feedback)["found"]


def test_a_server_that_hangs_while_importing_is_killed_and_the_evaluation_runs_cold(
    warm_sandbox: ProcessSandbox, make_job: MakeJob, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(warm, "READY_TIMEOUT_S", 1.0)
    job = make_job(
        """
        import sys, time

        if "--serve" in sys.argv:  # only a warm server imports this ahead of time
            time.sleep(600)

        def evaluate(path):
            return 1.0
        """
    )
    started = time.monotonic()
    outcome = warm_sandbox.run(job)
    assert outcome.status == "ok", (outcome.reason, outcome.stderr)
    assert "warm" not in outcome.sandbox  # this one went the cold way
    assert time.monotonic() - started < 15
    assert warm_sandbox._servers.busy() == []
    assert not [s for servers in warm_sandbox._servers._idle.values() for s in servers]


def test_closing_leaves_nothing_and_the_folder_around_the_slots_as_it_was(
    make_job: MakeJob, tmp_path: Path
) -> None:
    """The slot folder stays mounted in the server's namespace until its last process
    is gone; closing waits for that, and never touches the folder around it (in real
    use /tmp, which a chmod there would close to every other user)."""
    root = tmp_path / "slots"
    root.mkdir()
    root.chmod(0o1777)
    sandbox = ProcessSandbox(warm=True, workdir_root=str(root))
    if sandbox.bubblewrap_missing() is not None:
        pytest.skip(f"warm servers need bubblewrap: {sandbox.bubblewrap_missing()}")
    outcome = sandbox.run(make_job("def evaluate(path):\n    return 1.0\n"))
    assert outcome.status == "ok" and "warm" in outcome.sandbox, outcome.reason
    sandbox.close()
    assert root.stat().st_mode & 0o7777 == 0o1777
    assert list(root.iterdir()) == []


@pytest.mark.parametrize("pressed", ["before the fork", "after the fork", "while it runs"])
def test_ctrl_c_at_any_moment_of_a_warm_evaluation_ends_it_quietly(
    pressed: str,
    make_job: MakeJob,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Ctrl-C kills the servers of the evaluations in flight. Each evaluating thread
    then ends its own evaluation without a word: no "server broke" warning, no second
    server or cold retry for a run that is stopping, and the slot folder unmounted by
    that thread alone (two closers once raced, one of them warning that the folder
    could not be unmounted). The user sees one line: `interrupted`."""
    root = tmp_path / "slots"
    root.mkdir()
    sandbox = ProcessSandbox(warm=True, workdir_root=str(root))
    if sandbox.bubblewrap_missing() is not None:
        pytest.skip(f"warm servers need bubblewrap: {sandbox.bubblewrap_missing()}")
    job = make_job(
        "import time\n\ndef evaluate(path):\n    time.sleep(30)\n    return 1.0\n",
        resources={"timeout_s": 60},
    )
    fork = warm.WarmServer.fork

    def pressing_fork(server: warm.WarmServer, *args: object) -> int:
        if pressed == "before the fork":
            sandbox.cancel_all()
        child = fork(server, *args)  # type: ignore[arg-type]
        if pressed == "after the fork":
            sandbox.cancel_all()
        return child

    monkeypatch.setattr(warm.WarmServer, "fork", pressing_fork)
    if pressed == "while it runs":
        timer = threading.Timer(2.0, sandbox.cancel_all)
        timer.start()
    caplog.set_level("WARNING")
    started = time.monotonic()
    outcome = sandbox.run(job)
    assert time.monotonic() - started < 15, "the candidate ran on after Ctrl-C"
    assert outcome.status != "ok"
    assert [r.getMessage() for r in caplog.records if r.levelname == "WARNING"] == []
    assert sandbox.run(job).status != "ok"  # nothing starts once the run is stopping
    sandbox.close()
    assert list(root.iterdir()) == []


def test_a_server_that_dies_under_a_running_candidate_costs_it_nothing(
    warm_sandbox: ProcessSandbox, make_job: MakeJob
) -> None:
    """The slot's sandbox goes down (the server crashed, was OOM-killed, or its
    bubblewrap died) while the candidate runs and before it wrote a result: that is the
    infrastructure's failure, so the candidate is evaluated again, cold, and scored."""
    job = make_job(
        "import time\n\ndef evaluate(path):\n    time.sleep(3)\n    return 0.5\n",
        resources={"timeout_s": 60},
    )

    def crash_the_busy_server() -> None:
        deadline = time.monotonic() + 20
        while not warm_sandbox._servers.busy() and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.7)  # the child is forked and sleeping
        [server] = warm_sandbox._servers.busy()
        assert server.proc is not None
        os.killpg(server.proc.pid, signal.SIGKILL)

    crasher = threading.Thread(target=crash_the_busy_server)
    crasher.start()
    outcome = warm_sandbox.run(job)
    crasher.join()
    assert (outcome.status, outcome.score) == ("ok", 0.5), (outcome.reason, outcome.stderr)
    assert "warm" not in outcome.sandbox  # evaluated again, cold
    again = warm_sandbox.run(job)  # and the slot has a fresh server
    assert again.status == "ok" and "warm" in again.sandbox, again.reason


def test_a_candidate_that_swaps_the_slot_tmp_folder_retires_its_server(
    warm_sandbox: ProcessSandbox, make_job: MakeJob
) -> None:
    """The server's /tmp is bound to the slot's `tmp` folder by inode: a candidate that
    renames it and makes a new one would leave the server writing where the host never
    empties. The host sees the swap and starts a fresh server; the next candidate finds
    nothing the swapper wrote."""
    job = make_job("import signal\n" + SHARED_EVALUATOR, program="ROLE = 'b'\n")
    before = lines(warm_sandbox.run(job).feedback)["loaded"]
    swapped = warm_sandbox.run(with_program(job, "ROLE = 'swap-tmp'\n"))
    assert swapped.status == "ok", (swapped.reason, swapped.stderr)
    assert lines(swapped.feedback)["tmp"] == "True"  # it did write through the old /tmp
    after = warm_sandbox.run(job)
    assert after.status == "ok", (after.reason, after.stderr)
    seen = lines(after.feedback)
    assert seen["loaded"] != before, "the server whose /tmp was swapped served again"
    assert seen["tmp"] == "False"


COUNT_FORKS = """
import os, time


def evaluate(program_path):
    made = 0
    while made < 64:
        try:
            pid = os.fork()
        except OSError:
            break
        if pid == 0:
            time.sleep(60)
            os._exit(0)
        made += 1
    return float(made)
"""


def test_the_process_limit_is_the_candidates_own_and_its_leftovers_die_but_not_the_server(
    warm_sandbox: ProcessSandbox, make_job: MakeJob
) -> None:
    """The server sits in its slot's pids cgroup so each child starts there: the
    candidate still gets all `max_processes` (the server is not counted against it),
    the processes it leaves are killed, and the server serves the next candidate."""
    from evoforge.sandboxes.cgroups import pids_cgroup_base

    if pids_cgroup_base() is None:
        pytest.skip("needs a writable pids cgroup")
    job = make_job(COUNT_FORKS, resources={"timeout_s": 20, "max_processes": 6})
    servers = []
    for _ in range(2):
        outcome = warm_sandbox.run(job)
        assert outcome.status == "ok", (outcome.reason, outcome.stderr)
        assert "warm" in outcome.sandbox
        assert outcome.score == 5.0  # the candidate itself and 5 children: 6 processes
        idle = [s for servers in warm_sandbox._servers._idle.values() for s in servers]
        assert len(idle) == 1, "the server did not survive the cleanup"
        server = idle[0]
        servers.append((server, server.host_pid))
        pids, _ = server._cgroups
        assert pids.pids() == [server.host_pid], "a candidate's process outlived it"
    assert servers[0] == servers[1], "the server did not survive the cleanup"
    assert servers[0][0].inherited[0], "the server did not join its slot's pids cgroup"


LEAVE_LINKS = """
import os


def evaluate(program_path):
    target = load(program_path).TARGET
    if target:
        for folder in ("/tmp", "/dev/shm", os.environ["HOME"]):
            os.symlink(target, os.path.join(folder, "to-host"))
            os.symlink(os.path.join(target, "canary"), os.path.join(folder, "to-host-file"))
            nested = os.path.join(folder, "nested")
            os.mkdir(nested)
            os.symlink(target, os.path.join(nested, "to-host"))
    left = [
        os.path.join(folder, name)
        for folder in ("/tmp", "/dev/shm", os.environ["HOME"])
        for name in ("to-host", "to-host-file", "nested")
        if os.path.lexists(os.path.join(folder, name))
    ]
    return 1.0, {"left": repr(left), "count": str(len(left))}
"""


def test_links_a_candidate_leaves_to_host_paths_are_removed_not_followed(
    warm_sandbox: ProcessSandbox, make_job: MakeJob, tmp_path: Path
) -> None:
    """The host empties the slot after every candidate, as root. A candidate cannot see
    the host, but it can make a link whose target names a host folder; emptying must
    remove the link, never what it names, in /tmp, /dev/shm and the work folder, also
    inside a folder of the candidate's."""
    host = tmp_path / "host-folder"
    host.mkdir()
    (host / "canary").write_text("still here")
    job = make_job(LEAVE_LINKS, program=f"TARGET = {str(host)!r}\n")
    first = warm_sandbox.run(job)
    assert first.status == "ok", (first.reason, first.stderr)
    assert lines(first.feedback)["count"] == "9", first.feedback  # all made, inside

    after = warm_sandbox.run(with_program(job, "TARGET = ''\n"))
    assert after.status == "ok", (after.reason, after.stderr)
    assert lines(after.feedback) == {"left": "[]", "count": "0"}
    assert "warm" in after.sandbox
    assert (host / "canary").read_text() == "still here"
    assert sorted(p.name for p in host.iterdir()) == ["canary"]


def test_links_to_host_paths_survive_a_cold_evaluation_too(
    make_job: MakeJob, tmp_path: Path
) -> None:
    """The cold path removes the evaluation's whole folder; no link in it is followed."""
    host = tmp_path / "host-folder"
    host.mkdir()
    (host / "canary").write_text("still here")
    sandbox = ProcessSandbox(warm=False)
    try:
        outcome = sandbox.run(make_job(LEAVE_LINKS, program=f"TARGET = {str(host)!r}\n"))
    finally:
        sandbox.close()
    assert outcome.status == "ok", (outcome.reason, outcome.stderr)
    assert lines(outcome.feedback)["count"] == "9", outcome.feedback
    assert (host / "canary").read_text() == "still here"
    assert sorted(p.name for p in host.iterdir()) == ["canary"]
