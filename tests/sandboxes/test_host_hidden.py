"""The sandbox shows a candidate nothing of the host (issue 18's attacks, both sandboxes).

Each case is what an attacker who read evoforge's code tried against a root
orchestrator: a Unix socket on the host, the orchestrator's `.env`, the store's files,
memory outside the address-space limit, the shared disk, and open files. Each ends
with the right status, and the host is as it was.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from support.connections import recording

import evoforge
from evoforge.jobs import EvaluationJob
from evoforge.sandboxes.cgroups import pids_cgroup_base
from evoforge.sandboxes.memory_cgroup import memory_cgroup_base
from evoforge.sandboxes.process import ProcessSandbox
from evoforge.sandboxes.work_folder import PREFIX, WorkFolder, quota_available, sweep

MakeJob = Callable[..., EvaluationJob]
ROOT = os.geteuid() == 0
as_root = pytest.mark.skipif(not ROOT, reason="the root path: as CI, containers, GPU boxes run")


def report(feedback: str) -> dict[str, str]:
    return dict(line.split(": ", 1) for line in feedback.splitlines() if ": " in line)


@pytest.fixture
def host_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of the host outside the task's folder (which the candidate may read)."""
    folder = tmp_path_factory.mktemp("host")
    folder.chmod(0o755)
    return folder


@pytest.fixture
def unix_server(host_folder: Path) -> Iterator[tuple[Path, list[str]]]:
    """A Unix socket on the host that records every connection it accepts."""
    folder = host_folder / "run"
    folder.mkdir()
    folder.chmod(0o755)
    path = folder / "service.sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    path.chmod(0o777)  # like docker.sock to its group, or a trust-auth database socket
    server.listen()
    with recording(server) as accepted:
        yield path, accepted


def test_no_connection_reaches_a_unix_socket_on_the_host(
    any_sandbox, make_job: MakeJob, unix_server: tuple[Path, list[str]]
) -> None:
    path, accepted = unix_server
    with socket.socket(socket.AF_UNIX) as client:
        client.connect(str(path))  # the socket works for the host
    time.sleep(0.3)
    assert accepted == ["unix"]
    job = make_job(
        """
        import os, socket

        def evaluate(program_path):
            found = {}
            for path in (os.environ["SOCKET"], "/run/docker.sock", "/var/run/docker.sock",
                         "/var/run/postgresql/.s.PGSQL.5432"):
                try:
                    with socket.socket(socket.AF_UNIX) as client:
                        client.connect(path)
                    found[path] = "connected"
                except OSError as error:
                    found[path] = "refused " + type(error).__name__
            return 0.0, found
        """,
        env={"SOCKET": str(path)},
    )
    outcome = any_sandbox.run(job)
    assert outcome.status == "ok", outcome.reason
    assert "connected" not in outcome.feedback, outcome.feedback
    time.sleep(0.3)
    assert accepted == ["unix"], "the candidate reached the host's socket"


def test_dotenv_files_and_the_store_are_not_there(
    any_sandbox, make_job: MakeJob, host_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The orchestrator's folder (its `.env`, its SQLite store) and HOME do not exist
    for the candidate, though it is told exactly where they are."""
    canary = f"sk-canary-{uuid.uuid4().hex}"
    orchestrator = host_folder / "project"
    home = host_folder / "home"
    for folder in (orchestrator, home):
        folder.mkdir()
        folder.chmod(0o755)
        (folder / ".env").write_text(f"OPENAI_API_KEY={canary}\n")
        (folder / ".env").chmod(0o644)  # readable: only the sandbox stands in the way
    store = orchestrator / ".evoforge" / "evoforge.db"
    store.parent.mkdir()
    with sqlite3.connect(store) as connection:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("CREATE TABLE evaluations (score REAL)")
        connection.execute("INSERT INTO evaluations VALUES (1.0)")
    monkeypatch.chdir(orchestrator)
    monkeypatch.setenv("HOME", str(home))
    job = make_job(
        """
        import fcntl, os

        def evaluate(program_path):
            seen = {}
            paths = {
                "cwd_env": os.environ["PROJECT"] + "/.env",
                "home_env": os.environ["HOST_HOME"] + "/.env",
                "store": os.environ["PROJECT"] + "/.evoforge/evoforge.db",
                "store_shm": os.environ["PROJECT"] + "/.evoforge/evoforge.db-shm",
            }
            for name, path in paths.items():
                try:
                    with open(path, "rb") as handle:
                        data = handle.read()
                        fcntl.lockf(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
                    seen[name] = "read " + data[:60].decode("latin-1")
                except OSError as error:
                    seen[name] = "hidden " + type(error).__name__
            # Walking up from every path it is given finds nothing of the host either.
            here, found = os.path.dirname(os.path.abspath(program_path)), []
            while True:
                if os.path.exists(os.path.join(here, ".env")):
                    found.append(here)
                if here == "/":
                    break
                here = os.path.dirname(here)
            seen["walk_up"] = ",".join(found) or "none"
            seen["root"] = ",".join(sorted(os.listdir("/")))
            return 0.0, seen
        """,
        env={"PROJECT": str(orchestrator), "HOST_HOME": str(home)},
    )
    outcome = any_sandbox.run(job)
    assert outcome.status == "ok", outcome.reason
    seen = report(outcome.feedback)
    for name in ("cwd_env", "home_env", "store", "store_shm"):
        assert seen[name].startswith("hidden"), (name, seen[name])
    assert seen["walk_up"] == "none"
    assert canary not in outcome.model_dump_json()
    if any_sandbox.name == "process":
        # Nothing of the host's top level but what programs need.
        # Folders above the interpreter, evoforge and the task are shown as bare
        # mount points, wherever the checkout lives (CI clones under /check).
        needed = {
            Path(path).resolve().parts[1]
            for path in (sys.prefix, sys.base_prefix, evoforge.__file__, host_folder)
        }
        shown = set(seen["root"].split(","))
        assert shown <= {"bin", "dev", "etc", "lib", "lib32", "lib64", "libx32", "proc",
                         "sbin", "tmp", "usr"} | needed, shown  # fmt: skip
        assert not {"run", "var", "sys", "srv", "mnt", "media", "boot"} & shown, shown
    with sqlite3.connect(store) as connection:  # the store took no lock and no harm
        connection.execute("INSERT INTO evaluations VALUES (2.0)")


@as_root
def test_the_candidate_is_an_unprivileged_user_without_capabilities(
    any_sandbox, make_job: MakeJob
) -> None:
    """Root runs evoforge (as CI, containers and GPU boxes do); the candidate is
    nobody, with no capabilities and no way to gain any, in its own pid namespace."""
    job = make_job(
        """
        import getpass, os, subprocess

        def evaluate(program_path):
            status = dict(l.split(":", 1) for l in open("/proc/self/status").read().splitlines())
            return 0.0, {
                "uid": str(os.getuid()),
                "caps": ",".join(status[f].strip() for f in ("CapEff", "CapPrm", "CapBnd")),
                "no_new_privs": status["NoNewPrivs"].strip(),
                "pids": str(len([p for p in os.listdir("/proc") if p.isdigit()])),
                "user_ns": os.readlink("/proc/self/ns/user"),
                "name": getpass.getuser(),  # the sandbox's own passwd
                "awk": subprocess.run(["awk", "BEGIN{print 6*7}"], capture_output=True,
                                      text=True).stdout.strip() if os.path.exists(
                                      "/usr/bin/awk") else "none",  # via /etc/alternatives
            }
        """
    )
    outcome = any_sandbox.run(job)
    assert outcome.status == "ok", outcome.reason
    seen = report(outcome.feedback)
    assert seen["uid"] == "65534"
    assert set(seen["caps"].replace(",", "")) == {"0"}
    assert seen["no_new_privs"] == "1"
    if any_sandbox.name == "docker":
        # The container's user is nobody of the image; no user namespace is needed for
        # a non-root uid with every capability dropped (docker has no userns-remap here).
        assert seen["name"] == "nobody"
        assert int(seen["pids"]) <= 2  # the harness is the container's pid 1
        return
    assert (seen["name"], seen["awk"]) == ("evoforge", "42")
    assert int(seen["pids"]) <= 3  # bubblewrap's init, the harness: its own pid namespace
    assert seen["user_ns"] != os.readlink("/proc/self/ns/user")
    assert outcome.sandbox.startswith("process(bubblewrap")


def test_memfd_beyond_the_memory_limit_is_killed_by_the_memory_cgroup(
    any_sandbox, make_job: MakeJob
) -> None:
    """RLIMIT_AS does not count a memfd written with write(2); the memory cgroup does
    (the process sandbox's own, or the container's)."""
    if any_sandbox.name != "docker" and memory_cgroup_base() is None:
        pytest.skip("no writable memory cgroup here")
    job = make_job(
        """
        import os

        def evaluate(program_path):
            fd = os.memfd_create("hoard")
            chunk = b"x" * (16 << 20)
            for _ in range(96):  # 1.5 GB against a 256 MB limit
                os.write(fd, chunk)
            return 1.0
        """,
        resources={"memory_mb": 256, "timeout_s": 60},
    )
    outcome = any_sandbox.run(job)
    assert outcome.status == "crashed", (outcome.status, outcome.reason)
    assert "256 MB" in outcome.reason and "memory" in outcome.reason, outcome.reason


@pytest.mark.skipif(not quota_available(), reason="work folders are capped as root")
def test_a_disk_filler_fills_only_its_own_folder_while_a_sibling_runs(
    any_sandbox, make_job: MakeJob
) -> None:
    filler = make_job(
        """
        import errno

        def evaluate(program_path):
            written = 0
            try:
                for index in range(10_000):
                    with open(f"fill-{index}", "wb") as handle:
                        handle.write(b"x" * (4 << 20))
                    written += 4
            except OSError as error:
                return 0.0, {"stopped": errno.errorcode[error.errno], "mb": str(written)}
            return 1.0, {"stopped": "never", "mb": str(written)}
        """,
        resources={"disk_mb": 64, "max_file_mb": 1024, "memory_mb": 1024},
    )
    sibling = make_job(
        """
        import time

        def evaluate(program_path):
            time.sleep(1.0)  # while the filler is at work
            for index in range(8):
                with open(f"data-{index}", "wb") as handle:
                    handle.write(b"y" * (4 << 20))
            return 1.0
        """,
        resources={"disk_mb": 64},
    )
    with ThreadPoolExecutor(2) as pool:
        filled, other = pool.map(any_sandbox.run, [filler, sibling])
    assert filled.status == "ok", filled.reason
    assert report(filled.feedback)["stopped"] == "ENOSPC"
    assert int(report(filled.feedback)["mb"]) <= 64
    assert (other.status, other.score) == ("ok", 1.0), other.reason


@pytest.mark.skipif(not quota_available(), reason="work folders are capped as root")
def test_files_and_open_descriptors_are_capped(any_sandbox, make_job: MakeJob) -> None:
    job = make_job(
        """
        import errno, os

        def evaluate(program_path):
            seen = {}
            handles = []
            try:
                while True:
                    handles.append(open(program_path))
            except OSError as error:
                seen["open"] = f"{len(handles)} {errno.errorcode[error.errno]}"
            for handle in handles:
                handle.close()
            os.mkdir("many")
            count = 0
            try:
                while True:
                    open(f"many/{count}", "w").close()
                    count += 1
            except OSError as error:
                seen["files"] = f"{count} {errno.errorcode[error.errno]}"
            return 0.0, seen
        """,
        resources={"max_open_files": 200, "max_files": 500},
    )
    outcome = any_sandbox.run(job)
    assert outcome.status == "ok", outcome.reason
    seen = report(outcome.feedback)
    opened, why = seen["open"].split()
    assert why == "EMFILE" and int(opened) < 200
    made, why = seen["files"].split()
    assert why == "ENOSPC" and int(made) < 500


def test_work_folders_of_a_killed_run_are_swept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make_job: MakeJob
) -> None:
    """A run killed mid-evaluation leaves its folder (and, as root, its tmpfs); the next
    sandbox to start removes it, but never a folder a live evaluation holds."""
    root = tmp_path / "work"
    root.mkdir()
    import subprocess
    import sys

    script = (
        "import sys, time\n"
        "from evoforge.sandboxes.work_folder import WorkFolder\n"
        "folder = WorkFolder(sys.argv[1], 16, 100)\n"
        "(folder.path / 'result.json').write_text('{}')\n"
        "print(folder.path, flush=True)\n"
        "time.sleep(60)\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script, str(root)], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    orphan = Path(child.stdout.readline().strip())
    live = WorkFolder(str(root), 16, 100)
    try:
        monkeypatch.setattr("evoforge.sandboxes.work_folder.SWEEP_AGE_S", 0.0)
        assert sweep(str(root)) == []  # both are held: nothing is taken from a live run
        child.kill()
        child.wait()
        assert (orphan / "result.json").exists()
        assert sweep(str(root)) == [orphan]
        assert not orphan.exists()
        assert live.path.exists()
        assert not any(
            str(orphan) in line for line in Path("/proc/mounts").read_text().splitlines()
        )
    finally:
        live.close()
    assert not live.path.exists()
    assert list(root.glob(f"{PREFIX}*")) == []


@as_root
def test_a_private_task_folder_is_refused_with_the_fix(make_job: MakeJob, tmp_path: Path) -> None:
    job = make_job("def evaluate(program_path):\n    return 1.0\n")
    tmp_path.chmod(0o700)  # where the evaluator lives: the sandbox's user cannot read it
    sandbox = ProcessSandbox()
    mine = f"evoforge-{os.getpid()}-*"  # cgroups this process made (another run's are not ours)
    bases = [b for b in (pids_cgroup_base(), (memory_cgroup_base() or (None,))[0]) if b]
    before = {path for base in bases for path in base.glob(mine)}
    outcome = sandbox.run(job)
    assert outcome.status == "crashed"
    assert f"chmod o+rX {tmp_path}" in outcome.reason
    assert {path for base in bases for path in base.glob(mine)} == before  # none left behind
