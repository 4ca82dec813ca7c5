"""`evoforge.candidate_process`: a candidate's functions in a separate process, plain data back.

Each hostile child here must end as a `CandidateError` naming what happened, leave
nothing running and leave the scorer (this test process) as it was.
"""

from __future__ import annotations

import os
import sys
import textwrap
import time
from pathlib import Path

import pytest

from evoforge import candidate_process
from evoforge.candidate_process import (
    CandidateBadReply,
    CandidateDied,
    CandidateProcess,
    CandidateRaised,
    CandidateTimeout,
)


def program(tmp_path: Path, body: str, name: str = "program.py") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(body))
    return path


def alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie of ours counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


# --- what an honest program gets ----------------------------------------------------


def test_calls_return_plain_data_and_the_program_keeps_its_state(tmp_path: Path) -> None:
    path = program(
        tmp_path,
        """
        import numpy as np

        CALLS = []

        def remember(value):
            CALLS.append(value)
            return len(CALLS)

        def arrays():
            return np.arange(3), np.float64(2.5), np.int64(7), (1, "two")

        def keywords(a, *, b=0):
            return {"a": a, "b": b, 3: None}
        """,
    )
    with CandidateProcess(path) as remote:
        assert remote.functions >= {"remember", "arrays", "keywords"}
        assert remote.has("remember") and not remote.has("np") and not remote.has("CALLS")
        assert [remote.call("remember", i) for i in range(3)] == [1, 2, 3]
        assert remote.call("arrays") == [[0, 1, 2], 2.5, 7, [1, "two"]]
        assert remote.call("keywords", [1.5], b=(True, None)) == {
            "a": [1.5],
            "b": [True, None],
            "3": None,
        }


def test_arguments_are_copies_the_program_cannot_alter(tmp_path: Path) -> None:
    path = program(tmp_path, "def spoil(data):\n    data['x'].append(1)\n    return data\n")
    data = {"x": [0]}
    with CandidateProcess(path) as remote:
        assert remote.call("spoil", data) == {"x": [0, 1]}
    assert data == {"x": [0]}


def test_prints_reach_the_evaluation_output(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    path = program(
        tmp_path,
        """
        import sys
        print("loaded")

        def talk():
            print("to stdout")
            print("to stderr", file=sys.stderr)
            return 1
        """,
    )
    with CandidateProcess(path) as remote:
        assert remote.call("talk") == 1
        out, err = capfd.readouterr()
    assert "loaded" in out and "to stdout" in out and "to stderr" in err


def test_an_adapter_builds_objects_and_imports_its_siblings(tmp_path: Path) -> None:
    task = tmp_path / "task"
    task.mkdir()
    (task / "__init__.py").write_text("raise RuntimeError('the package __init__ must not run')\n")
    (task / "helpers.py").write_text("class Box:\n    def __init__(self, v):\n        self.v = v\n")
    (task / "remote.py").write_text(
        "from .helpers import Box\n\n"
        "def run(program, value):\n    return program.unbox(Box(value)) * 2\n"
    )
    path = program(tmp_path, "def unbox(box):\n    return box.v + 1\n")
    with CandidateProcess(path, adapter=task / "remote.py") as remote:
        assert remote.call("run", 20) == 42


def test_the_child_gets_no_secret_and_its_own_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVOFORGE_TEST_API_KEY", "sk-secret")
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    path = program(
        tmp_path,
        """
        import os, sys

        def where():
            return {
                "env": dict(os.environ),
                "cwd": os.getcwd(),
                "fds": sorted(int(fd) for fd in os.listdir("/proc/self/fd")),
                "argv": sys.argv[1:],
                "sid": os.getsid(0) == os.getpid(),
            }
        """,
    )
    with CandidateProcess(path, env={"TASK_SETTING": "1"}) as remote:
        seen = remote.call("where")
    assert "EVOFORGE_TEST_API_KEY" not in seen["env"]
    assert seen["env"]["OMP_NUM_THREADS"] == "3" and seen["env"]["TASK_SETTING"] == "1"
    assert Path(seen["cwd"]).name.startswith("evoforge-candidate-")
    assert not Path(seen["cwd"]).exists(), "the child's folder is removed on close"
    # stdio, the two pipes and the descriptor listing /proc/self/fd: nothing of the scorer's
    assert len(seen["fds"]) <= 6, seen["fds"]
    assert set(map(int, seen["argv"])) <= set(seen["fds"])
    assert seen["sid"], "the child leads its own session"


def test_the_program_folder_leaves_the_scorers_import_path(tmp_path: Path) -> None:
    """The child may write there; a folder below it (a project's venv) stays."""
    folder = tmp_path / "candidate"
    below = folder / ".venv" / "site-packages"
    below.mkdir(parents=True)
    path = program(folder, "def f():\n    return 1\n")
    sys.path.extend([str(folder), str(below)])
    try:
        with CandidateProcess(path) as remote:
            assert str(folder) not in sys.path and str(below) in sys.path
            assert remote.call("f") == 1
    finally:
        sys.path[:] = [p for p in sys.path if p not in (str(folder), str(below))]


def test_the_scorer_is_not_dumpable_while_a_child_lives(tmp_path: Path) -> None:
    """A same-uid child without CAP_SYS_PTRACE cannot ptrace or read the scorer's memory."""
    path = program(tmp_path, "def f():\n    return 1\n")
    before = candidate_process._prctl(candidate_process.PR_GET_DUMPABLE, 0, 0, 0, 0)
    with CandidateProcess(path) as remote, CandidateProcess(path) as other:
        remote.call("f")
        other.call("f")
        assert candidate_process._prctl(candidate_process.PR_GET_DUMPABLE, 0, 0, 0, 0) == 0
        assert candidate_process._subreaper() == 1
    assert candidate_process._prctl(candidate_process.PR_GET_DUMPABLE, 0, 0, 0, 0) == before
    assert candidate_process._subreaper() == 0


def test_the_scorers_json_and_builtins_stay_its_own(tmp_path: Path) -> None:
    path = program(
        tmp_path,
        """
        import builtins, json

        def patch():
            json.dumps = lambda *a, **k: '{"score": 1e9}'
            json.JSONDecoder.decode = lambda self, s: {"score": 1e9}
            builtins.sum = lambda *a, **k: 1e9
            builtins.max = lambda *a, **k: 1e9
            return "patched"
        """,
    )
    import builtins
    import json

    with CandidateProcess(path) as remote:
        assert remote.call("patch") == "patched"
        assert remote.call("patch") == "patched"  # its own patched json still answers
    assert json.dumps([1]) == "[1]" and sum([1, 2]) == 3 and builtins.max(1, 2) == 2


# --- failures while loading ----------------------------------------------------------


def test_a_syntax_error_is_raised_while_loading_with_the_remote_traceback(tmp_path: Path) -> None:
    path = program(tmp_path, "def broken(:\n    pass\n")
    with CandidateProcess(path) as remote, pytest.raises(CandidateRaised) as raised:
        remote.has("broken")
    assert raised.value.while_loading and raised.value.type_name == "SyntaxError"
    assert "raised while loading the program" in str(raised.value)
    assert "program.py" in raised.value.remote_traceback
    assert isinstance(raised.value.__cause__, candidate_process.RemoteTraceback)


@pytest.mark.parametrize(
    ("body", "error", "text"),
    [
        ("import sys\nsys.exit(4)\n", CandidateRaised, "SystemExit: 4"),
        ("raise KeyError('at import')\n", CandidateRaised, "KeyError: 'at import'"),
        ("import os\nos._exit(5)\n", CandidateDied, "exited with code 5"),
    ],
)
def test_a_program_that_fails_at_import_says_how(
    tmp_path: Path, body: str, error: type[Exception], text: str
) -> None:
    path = program(tmp_path, body)
    with CandidateProcess(path) as remote:
        with pytest.raises(error, match=text):
            remote.call("anything")
        with pytest.raises(error, match=text):  # every later call says the same
            remote.has("anything")


def test_a_missing_function_is_the_candidates_error(tmp_path: Path) -> None:
    path = program(tmp_path, "VALUE = 1\n")
    with CandidateProcess(path) as remote:
        assert not remote.has("decide")
        with pytest.raises(CandidateRaised, match="AttributeError"):
            remote.call("decide")


# --- hostile children ----------------------------------------------------------------

HOSTILE = """
import os, signal, sys, time

def exits():
    os._exit(3)

def segfaults():
    os.kill(os.getpid(), signal.SIGSEGV)

def hangs():
    while True:
        time.sleep(0.01)

def spins():
    while True:
        pass

def closes_its_pipe():
    os.close(int(sys.argv[2]))
    time.sleep(30)

def garbage():
    os.write(int(sys.argv[2]), b"R\\x05\\x00\\x00\\x00{{{{{")
    time.sleep(30)

def two_answers():
    os.write(int(sys.argv[2]), b"R\\x01\\x00\\x00\\x001")
    return 2

def huge_header():
    os.write(int(sys.argv[2]), b"R\\xff\\xff\\xff\\x7f")
    time.sleep(30)

def floods():
    fd = int(sys.argv[2])
    os.write(fd, b"R" + (1 << 30).to_bytes(4, "little"))
    while True:
        os.write(fd, b"x" * 65536)

def huge_reply():
    return "x" * (20 << 20)

def not_plain():
    return object()

def a_set():
    return {1, 2}

def not_finite():
    return {"score": [1.0, float("inf")]}

def overflowing():
    return 1e999 if False else float("1e308") * 10

def deep():
    value = []
    for _ in range(100):
        value = [value]
    return value

def cyclic():
    value = []
    value.append(value)
    return value

def raises():
    raise ValueError("nope")

def exits_cleanly():
    sys.exit(0)

def noisy():
    chunk = "y" * (1 << 20)
    for _ in range(20):
        sys.stdout.write(chunk)
        sys.stderr.write(chunk)
    return "still answered"
"""


@pytest.mark.parametrize(
    ("function", "error", "text"),
    [
        ("exits", CandidateDied, "exited with code 3 during exits()"),
        ("segfaults", CandidateDied, r"killed by signal 11 \(SIGSEGV\)"),
        ("closes_its_pipe", CandidateDied, "closed its pipe"),
        ("garbage", CandidateDied, "malformed reply"),
        ("huge_header", CandidateBadReply, "over the 16777216-byte limit"),
        ("floods", CandidateBadReply, "over the 16777216-byte limit"),
        ("huge_reply", CandidateBadReply, "over the 16777216-byte limit"),
        ("not_plain", CandidateBadReply, "object is not plain data"),
        ("a_set", CandidateBadReply, "set is not plain data"),
        ("not_finite", CandidateBadReply, r"a non-finite number \(Infinity\)"),
        ("overflowing", CandidateBadReply, "non-finite"),
        ("deep", CandidateBadReply, "nested deeper than 32 levels"),
        ("cyclic", CandidateBadReply, "Circular reference"),
        ("raises", CandidateRaised, "ValueError: nope"),
        ("exits_cleanly", CandidateRaised, "SystemExit: 0"),
    ],
)
def test_a_hostile_call_ends_as_a_clear_error(
    tmp_path: Path, function: str, error: type[Exception], text: str
) -> None:
    path = program(tmp_path, HOSTILE)
    with CandidateProcess(path, timeout_s=20) as remote:
        pid = remote.pid
        with pytest.raises(error, match=text):
            remote.call(function)
    assert not alive(pid)


def test_an_answer_nobody_asked_for_breaks_the_protocol(tmp_path: Path) -> None:
    path = program(tmp_path, HOSTILE)
    with CandidateProcess(path) as remote:
        with pytest.raises(CandidateDied, match="unasked data"):
            remote.call("two_answers")  # both frames in one read: caught at once
            time.sleep(0.2)
            remote.call("raises")  # or the extra one is seen before the next call
        assert not alive(remote.pid)


def test_a_hang_is_stopped_at_the_calls_timeout(tmp_path: Path) -> None:
    path = program(tmp_path, HOSTILE)
    for function in ("hangs", "spins"):
        with CandidateProcess(path, timeout_s=0.5) as remote:
            started = time.monotonic()
            with pytest.raises(CandidateTimeout, match=rf"{function}\(\) took longer than 0.5 s"):
                remote.call(function)
            assert time.monotonic() - started < 5
            assert not alive(remote.pid)
            with pytest.raises(CandidateTimeout):  # the process is gone: so is every later call
                remote.call("raises")


def test_a_slow_import_is_stopped_at_the_load_timeout(tmp_path: Path) -> None:
    path = program(tmp_path, "while True:\n    pass\n")
    with CandidateProcess(path, load_timeout_s=0.5) as remote:
        with pytest.raises(CandidateTimeout, match="loading the program took longer"):
            remote.has("f")
        assert not alive(remote.pid)


def test_a_process_that_survives_its_errors_answers_the_next_call(tmp_path: Path) -> None:
    path = program(tmp_path, HOSTILE + "\ndef fine():\n    return 'fine'\n")
    with CandidateProcess(path) as remote:
        for function in ("not_plain", "a_set", "not_finite", "deep", "raises"):
            with pytest.raises((CandidateBadReply, CandidateRaised)):
                remote.call(function)
            assert remote.call("fine") == "fine"


def test_heavy_output_does_not_disturb_the_protocol(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    path = program(tmp_path, HOSTILE)
    with CandidateProcess(path) as remote:
        assert remote.call("noisy") == "still answered"
    out, err = capfd.readouterr()
    assert len(out) >= 20 << 20 and len(err) >= 20 << 20


def test_nothing_the_candidate_started_outlives_close(tmp_path: Path) -> None:
    """A daemon (double fork, new session) and a plain child are both killed on close:
    a survivor could rewrite the harness's result file after the harness wrote it."""
    path = program(
        tmp_path,
        """
        import os, time

        def spawn(report):
            child = os.fork()
            if child == 0:
                os.setsid()
                if os.fork():
                    os._exit(0)
                with open(report, "w") as handle:
                    handle.write(str(os.getpid()))
                time.sleep(60)
                os._exit(0)
            os.waitpid(child, 0)
            plain = os.fork()
            if plain == 0:
                time.sleep(60)
                os._exit(0)
            while not os.path.exists(report):
                time.sleep(0.01)
            return plain
        """,
    )
    report = tmp_path / "daemon.pid"
    with CandidateProcess(path) as remote:
        plain = remote.call("spawn", str(report))
        daemon = int(report.read_text())
        assert alive(daemon) and alive(plain)
        with open(f"/proc/{daemon}/stat") as handle:  # reparented to the scorer, a subreaper
            assert int(handle.read().rpartition(")")[2].split()[1]) == os.getpid()
        child = remote.pid
    for pid in (plain, daemon, child):
        assert not alive(pid), pid


def test_the_helper_is_cheap_to_import() -> None:
    """It loads in the sandbox next to every evaluator: no pydantic, no typing."""
    code = (
        "import sys, time; t = time.perf_counter(); import evoforge.candidate_process; "
        "print(round((time.perf_counter() - t) * 1000, 2)); "
        "print(sorted(m for m in ('typing', 'pydantic', 'subprocess', 'ctypes') "
        "if m in sys.modules))"
    )
    import subprocess

    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    milliseconds, heavy = done.stdout.splitlines()
    assert heavy == "[]", heavy
    assert float(milliseconds) < 100  # generous for a busy machine: it is a few ms


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to check the SIGKILL of the scorer")
def test_a_child_that_kills_the_scorer_takes_no_result_with_it(tmp_path: Path) -> None:
    """The child can only end the scorer (same uid): the evaluation then has no result,
    never a forged one. Here the scorer is a separate interpreter, not this test."""
    import subprocess

    path = program(
        tmp_path,
        "import os, signal\n\ndef f():\n    os.kill(os.getppid(), signal.SIGKILL)\n    return 1\n",
    )
    scorer = (
        "from evoforge.candidate_process import CandidateProcess\n"
        f"with CandidateProcess({str(path)!r}) as remote:\n"
        "    print('score', remote.call('f'))\n"
    )
    done = subprocess.run([sys.executable, "-c", scorer], capture_output=True, text=True)
    assert done.returncode == -9 and "score" not in done.stdout
