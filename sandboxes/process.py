"""The `process` sandbox: each evaluation in a fresh, contained child process.

What it enforces, and where each limit comes from (docs/sandboxes.md says more):

* **Wall clock** (`resources.timeout_s`): the parent SIGKILLs the child's process
  group, and its cgroup, at the deadline -> `timeout`.
* **CPU time, memory, file size, core dumps**: rlimits the harness sets on itself
  before any candidate code runs (RLIMIT_CPU, RLIMIT_AS, RLIMIT_FSIZE, RLIMIT_CORE).
  RLIMIT_AS is skipped for GPU jobs: CUDA reserves far more address space than it uses.
* **Processes**: a per-evaluation pids cgroup (`pids.max = max_processes`) where one is
  writable (cgroup v1 `/sys/fs/cgroup/pids`, or v2 with the pids controller), which
  also lets the parent kill every descendant, even one that called `setsid()`.
  Otherwise RLIMIT_NPROC, which counts per user and which **the kernel ignores for
  root**: as root without a writable pids cgroup a fork bomb is held only by the
  deadline, and the outcome's sandbox reads `process(no-pids-limit)`.
* **Network**: the child runs under `unshare -n` (root) or `unshare -rn` (an
  unprivileged user namespace), so it sees only a down loopback. Where neither works
  the candidate has the host's network and the outcome's sandbox reads
  `process(no-netns)`. A task whose resources set `network` (a prompt task calling
  its task model) keeps the host's network.
* **Filesystem, processes, privileges** (sandboxes/isolation.py): before any
  candidate code the harness gives itself a mount namespace in which the whole host is
  read-only, nosuid and nodev except the private work folder, a private /dev (a few
  character devices, the GPU's for GPU jobs, a private /dev/shm), a pid namespace
  with its own read-only /proc (the candidate sees and can signal only its own
  processes), and then drops every capability and sets no_new_privs. So a root
  candidate cannot write the host's files, signal the orchestrator, or leave its
  cgroup. Probed once per process; where it fails the candidate runs without it and
  the outcome's sandbox reads `process(no-fs-isolation,no-pidns)`.
* **Environment**: a whitelist plus the task's env, minus anything named like a
  credential; HOME, TMPDIR and the working directory are a private temporary folder
  removed afterwards.
* **Output**: the first and last 32 KiB of stdout and stderr each.

The result comes back in a file the harness writes with a per-evaluation nonce, never
from stdout, so a candidate cannot forge its score by printing. The evaluator runs in
the same process as the candidate, so a candidate that attacks its own evaluator can
only be contained from here, from outside.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import marshal
import math
import os
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from pydantic import ValidationError

from evoforge.hookspecs import hookimpl
from evoforge.jobs import EvaluationJob, EvaluationOutcome
from evoforge.protocols import SandboxUnavailable
from evoforge.sandboxes import supervision
from evoforge.sandboxes.boot import compiled_harness, interpreter_boot
from evoforge.sandboxes.cgroups import PidsCgroup, pids_cgroup_base
from evoforge.sandboxes.environment import child_environment
from evoforge.sandboxes.output import CappedStream

HARNESS = Path(__file__).with_name("harness.py")
ISOLATION = Path(__file__).with_name("isolation.py")
RESULT_LIMIT = 64 << 20  # a result file larger than this is not read

_netns_lock = threading.Lock()
_netns_prefix: list[str] | None | bool = False  # False: not probed yet


def network_isolation_prefix() -> list[str] | None:
    """The command prefix that gives a child its own empty network namespace, or None.

    Probed once per process: `unshare -n` needs CAP_SYS_ADMIN (root), `unshare -rn`
    needs unprivileged user namespaces. Both exec the command in place, so the child's
    pid is the one Popen returns.
    """
    global _netns_prefix
    with _netns_lock:
        if _netns_prefix is False:
            _netns_prefix = None
            unshare = shutil.which("unshare")
            for flags in (["-n"], ["-rn"]):
                if unshare and _succeeds([unshare, *flags, "true"]):
                    _netns_prefix = [unshare, *flags]
                    break
        return _netns_prefix if isinstance(_netns_prefix, list) else None


def namespace_prefix(allow_network: bool) -> list[str]:
    """The prefix a child starts under: its network namespace, or only a user namespace.

    A non-root user needs the user namespace of `unshare -r` even with the network
    allowed: it is what lets the harness make its mount and pid namespaces.
    """
    prefix = network_isolation_prefix()
    if not allow_network:
        return prefix or []
    if prefix and prefix[-1] == "-rn":
        return [*prefix[:-1], "-r"]
    return []


_isolation_lock = threading.Lock()
_isolation: dict[tuple[str, ...], bool] = {}


def isolation_available(python: str, prefix: list[str]) -> bool:
    """Whether the harness can isolate itself (sandboxes/isolation.py) under `prefix`.

    Probed once per interpreter and prefix by running the isolation self-test: it
    isolates itself with a temporary folder writable, then checks from inside that it
    may write there and nowhere else, is pid 2, and holds no capability.
    """
    key = (python, *prefix)
    with _isolation_lock:
        if key not in _isolation:
            _isolation[key] = _probe_isolation(python, prefix)
        return _isolation[key]


def _probe_isolation(python: str, prefix: list[str]) -> bool:
    folder = Path(tempfile.mkdtemp(prefix="evoforge-probe-"))
    try:
        work = folder / "work"
        work.mkdir()
        command = [*prefix, python, "-I", "-S", str(ISOLATION), str(work)]
        try:
            done = subprocess.run(command, capture_output=True, timeout=30, check=False, cwd=work)
        except (OSError, subprocess.SubprocessError):
            return False
        return (
            done.returncode == 0
            and done.stdout.strip() == b"ok"
            and (work / "probe").is_file()
            and not (folder / "evoforge-probe-escape").exists()
        )
    finally:
        remove_tree(folder)


def _succeeds(command: list[str]) -> bool:
    try:
        return subprocess.run(command, capture_output=True, timeout=10, check=False).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


class ProcessSandbox:
    """Runs each evaluation in its own session, cgroup, namespaces and temp dir."""

    name: ClassVar[str] = "process"

    def __init__(
        self,
        python: str | None = None,
        allow_network: bool = False,
        workdir_root: str | None = None,
        **unknown: Any,
    ) -> None:
        if unknown:
            raise ValueError(
                f"unknown process sandbox option(s) {sorted(unknown)}; "
                "known: python, allow_network, workdir_root"
            )
        self.python = python or sys.executable
        self._live: set[subprocess.Popen[bytes]] = set()
        self._live_lock = threading.Lock()
        self.allow_network = allow_network
        self.workdir_root = workdir_root

    def check(self) -> None:
        if not sys.platform.startswith("linux"):
            raise SandboxUnavailable(
                f"the process sandbox needs Linux (this is {sys.platform}); use sandbox 'docker'"
            )
        if not os.access(self.python, os.X_OK):
            raise SandboxUnavailable(
                f"python {self.python!r} is not executable; set the sandbox option 'python'"
            )
        if not HARNESS.is_file():
            raise SandboxUnavailable(f"the harness {HARNESS} is missing; reinstall evoforge")

    def cancel_all(self) -> None:
        """Kill every evaluation in flight (the user pressed Ctrl-C).

        Only the process groups are signalled here; each supervising thread then sees
        its child exit and cleans up (cgroup, pipes, folder) as after any other exit.
        """
        with self._live_lock:
            running = list(self._live)
        for proc in running:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)

    def describe(self) -> str:
        """The sandbox's name with any protection this machine cannot give."""
        missing = []
        if not self.allow_network and network_isolation_prefix() is None:
            missing.append("no-netns")
        if not self.isolates():
            missing += ["no-fs-isolation", "no-pidns"]
        if os.geteuid() == 0 and pids_cgroup_base() is None:
            missing.append("no-pids-limit")
        return f"{self.name}({','.join(missing)})" if missing else self.name

    def isolates(self) -> bool:
        """Whether this machine lets the harness isolate itself (probed once per process)."""
        return isolation_available(self.python, namespace_prefix(self.allow_network))

    def run(self, job: EvaluationJob) -> EvaluationOutcome:
        return run_in_workdir(job, self._evaluate, "evoforge-", self.workdir_root, self.describe())

    def _evaluate(self, job: EvaluationJob, workdir: Path) -> EvaluationOutcome:
        candidate_dir = workdir / "candidate"
        files = write_candidate(candidate_dir, job.files)
        if isinstance(files, str):
            return EvaluationOutcome(status="invalid", reason=files)
        if job.primary not in files:
            raise ValueError(f"job {job.candidate_id}: primary file {job.primary!r} not in files")
        resources = job.resources
        gpu = resources.gpus > 0 or job.gpu_slot is not None
        limits = {**harness_limits(job), "max_processes": resources.max_processes}
        boot = interpreter_boot(self.python)
        spec = {
            "primary": files[job.primary],
            "candidate_dir": str(candidate_dir),
            "files": files,
            "evaluate": job.evaluate,
            "candidate_argument": job.candidate_argument,
            "metric": job.metric,
            "score_excludes": job.score_excludes,
            "stages": [stage.model_dump() for stage in job.stages],
            "instances": job.instances,
            "python_path": [str(Path(p).absolute()) for p in job.python_path],
            "limits": limits,
            "result_path": str(workdir / "result.json"),
            "boot": boot,
        }
        isolated = self.isolates()
        if isolated:
            spec["isolate"] = {
                "writable": [str(workdir)],
                "gpu": gpu,
                # /dev/shm is memory too; RLIMIT_AS does not count what sits in a tmpfs.
                "shm_mb": limits["memory_mb"],
            }
        spec_path = workdir / "spec.marshal"
        spec_path.write_bytes(encode_spec(spec))
        env = child_environment(str(workdir), resources, job.env, job.gpu_slot)
        # With the network allowed, a user namespace only serves the isolation.
        allow_network = self.allow_network or resources.network
        prefix = namespace_prefix(allow_network) if isolated or not allow_network else []
        flags = ["-I", "-S"] if boot else ["-I"]
        harness = compiled_harness(self.python) or str(HARNESS)
        command = [*prefix, self.python, *flags, harness, str(spec_path)]
        nonce = secrets.token_hex(16)

        cgroup = PidsCgroup.create(resources.max_processes)
        try:
            proc = subprocess.Popen(
                command,
                cwd=workdir,
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                close_fds=True,
                start_new_session=True,
            )
        except BaseException:
            if cgroup is not None:
                cgroup.remove()
            raise
        pidfd = supervision.open_pidfd(proc.pid)
        with self._live_lock:
            self._live.add(proc)
        try:
            if cgroup is not None and not cgroup.add(proc.pid):
                cgroup.remove()
                cgroup = None
            return self._supervise(proc, pidfd, cgroup, nonce, spec, resources.timeout_s)
        finally:
            with self._live_lock:
                self._live.discard(proc)
            if pidfd is not None:
                os.close(pidfd)
            if proc.returncode is None:  # only if supervising failed: never leave it running
                supervision.stop(proc, None, cgroup)
            if cgroup is not None:
                cgroup.remove()

    def _supervise(
        self,
        proc: subprocess.Popen[bytes],
        pidfd: int | None,
        cgroup: PidsCgroup | None,
        nonce: str,
        spec: dict[str, Any],
        timeout_s: float,
    ) -> EvaluationOutcome:
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        deadline = time.monotonic() + timeout_s
        streams = {proc.stdout.fileno(): CappedStream(), proc.stderr.fileno(): CappedStream()}
        for fd in streams:
            supervision.enlarge_pipe(fd)
        # The go signal: only now, inside its cgroup, may the child run candidate code.
        with contextlib.suppress(OSError):
            proc.stdin.write(f"{nonce}\n".encode())
            proc.stdin.flush()
        with contextlib.suppress(OSError):
            proc.stdin.close()
        timed_out = supervision.pump(proc.pid, pidfd, streams, deadline)
        supervision.stop(proc, pidfd, cgroup)
        supervision.drain(streams)
        stdout, stderr = (stream.text() for stream in streams.values())
        proc.stdout.close()
        proc.stderr.close()

        outcome, problem = outcome_from_result(Path(spec["result_path"]), nonce, stdout, stderr)
        if outcome is not None:
            return outcome
        if timed_out:
            status, reason = "timeout", f"timed out after {timeout_s:g} s (wall-clock limit)"
        else:
            status, reason = supervision.describe_exit(proc.returncode, spec["limits"])
            final = last_line(stderr)
            if final and proc.returncode and proc.returncode > 0:
                reason = f"{reason}: {final}"
            if problem:
                reason = f"{reason}; {problem}"
        return EvaluationOutcome(status=status, reason=reason, stdout=stdout, stderr=stderr)


def run_in_workdir(
    job: EvaluationJob,
    evaluate: Callable[[EvaluationJob, Path], EvaluationOutcome],
    prefix: str,
    root: str | None,
    sandbox: str,
) -> EvaluationOutcome:
    """Evaluate in a fresh private folder that is removed whatever happens, and stamp
    the outcome with its duration, host and sandbox (shared by both sandboxes)."""
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix=prefix, dir=root))
    try:
        outcome = evaluate(job, workdir)
    finally:
        remove_tree(workdir)
    outcome.duration_s = time.monotonic() - started
    outcome.host = socket.gethostname()
    outcome.sandbox = sandbox
    return outcome


def harness_limits(job: EvaluationJob) -> dict[str, Any]:
    """The rlimits the harness sets on itself, from the task's resources.

    RLIMIT_AS is left off for GPU jobs: CUDA reserves far more address space than it uses.
    """
    resources = job.resources
    gpu = resources.gpus > 0 or job.gpu_slot is not None
    return {
        "memory_mb": None if gpu else resources.memory_mb,
        # CPU time adds up over threads: allow `cpus` cores busy for the whole timeout.
        "cpu_s": math.ceil(resources.timeout_s * max(1.0, resources.cpus)) + 1,
        "max_file_mb": resources.max_file_mb,
    }


def write_candidate(directory: Path, files: dict[str, str]) -> dict[str, str] | str:
    """Write the artifact files; name -> absolute path, or why a name is unusable."""
    directory.mkdir()
    root = directory.resolve()
    paths: dict[str, str] = {}
    for name, text in files.items():
        target = (root / name).resolve()
        if not target.is_relative_to(root) or target == root:
            return f"artifact file name {name!r} points outside the candidate folder"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        paths[name] = str(target)
    return paths


def encode_spec(spec: dict[str, Any]) -> bytes:
    """marshal, which the harness reads without importing anything; JSON-safe fallback."""
    try:
        return marshal.dumps(spec)
    except ValueError:  # e.g. instances holding objects marshal does not know
        return marshal.dumps(json.loads(json.dumps(spec, default=str)))


def outcome_from_result(
    path: Path, nonce: str, stdout: str, stderr: str
) -> tuple[EvaluationOutcome | None, str]:
    """The evaluation's outcome from the harness's result file, or (None, what was wrong)."""
    payload, problem = read_result(path, nonce)
    if payload is None:
        return None, problem
    try:
        outcome = EvaluationOutcome.model_validate(payload)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        return None, f"the result is malformed ({where}: {first['msg']})"
    outcome.stdout, outcome.stderr = stdout, stderr
    return outcome, ""


def read_result(path: Path, nonce: str) -> tuple[dict[str, Any] | None, str]:
    """The harness's result with the nonce checked, or (None, what was wrong with it)."""
    try:
        # Non-blocking: a FIFO the candidate put there must not hang the parent on open.
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return None, ""
    except OSError as error:
        return None, f"the result file is unreadable ({error.strerror})"
    with os.fdopen(fd, "rb") as handle:
        status = os.fstat(handle.fileno())
        if not stat.S_ISREG(status.st_mode):
            return None, "the result path is not a regular file (replaced by the candidate?)"
        if status.st_size > RESULT_LIMIT:
            return None, f"the result file is larger than {RESULT_LIMIT >> 20} MiB"
        data = handle.read(RESULT_LIMIT + 1)
    try:
        payload = json.loads(data)
    except (ValueError, RecursionError):
        return None, "the result file is not valid JSON"
    if not isinstance(payload, dict):
        return None, "the result file is not a JSON object"
    if not hmac.compare_digest(str(payload.pop("nonce", "")).encode(), nonce.encode()):
        return None, "the result file does not carry this evaluation's nonce (forged?)"
    return payload, ""


def remove_tree(path: Path) -> None:
    """Remove the work folder even where the candidate took away its own permissions
    or built a tree deeper than Python's recursion limit.

    `shutil.rmtree` recurses once per level (in Python 3.11), so a candidate's
    3,000-level tree raised RecursionError and left the folder, and whatever data it
    held, on the host. coreutils' `chmod -R` and `rm -rf` walk trees of any depth
    without recursion or long paths, so they finish whatever rmtree could not.
    """

    def retry(function: Any, name: str, _error: Any) -> None:
        with contextlib.suppress(OSError):
            os.chmod(os.path.dirname(name), 0o700)
            if os.path.isdir(name) and not os.path.islink(name):
                os.chmod(name, 0o700)
            function(name)

    try:
        if sys.version_info >= (3, 12):
            shutil.rmtree(path, onexc=retry)
        else:
            shutil.rmtree(path, onerror=retry)
    except (RecursionError, OSError):
        pass
    if os.path.lexists(path):
        for command in (["chmod", "-R", "u+rwx", "--", str(path)], ["rm", "-rf", "--", str(path)]):
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                subprocess.run(command, capture_output=True, timeout=300, check=False)


def last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""


@hookimpl
def evoforge_sandboxes() -> list[type[ProcessSandbox]]:
    """Register the process sandbox the same way a third-party package would."""
    return [ProcessSandbox]
