"""The process sandbox's isolation: a root candidate cannot touch the host it runs on."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from evoforge.jobs import EvaluationJob
from evoforge.sandboxes import process as process_module
from evoforge.sandboxes.process import ProcessSandbox

MakeJob = Callable[..., EvaluationJob]

needs_isolation = pytest.mark.skipif(
    not ProcessSandbox().isolates(), reason="this machine cannot isolate the harness"
)


def weak_sandbox(monkeypatch: pytest.MonkeyPatch, **options: object) -> ProcessSandbox:
    """The sandbox where bubblewrap is missing and the user accepted weak isolation."""
    monkeypatch.setattr(
        ProcessSandbox, "bubblewrap_missing", lambda self: "bubblewrap is not installed"
    )
    return ProcessSandbox(weak_isolation=True, **options)  # type: ignore[arg-type]


def feedback_lines(feedback: str) -> dict[str, str]:
    """The evaluators below return (score, {name: text}); the feedback holds `name: text`."""
    return dict(line.split(": ", 1) for line in feedback.splitlines() if ": " in line)


@needs_isolation
def test_candidate_writes_only_in_its_work_folder_and_private_shm(
    make_job: MakeJob, tmp_path: Path
) -> None:
    host_folder = tmp_path / "host-folder"  # owned by root, like the orchestrator's files
    host_folder.mkdir()
    shm_name = f"evoforge-test-{uuid.uuid4().hex}"
    job = make_job(
        """
        import os, tempfile

        def attempt(path):
            try:
                with open(path, "w") as handle:
                    handle.write("x")
            except OSError as error:
                return "refused " + type(error).__name__ + " " + str(error.errno)
            return "written"

        def evaluate(program_path):
            return 1.0, {
                "host": attempt(os.environ["HOST_FOLDER"] + "/escaped.txt"),
                "cwd": attempt("in-cwd.txt"),
                "tmpdir": attempt(os.path.join(tempfile.gettempdir(), "in-tmp.txt")),
                "shm": attempt("/dev/shm/" + os.environ["SHM_NAME"]),
                "shm_seen": str(os.path.exists("/dev/shm/" + os.environ["SHM_NAME"])),
            }
        """,
        env={"HOST_FOLDER": str(host_folder), "SHM_NAME": shm_name},
    )
    try:
        outcome = ProcessSandbox().run(job)
        assert outcome.status == "ok", (outcome.reason, outcome.stderr)
        seen = feedback_lines(outcome.feedback)
        assert seen["host"].startswith("refused"), seen
        assert seen["host"].split()[-1] in ("30", "13", "1"), seen  # EROFS, EACCES, EPERM
        assert (seen["cwd"], seen["tmpdir"], seen["shm"]) == ("written",) * 3, seen
        assert seen["shm_seen"] == "True"
        assert not (host_folder / "escaped.txt").exists()
        assert not Path("/dev/shm", shm_name).exists(), "/dev/shm is the host's, not private"
    finally:
        Path("/dev/shm", shm_name).unlink(missing_ok=True)


@needs_isolation
def test_candidate_cannot_see_or_signal_host_processes(make_job: MakeJob) -> None:
    job = make_job(
        """
        import os

        def evaluate(program_path):
            try:
                os.kill(int(os.environ["HOST_PID"]), 0)
                signal_result = "reached the host process"
            except ProcessLookupError:
                signal_result = "ProcessLookupError"
            except OSError as error:
                signal_result = type(error).__name__
            pids = [entry for entry in os.listdir("/proc") if entry.isdigit()]
            return 1.0, {"signal": signal_result, "pids": str(len(pids)), "me": str(os.getpid())}
        """,
        env={"HOST_PID": str(os.getpid())},
    )
    outcome = ProcessSandbox().run(job)
    assert outcome.status == "ok", (outcome.reason, outcome.stderr)
    seen = feedback_lines(outcome.feedback)
    assert seen["signal"] == "ProcessLookupError", seen
    assert int(seen["pids"]) <= 4, seen  # the namespace's init, the candidate, little else
    assert seen["me"] != "1", "the candidate must not be the namespace's init"


@needs_isolation
def test_candidate_cannot_remount_leave_its_cgroup_or_reach_devices(make_job: MakeJob) -> None:
    job = make_job(
        """
        import ctypes, os

        MS_REMOUNT, MS_BIND = 32, 4096

        def attempt(action):
            try:
                action()
            except OSError as error:
                return "refused " + type(error).__name__
            return "done"

        def write(path, text):
            with open(path, "w") as handle:
                handle.write(text)

        def evaluate(program_path):
            libc = ctypes.CDLL(None, use_errno=True)
            remount = libc.mount(None, b"/", None, MS_REMOUNT, None)
            mount = libc.mount(b"/tmp", b"/tmp", None, MS_BIND, None)
            with open("/proc/self/cgroup") as handle:
                before = handle.read()
            cgroup = attempt(lambda: write("/sys/fs/cgroup/pids/cgroup.procs", str(os.getpid())))
            with open("/proc/self/cgroup") as handle:
                after = handle.read()
            devices = [name for name in os.listdir("/dev") if name.startswith(("vd", "sd", "nvme"))]
            return 1.0, {
                "remount": str(remount),
                "mount": str(mount),
                "cgroup": cgroup,
                "cgroup_kept": str(before == after),
                "core_pattern": attempt(lambda: write("/proc/sys/kernel/core_pattern", "x")),
                "block_devices": ",".join(devices) or "none",
            }
        """
    )
    outcome = ProcessSandbox().run(job)
    assert outcome.status == "ok", (outcome.reason, outcome.stderr)
    seen = feedback_lines(outcome.feedback)
    assert (seen["remount"], seen["mount"]) == ("-1", "-1"), seen
    assert seen["cgroup"].startswith("refused") and seen["cgroup_kept"] == "True", seen
    assert seen["core_pattern"].startswith("refused"), seen
    assert seen["block_devices"] == "none", seen


@needs_isolation
@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("os.abort()", "killed by signal SIGABRT"),
        ("os.kill(os.getpid(), signal.SIGKILL)", "killed by signal SIGKILL"),
        ("os.kill(os.getpid(), signal.SIGTERM)", "killed by signal SIGTERM"),
        ("os._exit(7)", "exited with code 7"),
    ],
)
def test_the_exit_is_reported_as_without_namespaces(
    make_job: MakeJob, body: str, expected: str
) -> None:
    """The candidate is not the pid namespace's init, whose default signals the kernel drops."""
    source = f"import os, signal\n\ndef evaluate(program_path):\n    {body}\n    return 1.0\n"
    job = make_job(source)
    outcome = ProcessSandbox().run(job)
    assert outcome.status == "crashed"
    assert expected in outcome.reason


@needs_isolation
def test_a_failed_isolation_step_stops_the_candidate(
    make_job: MakeJob, monkeypatch: pytest.MonkeyPatch
) -> None:
    encode = process_module.encode_spec

    def with_a_missing_writable_folder(spec: dict) -> bytes:
        spec["isolate"]["writable"].append(f"/nonexistent-{uuid.uuid4().hex}")
        return encode(spec)

    monkeypatch.setattr(process_module, "encode_spec", with_a_missing_writable_folder)
    job = make_job("def evaluate(program_path):\n    print('candidate ran')\n    return 1.0\n")
    outcome = weak_sandbox(monkeypatch).run(job)
    assert outcome.status == "crashed"
    assert "isolation failed, so the candidate was not run" in outcome.reason
    assert "nonexistent" in outcome.reason
    assert "candidate ran" not in outcome.stdout


@pytest.mark.skipif(os.geteuid() != 0, reason="as root this machine must isolate fully")
def test_root_machine_reports_no_missing_protection() -> None:
    assert ProcessSandbox().describe() == "process(bubblewrap)"
    assert ProcessSandbox(allow_network=True).describe() == "process(bubblewrap)"


@needs_isolation
def test_allowing_the_network_keeps_the_other_namespaces(make_job: MakeJob, tmp_path: Path) -> None:
    job = make_job(
        """
        import os

        def evaluate(program_path):
            try:
                open(os.environ["TARGET"], "w").close()
                wrote = "yes"
            except OSError:
                wrote = "no"
            return 1.0, {"pid": str(os.getpid()), "wrote": wrote}
        """,
        env={"TARGET": str(tmp_path / "escaped.txt")},
    )
    outcome = ProcessSandbox(allow_network=True).run(job)
    assert outcome.status == "ok", (outcome.reason, outcome.stderr)
    # Its own pid namespace: after bubblewrap's init, the candidate (cold) or the slot's
    # warm server and its forked child.
    seen = feedback_lines(outcome.feedback)
    assert seen["pid"] in ("2", "3") and seen["wrote"] == "no", seen
    assert not (tmp_path / "escaped.txt").exists()


def test_without_isolation_evaluations_run_and_say_what_is_missing(
    make_job: MakeJob, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(process_module, "isolation_available", lambda python, prefix: False)
    job = make_job(
        """
        import os

        def evaluate(program_path):
            return 0.5, {"pid_is_host": str(os.getpid() > 2)}
        """
    )
    sandbox = weak_sandbox(monkeypatch)
    outcome = sandbox.run(job)
    assert (outcome.status, outcome.score) == ("ok", 0.5), outcome.reason
    assert "no-fs-isolation" in outcome.sandbox and "no-pidns" in outcome.sandbox
    assert outcome.sandbox == sandbox.describe()
    assert feedback_lines(outcome.feedback)["pid_is_host"] == "True"


def test_without_bubblewrap_a_run_is_refused_in_one_line_unless_weakness_is_accepted(
    tmp_path: Path,
) -> None:
    """No silent weak mode: where bubblewrap cannot isolate, `evoforge run` stores
    nothing and says in one line how to fix it; `--weak-isolation` runs, and `show`
    then states the weaker isolation of every evaluation."""
    import json
    import subprocess
    import sys

    db = f"sqlite:///{tmp_path / 'store.db'}"
    env = {**os.environ, "EVOFORGE_BWRAP": str(tmp_path / "no-bwrap"), "COLUMNS": "200"}
    command = [sys.executable, "-m", "evoforge.cli", "run", "circle_packing"]
    command += ["--max-evaluations", "2", "--db", db]

    def evoforge(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*command, *extra], capture_output=True, text=True, env=env, timeout=300
        )

    refused = evoforge()
    assert refused.returncode == 2, refused.stderr
    [line] = refused.stderr.strip().splitlines()
    assert "cannot isolate candidates here (bubblewrap is not installed)" in line
    for fix in ("apt-get install bubblewrap", "--sandbox docker", "--weak-isolation"):
        assert fix in line
    listed = subprocess.run(
        [sys.executable, "-m", "evoforge.cli", "runs", "--json", "--db", db],
        capture_output=True,
        text=True,
        env=env,
    )
    assert listed.returncode != 0 or json.loads(listed.stdout) == []  # nothing stored

    accepted = evoforge("--weak-isolation", "--json")
    assert accepted.returncode == 0, accepted.stderr
    run_id = json.loads(accepted.stdout)["run_id"]
    shown = subprocess.run(
        [sys.executable, "-m", "evoforge.cli", "show", run_id, "--json", "--db", db],
        capture_output=True,
        text=True,
        env=env,
    )
    assert shown.returncode == 0, shown.stderr
    assert "process(weak" in shown.stdout and "bubblewrap)" not in shown.stdout
