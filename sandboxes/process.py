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
import logging
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
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from pydantic import ValidationError

from evoforge.hookspecs import hookimpl
from evoforge.jobs import EvaluationJob, EvaluationOutcome
from evoforge.protocols import SandboxUnavailable
from evoforge.sandboxes import bubblewrap, supervision, warm
from evoforge.sandboxes.boot import compiled_harness, interpreter_boot, interpreter_layout
from evoforge.sandboxes.cgroups import Cgroup, PidsCgroup, pids_cgroup_base
from evoforge.sandboxes.environment import child_environment
from evoforge.sandboxes.memory_cgroup import MemoryCgroup, memory_cgroup_base
from evoforge.sandboxes.minimal_root import View, arguments
from evoforge.sandboxes.output import CappedStream
from evoforge.sandboxes.script_protocol import SCRIPT_ENV
from evoforge.sandboxes.tree_removal import remove_tree
from evoforge.sandboxes.warm import (
    Launch,
    ServerBroken,
    ServerDied,
    ServerPool,
    WarmServer,
    fingerprint,
)
from evoforge.sandboxes.work_folder import SANDBOX_UID, WorkFolder, quota_available, sweep

log = logging.getLogger("evoforge.sandboxes.process")
HARNESS = Path(__file__).with_name("harness.py")
ISOLATION = Path(__file__).with_name("isolation.py")
RESULT_LIMIT = 64 << 20  # a result file larger than this is not read
FINGERPRINT_TTL_S = 1.0
INTERRUPTED = "the run was interrupted (Ctrl-C) before this evaluation ended"

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
        mounts: list[str] | None = None,
        weak_isolation: bool = False,
        warm: bool | str = True,
        **unknown: Any,
    ) -> None:
        if unknown:
            raise ValueError(
                f"unknown process sandbox option(s) {sorted(unknown)}; "
                "known: python, allow_network, workdir_root, mounts, weak_isolation, warm"
            )
        if isinstance(warm, str):
            if warm.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError(f"sandbox option warm={warm!r}: use warm=true or warm=false")
            warm = warm.lower() in ("true", "1", "yes")
        self.warm = warm
        self._servers = ServerPool()
        self._fingerprints: dict[tuple[str, ...], tuple[float, str]] = {}
        # Servers end with the sandbox object (or this process), never later.
        weakref.finalize(self, self._servers.close)
        self.python = python or sys.executable
        self._live: set[subprocess.Popen[bytes]] = set()
        self._live_lock = threading.Lock()
        self._cancelled = False
        self.allow_network = allow_network
        self.workdir_root = workdir_root
        self.mounts = [str(Path(p).absolute()) for p in mounts or []]
        self.weak_isolation = weak_isolation
        self._swept = False

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
        reason = self.bubblewrap_missing()
        if reason is not None and not self.weak_isolation:
            raise SandboxUnavailable(
                f"the process sandbox cannot isolate candidates here ({reason}): install "
                "bubblewrap (apt-get install bubblewrap), use --sandbox docker, or pass "
                "--weak-isolation to accept weaker isolation"
            )

    def bubblewrap_missing(self) -> str | None:
        """Why bubblewrap cannot isolate evaluations here, or None (probed once)."""
        layout = interpreter_layout(self.python)
        if layout is None:
            return f"the interpreter {self.python} cannot import evoforge"
        return bubblewrap.unavailable_reason(self.python, interpreter_folders(layout))

    def cancel_all(self) -> None:
        """Kill every evaluation in flight (the user pressed Ctrl-C).

        Only the process groups are signalled here; each supervising thread then sees
        its child exit and cleans up (cgroup, pipes, folder) as after any other exit.
        An evaluation still starting is killed as soon as its child exists: Ctrl-C must
        not wait out the timeout of a candidate that started a moment too late.
        """
        with self._live_lock:
            self._cancelled = True
            running = list(self._live)
        for proc in running:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
        for server in self._servers.busy():  # its child dies with it
            server.kill()

    def close(self) -> None:
        """Stop the warm servers (they would die with this process anyway)."""
        self._servers.close()

    def describe(self) -> str:
        """The sandbox's name and the isolation its evaluations get, with what is missing.

        `process(bubblewrap)` is the full isolation; `process(weak,...)` ran without
        bubblewrap because the user accepted that (`weak_isolation`).
        """
        missing = []
        if self.bubblewrap_missing() is None:
            missing.append("bubblewrap")
        else:
            missing.append("weak")
            if not self.allow_network and network_isolation_prefix() is None:
                missing.append("no-netns")
            if not self.isolates():
                missing += ["no-fs-isolation", "no-pidns"]
        if os.geteuid() == 0 and pids_cgroup_base() is None:
            missing.append("no-pids-limit")
        if memory_cgroup_base() is None:
            missing.append("no-memory-cgroup")
        if not quota_available():
            missing.append("no-disk-quota")
        return f"{self.name}({','.join(missing)})"

    def isolates(self) -> bool:
        """Whether the harness can isolate itself without bubblewrap (the weak mode)."""
        return isolation_available(self.python, namespace_prefix(self.allow_network))

    def run(self, job: EvaluationJob) -> EvaluationOutcome:
        if self._cancelled:  # its candidate stays pending for `resume`
            return EvaluationOutcome(status="crashed", reason=INTERRUPTED)
        if not self._swept:
            self._swept = True
            sweep(self.workdir_root)
        # Under bubblewrap the candidate is the sandbox's user; weakly isolated, it is us.
        strong = self.bubblewrap_missing() is None
        owner = SANDBOX_UID if strong else os.geteuid()
        if self.warm and strong:
            started = time.monotonic()
            outcome = self._run_warm(job, owner)
            if outcome is not None:
                outcome.duration_s = time.monotonic() - started
                outcome.host = socket.gethostname()
                outcome.sandbox = self.describe().replace(")", ",warm)", 1)
                return outcome
        return run_in_workdir(job, self._evaluate, self.workdir_root, self.describe(), owner=owner)

    # -- warm servers (sandboxes/warm.py) ------------------------------------------------
    def _launch(self, job: EvaluationJob, harness: str) -> Launch:
        resources = job.resources
        gpu = resources.gpus > 0 or job.gpu_slot is not None
        network = self.allow_network or resources.network
        preload = [job.evaluate, *(stage.function for stage in job.stages)]
        setup = {
            "boot": interpreter_boot(self.python),
            "python_path": [str(Path(p).absolute()) for p in job.python_path],
            "imports": list(job.warm_imports),
            "preload": sorted(set(preload)),
        }
        # The server imports under the environment of the jobs it serves (thread counts,
        # TRITON_INTERPRET); only the GPU is chosen per child, before CUDA starts. The
        # task's variables go in through `setup`, so they are not in the exec'd
        # environment that /proc shows of bubblewrap and the server.
        env = child_environment("/nonexistent", resources, {}, None)
        for name in ("HOME", "TMPDIR", "TMP", "TEMP", "CUDA_VISIBLE_DEVICES"):
            env.pop(name, None)
        served = child_environment(str(self.workdir_root or "/tmp"), resources, job.env, None)
        setup["env"] = {k: v for k, v in served.items() if k not in env or env[k] != v}
        for name in ("HOME", "TMPDIR", "TMP", "TEMP", "CUDA_VISIBLE_DEVICES"):
            setup["env"].pop(name, None)
        return Launch(
            python=self.python,
            harness=harness,
            read_only=self._shown_folders(job, harness),
            gpu=gpu,
            network=network,
            disk_mb=resources.disk_mb,
            max_files=resources.max_files,
            env=env,
            setup=setup,
            fingerprint=self._fingerprint(task_folders(job)),
            root=self.workdir_root,
            ready_timeout_s=min(warm.READY_TIMEOUT_S, max(30.0, resources.timeout_s)),
        )

    def _fingerprint(self, folders: list[str]) -> str:
        """The task folders' fingerprint, walked at most once a second: an edited
        evaluator is picked up within a second, without a walk per evaluation."""
        key = tuple(folders)
        now = time.monotonic()
        with self._live_lock:
            cached = self._fingerprints.get(key)
        if cached is not None and now - cached[0] < FINGERPRINT_TTL_S:
            return cached[1]
        value = fingerprint(folders)
        with self._live_lock:
            self._fingerprints[key] = (now, value)
        return value

    def _run_warm(self, job: EvaluationJob, owner: int) -> EvaluationOutcome | None:
        """The evaluation in a forked child of a warm server; None to run it cold (no
        server could start, two broke before the candidate ran, or the server died
        while it ran)."""
        harness = compiled_harness(self.python) or str(HARNESS)
        if bubblewrap.root_mode() and unreadable_task_folder(job) is not None:
            return None  # the cold path says which folder and how to fix it
        launch = self._launch(job, harness)
        for _attempt in range(2):
            server = self._servers.take(launch, self.workdir_root, owner)
            if server is None:
                return None
            try:
                return self._evaluate_warm(job, server, owner)
            except ServerBroken as error:
                server.broken = True
                if self._cancelled:  # Ctrl-C killed it: nothing to report or retry
                    return EvaluationOutcome(status="crashed", reason=INTERRUPTED)
                log.warning("warm sandbox server broke before the candidate ran: %s", error)
            except ServerDied as error:
                # Not logged as a warning: a candidate can cause it, and a run's terminal
                # is no place for what candidates choose to print.
                log.info("%s; evaluating the candidate again cold", error)
                return None
            finally:
                try:  # nothing of the candidate's stays on the host between evaluations
                    server.empty_folder()
                except OSError as error:
                    server.broken = True
                    log.warning("could not empty a warm sandbox's folder: %s", error)
                self._servers.give_back(server)
        return None

    def _evaluate_warm(
        self, job: EvaluationJob, server: WarmServer, owner: int
    ) -> EvaluationOutcome:
        if server.dirty:  # emptied after each evaluation; this is the fallback
            server.empty_folder()
        server.dirty = True
        workdir = server.path
        candidate_dir = workdir / "candidate"
        files = candidate_files(job, candidate_dir)
        if isinstance(files, str):
            return EvaluationOutcome(status="invalid", reason=files)
        if bubblewrap.root_mode():
            hand_over(candidate_dir, owner)
        resources = job.resources
        spec = harness_spec(job, files, candidate_dir, workdir)
        try:
            marshal.dumps(spec)
        except ValueError:
            spec = json.loads(json.dumps(spec, default=str))
        env = child_environment(str(workdir), resources, job.env, job.gpu_slot)
        nonce = secrets.token_hex(16)
        stdin_read, stdin_write = os.pipe()
        stdout_read, stdout_write = os.pipe()
        stderr_read, stderr_write = os.pipe()
        child_pidfd: int | None = None
        pids, memory = server.cgroups(resources.max_processes, resources.memory_mb)
        kills_before = memory.oom_kills() if memory is not None else 0
        try:
            try:
                child = server.fork(
                    {"spec": spec, "env": env, "workdir": str(workdir)},
                    (stdin_read, stdout_write, stderr_write),
                )
            finally:
                for fd in (stdin_read, stdout_write, stderr_write):
                    os.close(fd)
            child_pidfd = supervision.open_pidfd(child)
            cgroups = [c for c in (pids, memory) if c is not None]
            joining = [
                c for c, inherited in zip((pids, memory), server.inherited, strict=True)
                if c is not None and not inherited
            ]  # fmt: skip
            if not all(cgroup.add(child) for cgroup in joining):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child, signal.SIGKILL)
                server.exit_code(warm.ANSWER_TIMEOUT_S)
                raise ServerBroken("could not move the forked evaluation into its cgroups")
            with contextlib.suppress(OSError):
                os.write(stdin_write, f"go\n{nonce}\n".encode())
            os.close(stdin_write)
            stdin_write = -1
            outcome = self._supervise_warm(
                server,
                child,
                child_pidfd,
                cgroups,
                nonce,
                spec,
                resources.timeout_s,
                stdout_read,
                stderr_read,
            )
            hit = memory is not None and memory.oom_kills() > kills_before
            return out_of_memory(outcome, resources.memory_mb) if hit else outcome
        finally:
            for fd in (stdin_write, stdout_read, stderr_read):
                if fd >= 0:
                    with contextlib.suppress(OSError):
                        os.close(fd)
            if child_pidfd is not None:
                os.close(child_pidfd)

    def _supervise_warm(
        self,
        server: WarmServer,
        child: int,
        pidfd: int | None,
        cgroups: list[Cgroup],
        nonce: str,
        spec: dict[str, Any],
        timeout_s: float,
        stdout_fd: int,
        stderr_fd: int,
    ) -> EvaluationOutcome:
        with self._live_lock:
            cancelled = self._cancelled
        if cancelled:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)
        deadline = time.monotonic() + timeout_s
        streams = {stdout_fd: CappedStream(), stderr_fd: CappedStream()}
        for fd in streams:
            supervision.enlarge_pipe(fd)
        timed_out = supervision.pump(child, pidfd, streams, deadline)
        if timed_out:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(child, signal.SIGKILL)
        for cgroup in cgroups:
            cgroup.kill_all(spare=server.host_pid)
        returncode = server.exit_code(warm.ANSWER_TIMEOUT_S)
        supervision.drain(streams)
        stdout, stderr = (stream.text() for stream in streams.values())
        outcome, problem = outcome_from_result(Path(spec["result_path"]), nonce, stdout, stderr)
        if outcome is not None:
            return outcome
        if timed_out:
            status, reason = "timeout", f"timed out after {timeout_s:g} s (wall-clock limit)"
        elif returncode is None:
            if self._cancelled:
                return EvaluationOutcome(status="crashed", reason=INTERRUPTED)
            raise ServerDied("the warm sandbox server stopped answering while a candidate ran")
        else:
            status, reason = exit_reason(returncode, spec["limits"], stderr, problem)
        return EvaluationOutcome(status=status, reason=reason, stdout=stdout, stderr=stderr)

    def _evaluate(self, job: EvaluationJob, workdir: Path) -> EvaluationOutcome:
        candidate_dir = workdir / "candidate"
        files = candidate_files(job, candidate_dir)
        if isinstance(files, str):
            return EvaluationOutcome(status="invalid", reason=files)
        resources = job.resources
        gpu = resources.gpus > 0 or job.gpu_slot is not None
        boot = interpreter_boot(self.python)
        spec = {**harness_spec(job, files, candidate_dir, workdir), "boot": boot}
        limits = spec["limits"]
        strong = self.bubblewrap_missing() is None
        isolated = not strong and self.isolates()
        if isolated:
            spec["isolate"] = {
                "writable": [str(workdir)],
                "gpu": gpu,
                # /dev/shm is memory too; RLIMIT_AS does not count what sits in a tmpfs.
                "shm_mb": limits["memory_mb"],
            }
        spec_path = workdir / "spec.marshal"
        spec_path.write_bytes(encode_spec(spec))
        if strong and bubblewrap.root_mode():
            hand_over(candidate_dir, SANDBOX_UID)
        env = child_environment(str(workdir), resources, job.env, job.gpu_slot)
        allow_network = self.allow_network or resources.network
        flags = ["-I", "-S"] if boot else ["-I"]
        harness = compiled_harness(self.python) or str(HARNESS)
        inner = [self.python, *flags, harness, str(spec_path)]
        nonce = secrets.token_hex(16)
        if strong and bubblewrap.root_mode():
            private = unreadable_task_folder(job)
            if private is not None:
                return EvaluationOutcome(
                    status="crashed",
                    reason=f"the task folder {private} is not readable by the sandbox's user "
                    f"(uid {SANDBOX_UID}); run `chmod o+rX {private}`",
                )

        pids = PidsCgroup.create(resources.max_processes)
        memory = MemoryCgroup.create(resources.memory_mb)
        cgroups = [c for c in (pids, memory) if c is not None]
        popen: dict[str, Any] = {
            "cwd": workdir,
            "env": env,
            "stdin": subprocess.PIPE,
            "stdout": subprocess.PIPE,
            "stderr": subprocess.PIPE,
            "close_fds": True,
            "start_new_session": True,
        }
        try:
            if strong:
                view = View(
                    work=str(workdir),
                    read_only=self._shown_folders(job, harness),
                    gpu=gpu,
                    network=allow_network,
                    tmp_mb=min(resources.disk_mb, resources.memory_mb),
                    shm_mb=resources.memory_mb,
                )
                try:
                    proc = bubblewrap.start(
                        arguments(view), inner, network=allow_network, cgroups=cgroups, **popen
                    )
                except bubblewrap.BubblewrapError as error:
                    for cgroup in cgroups:
                        cgroup.remove()
                    return EvaluationOutcome(
                        status="crashed", reason=f"the sandbox could not start: {error}"
                    )
            else:
                # With the network allowed, a user namespace only serves the isolation.
                prefix = namespace_prefix(allow_network) if isolated or not allow_network else []
                proc = subprocess.Popen([*prefix, *inner], **popen)
                cgroups = [c for c in cgroups if c.add(proc.pid)]
        except BaseException:
            for cgroup in (pids, memory):
                if cgroup is not None:
                    cgroup.remove()
            raise
        killer = next(iter(cgroups), None)  # either lists every process of the evaluation
        pidfd = supervision.open_pidfd(proc.pid)
        with self._live_lock:
            self._live.add(proc)
            if self._cancelled:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
        try:
            outcome = self._supervise(proc, pidfd, killer, nonce, spec, resources.timeout_s, strong)
            hit = memory is not None and memory.hit_limit()
            return out_of_memory(outcome, resources.memory_mb) if hit else outcome
        finally:
            with self._live_lock:
                self._live.discard(proc)
            if pidfd is not None:
                os.close(pidfd)
            if proc.returncode is None:  # only if supervising failed: never leave it running
                supervision.stop(proc, None, killer)
            for cgroup in (pids, memory):
                if cgroup is not None:
                    cgroup.remove()

    def _shown_folders(self, job: EvaluationJob, harness: str) -> list[str]:
        """The host folders the candidate sees, read-only: interpreter, evoforge, task."""
        layout = interpreter_layout(self.python) or {}
        folders = interpreter_folders(layout) + task_folders(job)
        folders.append(str(Path(harness).parent))
        return [*folders, *self.mounts]

    def _supervise(
        self,
        proc: subprocess.Popen[bytes],
        pidfd: int | None,
        cgroup: Cgroup | None,
        nonce: str,
        spec: dict[str, Any],
        timeout_s: float,
        wrapped: bool = False,
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
        returncode = proc.returncode
        if wrapped and returncode is not None and 128 < returncode < 160:
            returncode = 128 - returncode  # bubblewrap reports a signal as 128 + its number
        if timed_out:
            status, reason = "timeout", f"timed out after {timeout_s:g} s (wall-clock limit)"
        else:
            status, reason = exit_reason(returncode, spec["limits"], stderr, problem)
        return EvaluationOutcome(status=status, reason=reason, stdout=stdout, stderr=stderr)


def run_in_workdir(
    job: EvaluationJob,
    evaluate: Callable[[EvaluationJob, Path], EvaluationOutcome],
    root: str | None,
    sandbox: str,
    quota: bool = True,
    owner: int = SANDBOX_UID,
) -> EvaluationOutcome:
    """Evaluate in a fresh private folder that is removed whatever happens, and stamp
    the outcome with its duration, host and sandbox (shared by both sandboxes).

    With `quota` (and root) the folder is a capped tmpfs of its own (work_folder.py).
    """
    started = time.monotonic()
    resources = job.resources
    folder = WorkFolder(
        root, resources.disk_mb, resources.max_files, quota and quota_available(), owner
    )
    try:
        outcome = evaluate(job, folder.path)
    finally:
        folder.close()
    outcome.duration_s = time.monotonic() - started
    outcome.host = socket.gethostname()
    outcome.sandbox = sandbox
    return outcome


def task_folders(job: EvaluationJob) -> list[str]:
    """The task's own folders: its evaluator's (and stages'), python_path, evaluate.sh's."""
    folders = [str(Path(p).absolute()) for p in job.python_path]
    for reference in [job.evaluate, *(stage.function for stage in job.stages)]:
        target = reference.rpartition(":")[0]
        if target.endswith(".py") or os.sep in target:
            folders.append(str(Path(target).absolute().parent))
    script = job.env.get(SCRIPT_ENV)  # a protocol folder's evaluator/ (evaluate.sh)
    if script:
        folders.append(str(Path(script).absolute().parent))
    return folders


def unreadable_task_folder(job: EvaluationJob) -> str | None:
    """A task folder the sandbox's unprivileged user could not list and read, if any."""
    for folder in task_folders(job):
        try:
            if os.stat(folder).st_mode & 0o005 != 0o005:
                return folder
        except OSError:
            continue
    return None


def interpreter_folders(layout: dict[str, Any]) -> list[str]:
    """The folders an interpreter imports from: prefixes, sys.path, evoforge's packages."""
    return [
        *layout.get("prefixes", []),
        *layout.get("sys_path", []),
        *layout.get("packages", {}).values(),
    ]


def hand_over(folder: Path, uid: int) -> None:
    """Give the candidate's files to the sandbox user, so it may change them as before."""
    for path in [folder, *folder.rglob("*")]:
        os.chown(path, uid, uid, follow_symlinks=False)


def harness_spec(
    job: EvaluationJob, files: dict[str, str], candidate_dir: Path, workdir: Path
) -> dict[str, Any]:
    """What the harness needs to run one job (cold from a file, warm from a message)."""
    return {
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
        "limits": {**harness_limits(job), "max_processes": job.resources.max_processes},
        "result_path": str(workdir / "result.json"),
    }


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
        "max_open_files": resources.max_open_files,
    }


def candidate_files(job: EvaluationJob, directory: Path) -> dict[str, str] | str:
    """`write_candidate` for a job, whose primary file must be among what it wrote."""
    files = write_candidate(directory, job.files)
    if not isinstance(files, str) and job.primary not in files:
        raise ValueError(f"job {job.candidate_id}: primary file {job.primary!r} not in files")
    return files


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


def out_of_memory(outcome: EvaluationOutcome, memory_mb: int) -> EvaluationOutcome:
    """An evaluation the memory cgroup killed in is a crash saying so (unless it still
    produced its result)."""
    if outcome.status != "ok":
        outcome.status = "crashed"
        outcome.reason = (
            f"memory limit ({memory_mb} MB) exceeded: killed by the memory "
            f"cgroup (files in /tmp, /dev/shm, the work folder and memfds count too)"
        )
    return outcome


def exit_reason(
    returncode: int | None, limits: dict[str, Any], stderr: str, problem: str
) -> tuple[str, str]:
    """Status and reason of an evaluation that ended without a usable result."""
    status, reason = supervision.describe_exit(returncode, limits)
    final = last_line(stderr)
    if final and returncode and returncode > 0:
        reason = f"{reason}: {final}"
    if problem:
        reason = f"{reason}; {problem}"
    return status, reason


def last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""


@hookimpl
def evoforge_sandboxes() -> list[type[ProcessSandbox]]:
    """Register the process sandbox the same way a third-party package would."""
    return [ProcessSandbox]
