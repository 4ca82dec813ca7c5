"""A warm server: one per evaluation slot, inside the sandbox, forking one child per job.

Started by `harness.py --serve FD SETUP` under the same bubblewrap root, user and
capability-less state as a cold evaluation, it pays once for what every evaluation
of the task would pay again: the interpreter, the harness, evoforge's result code,
the task's evaluator module and the heavy modules the task names (`warm_imports`,
e.g. numpy, torch, triton; never CUDA, which each child initialises for itself).

Per job (sandboxes/warm.py is the other side of the socket):

1. The parent sends the spec, the child's environment and three descriptors (stdin,
   stdout, stderr pipes). The server forks and answers `started PID`.
2. The child drops the socket and every other descriptor, takes the pipes as 0-2,
   becomes its own session and waits for `go` on stdin: the parent first moves it
   into the evaluation's cgroups. It then takes the job's environment and folder,
   sets the job's rlimits and runs the evaluation as a cold harness does. The nonce
   stays unread in the stdin pipe (moved off fd 0) until the result is written, so a
   process the candidate forks in between never held it.
3. When the child has exited, the server SIGKILLs every other process it may signal
   in the sandbox's pid namespace (everything the candidate left behind: only the
   namespace's init and the server are spared), until none is left, and answers
   `exited CODE`. The parent then empties the slot's folder (/tmp and /dev/shm
   live in it) before the next job.

The server is not dumpable, so a candidate (the same uid) can neither ptrace it nor
read its memory; what it can do is signal it, which only ends this slot's server:
the parent sees that and starts a fresh one. Messages to the parent are short ASCII
lines, never anything the parent would have to unpickle.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import signal
import sys
import time

from evoforge.sandboxes import warm_protocol

TYPE_CHECKING = False
if TYPE_CHECKING:
    import socket
    from types import ModuleType
    from typing import Any

PR_SET_DUMPABLE = 4
NONCE_FD = 1000
"""Where the child keeps the stdin pipe once `go` is read: off fd 0, so a candidate
reading its stdin finds it empty, as in a cold evaluation."""
LEFTOVER_ROUNDS = 500


def serve(control_fd: int, setup: dict[str, Any], harness: ModuleType) -> int:
    import socket

    sock = socket.socket(fileno=control_fd)
    os.environ.update(setup.get("env", {}))  # before the imports that read it
    sys.path[:0] = [p for p in setup.get("python_path", []) if p not in sys.path]
    loaded = []
    for name in setup.get("imports", []):
        try:
            importlib.import_module(name)
            loaded.append(name)
        except BaseException:  # the child will meet (and report) the same error
            pass
    for reference in setup.get("preload", []):
        with contextlib.suppress(BaseException):
            harness.resolve(reference)
    try:
        from evoforge import candidate_process

        candidate_process.fork_children(True)
    except ImportError:
        pass
    _prctl(PR_SET_DUMPABLE, 0)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    sock.sendall(f"ready {os.getpid()} {','.join(loaded)}\n".encode())
    while True:
        message, fds = warm_protocol.receive(sock, max_fds=3)
        if message is None:
            return 0
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        pid = os.fork()
        if pid == 0:
            _child(sock, fds, message, harness)
        for fd in fds:
            os.close(fd)
        sock.sendall(f"started {pid}\n".encode())
        _, status = os.waitpid(pid, 0)
        _kill_leftovers()
        sock.sendall(f"exited {os.waitstatus_to_exitcode(status)}\n".encode())


def _child(sock: socket.socket, fds: list[int], message: dict[str, Any], harness: Any) -> None:
    code = 1
    try:
        sock.close()
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
        os.closerange(3, 1 << 16)
        os.setsid()
        _prctl(PR_SET_DUMPABLE, 1)
        if _read_line(0) != "go":
            os._exit(2)  # the parent gave up before saying go
        os.dup2(0, NONCE_FD)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        spec = message["spec"]
        os.environ.clear()
        os.environ.update(message["env"])
        os.chdir(message["workdir"])
        sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
        harness.evaluate_spec(spec, lambda: _read_line(NONCE_FD))
        code = 0
    except BaseException:
        try:
            import traceback

            traceback.print_exc()
        except BaseException:
            pass
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(BaseException):
            stream.flush()
    os._exit(code)


def _read_line(fd: int) -> str:
    """One line, a byte at a time: nothing after it may sit in a buffer of ours."""
    line = bytearray()
    while len(line) < 256:
        byte = os.read(fd, 1)
        if not byte or byte == b"\n":
            break
        line += byte
    return line.decode("ascii", "replace").strip()


def _kill_leftovers() -> None:
    """SIGKILL every process of the namespace but init and this one, until none is left."""
    me = os.getpid()
    for _ in range(LEFTOVER_ROUNDS):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(-1, signal.SIGKILL)
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
        if not _others(me):
            return
        time.sleep(0.001)


def _others(me: int) -> bool:
    """Whether a live process other than init and the server is left in the namespace."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) in (1, me):
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                state = handle.read().rsplit(b")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state not in (b"Z", b"X"):
            return True
    return False


def _prctl(option: int, value: int) -> None:
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)
    except (OSError, AttributeError):
        pass
