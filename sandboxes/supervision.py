"""Watching one child: pump its output, notice its exit, kill it and everything it started.

One `selectors` loop waits on stdout, stderr and a pidfd (a file descriptor that
becomes readable when the process exits), so the parent wakes exactly when there
is output to take or the child has ended; there is no polling sleep on the normal
path, which keeps the sandbox's overhead to a few milliseconds per evaluation.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import selectors
import signal
import subprocess
import time

from evoforge.sandboxes.cgroups import Cgroup
from evoforge.sandboxes.output import CappedStream

READ_SIZE = 1 << 20
PIPE_SIZE = 1 << 20  # fewer wake-ups for a chatty candidate; the default is 64 KiB
DRAIN_LIMIT = 8 << 20  # bytes read after the exit, in case a straggler keeps writing
EXIT_GRACE_S = 5.0  # how long a SIGKILLed child may take to finish dying
_POLL_S = 0.005  # only where the kernel has no pidfd (Linux < 5.3)


def open_pidfd(pid: int) -> int | None:
    """A pidfd for `pid`, or None where the kernel or Python lacks them."""
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


def enlarge_pipe(fd: int) -> None:
    with contextlib.suppress(AttributeError, OSError):
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_SIZE)


def _has_exited(pid: int) -> bool:
    """Whether `pid` has exited, without reaping it (its pgid must stay reserved)."""
    try:
        return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True


def pump(pid: int, pidfd: int | None, streams: dict[int, CappedStream], deadline: float) -> bool:
    """Copy output into `streams` until the child exits (False) or the deadline passes (True).

    The child is left unreaped, so its process-group id cannot be reused before
    `stop` has signalled the group.
    """
    with selectors.DefaultSelector() as selector:
        for fd, stream in streams.items():
            selector.register(fd, selectors.EVENT_READ, stream)
        if pidfd is not None:
            selector.register(pidfd, selectors.EVENT_READ, None)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return True
            wait = remaining if pidfd is not None else min(remaining, _POLL_S)
            for key, _ in selector.select(wait):
                if key.data is None:
                    return False
                chunk = os.read(key.fd, READ_SIZE)
                if chunk:
                    key.data.feed(chunk)
                else:
                    selector.unregister(key.fd)
            if pidfd is None and _has_exited(pid):
                return False


def wait_for_exit(pid: int, pidfd: int | None, timeout: float) -> None:
    """Block until `pid` has exited (not reaped), or `timeout` passes."""
    if pidfd is not None:
        with selectors.DefaultSelector() as selector:
            selector.register(pidfd, selectors.EVENT_READ)
            selector.select(timeout)
        return
    deadline = time.monotonic() + timeout
    while not _has_exited(pid) and time.monotonic() < deadline:
        time.sleep(_POLL_S)


def stop(proc: subprocess.Popen[bytes], pidfd: int | None, cgroup: Cgroup | None) -> None:
    """Kill the child's process group and cgroup, reap the child, and wait for the cgroup.

    Runs after every evaluation, also a clean one: a candidate may leave background
    processes behind. The group is signalled while the leader is still unreaped, so
    the group id still names this evaluation's processes.
    """
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    if cgroup is not None:
        for pid in cgroup.pids():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
    wait_for_exit(proc.pid, pidfd, EXIT_GRACE_S)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=EXIT_GRACE_S)
    if cgroup is not None:
        cgroup.kill_all()
    else:
        _kill_group_until_gone(proc.pid, grace_s=2.0)


def _kill_group_until_gone(pgid: int, grace_s: float) -> None:
    """Without a cgroup: SIGKILL the group until no live member is left.

    After the leader is reaped, `killpg` fails at once when nothing else was in the
    group, which is the normal case and costs one system call.
    """
    deadline = time.monotonic() + grace_s
    pause = 0.0005
    while True:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            return
        if not _live_group_members(pgid) or time.monotonic() > deadline:
            return  # what is left are zombies, which only their new parent can reap
        time.sleep(pause)
        pause = min(pause * 2, 0.02)


def _live_group_members(pgid: int) -> bool:
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] not in (b"Z", b"X"):
            return True
    return False


def drain(streams: dict[int, CappedStream]) -> None:
    """Take what is left in the pipes without waiting for an end-of-file.

    A process that escaped the group (and any cgroup) may hold a pipe open for ever;
    everything the child wrote before it exited is already in the pipe.
    """
    for fd, stream in streams.items():
        os.set_blocking(fd, False)
        taken = 0
        while taken < DRAIN_LIMIT:
            try:
                chunk = os.read(fd, READ_SIZE)
            except (BlockingIOError, OSError):
                break
            if not chunk:
                break
            stream.feed(chunk)
            taken += len(chunk)


def describe_exit(returncode: int | None, limits: dict[str, object]) -> tuple[str, str]:
    """(status, reason) for a child that ended without a usable result."""
    if returncode is None:
        return "crashed", "the process could not be reaped after SIGKILL"
    if returncode < 0:
        number = -returncode
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = f"signal {number}"
        if number == signal.SIGXCPU:
            return "timeout", f"CPU time limit ({limits.get('cpu_s')} s) exceeded (SIGXCPU)"
        if number == signal.SIGXFSZ:
            return "crashed", (
                f"file size limit ({limits.get('max_file_mb')} MB) exceeded (SIGXFSZ)"
            )
        if number == signal.SIGKILL:
            return "crashed", (
                "killed by signal SIGKILL (by the out-of-memory killer, the CPU time hard "
                "limit, or another process)"
            )
        return "crashed", f"killed by signal {name}"
    if returncode == 0:
        return "crashed", (
            "exited with code 0 before writing a result (os._exit or sys.exit in the candidate?)"
        )
    return "crashed", f"exited with code {returncode} before writing a result"
