"""Warm servers for the process sandbox: the host side of sandboxes/warm_server.py.

A cold evaluation starts a fresh interpreter under bubblewrap and imports the harness,
the task's evaluator and whatever that imports (numpy, torch, triton) before the
candidate's first line: for a kernel task that is seconds, for circle packing a
tenth of a second, for an instant task most of its cost. A warm server is started
once per evaluation slot, under the same bubblewrap root, user and capability-less
state, imports all of that, and forks one child per evaluation.

What each child still gets of its own, as a cold evaluation does:

* **Folder.** The slot's folder is a capped tmpfs (bytes and inodes), and the
  sandbox's /tmp and /dev/shm are folders inside it, so the caps cover them too.
  Before every evaluation the parent empties it completely: nothing one candidate
  wrote is there for the next.
* **Limits and cgroups.** The server sits in its slot's pids and memory cgroups, so
  each child starts in them (where it cannot, the parent moves the child in before
  telling it to go); the child sets the job's rlimits.
* **Processes.** The child is its own session; when it ends, the server kills every
  other process in the sandbox's pid namespace, and the parent kills what is left in
  the cgroups but the server.
* **Memory.** A forked child's changes (a patched module, a changed environment, a
  thread) live in its own copy of the server, which it cannot write: the server is
  not dumpable, so it cannot be ptraced or read through /proc.

A server is replaced when it dies, stops answering, when the task's evaluator files
change (their sizes and times are part of its key), or when its /tmp or /dev/shm was
swapped for another folder. A server that cannot start leaves the evaluation to the
cold path, and after `START_FAILURES` failures its kind of job stays cold.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import marshal
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evoforge.sandboxes import bubblewrap, warm_protocol
from evoforge.sandboxes.tree_removal import remove_tree
from evoforge.sandboxes.work_folder import WorkFolder

log = logging.getLogger("evoforge.sandboxes.warm")

READY_TIMEOUT_S = 300.0
"""How long a server may take to import the task (torch and triton take seconds)."""
ANSWER_TIMEOUT_S = 10.0
"""How long a started server may take to fork, or to report a child's end."""
START_FAILURES = 3
CLOSE_WAIT_S = 5.0
FINGERPRINT_FILES = 2000
SHARED_FOLDERS = ("tmp", "shm")
"""The slot folder's subfolders bound at /tmp and /dev/shm."""


class ServerBroken(Exception):
    """The server failed before the candidate ran: the evaluation may go elsewhere."""


class ServerDied(Exception):
    """The server died while the candidate ran, before it wrote a result: an
    infrastructure failure until shown otherwise, so the evaluation runs again cold,
    where no server shares the candidate's sandbox."""


@dataclass
class Launch:
    """What a server is started with; equal launches may share servers."""

    python: str
    harness: str
    read_only: list[str]
    gpu: bool
    network: bool
    disk_mb: int
    max_files: int
    env: dict[str, str]
    setup: dict[str, Any]
    fingerprint: str = ""
    root: str | None = None
    ready_timeout_s: float = READY_TIMEOUT_S
    """How long the imports may take: never more than `READY_TIMEOUT_S`, nor less than
    the evaluation's own timeout (a cold evaluation imports within it)."""
    key: tuple[Any, ...] = field(default=(), init=False)

    def __post_init__(self) -> None:
        self.key = (
            self.python,
            self.harness,
            tuple(self.read_only),
            self.gpu,
            self.network,
            self.disk_mb,
            self.max_files,
            tuple(sorted(self.env.items())),
            marshal.dumps(self.setup),
            self.fingerprint,
            self.root,
        )


def fingerprint(folders: Sequence[str]) -> str:
    """The task folders' file names, sizes and modification times, hashed: a change to
    the evaluator (an edit, a `git pull`) retires the servers that imported the old one."""
    digest = hashlib.sha256()
    seen = 0
    for folder in sorted(set(folders)):
        for top, dirs, files in os.walk(folder):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__" and not d.startswith("."))
            for name in sorted(files):
                if not name.endswith((".py", ".so", ".json", ".txt", ".csv")):
                    continue
                seen += 1
                if seen > FINGERPRINT_FILES:
                    return digest.hexdigest()
                path = os.path.join(top, name)
                with contextlib.suppress(OSError):
                    info = os.stat(path)
                    digest.update(f"{path}\0{info.st_size}\0{info.st_mtime_ns}\n".encode())
    return digest.hexdigest()


class WarmServer:
    """One slot's server: its bubblewrap process, control socket and slot folder."""

    def __init__(self, launch: Launch, root: str | None, owner: int) -> None:
        self.launch = launch
        self.folder = WorkFolder(root, launch.disk_mb, launch.max_files, owner=owner)
        self.path = self.folder.path
        self.proc: subprocess.Popen[bytes] | None = None
        self.sock: socket.socket | None = None
        self.host_pid: int | None = None
        self.imported: list[str] = []
        self._buffer = b""
        self._shared: dict[str, int] = {}
        self._mount_points: frozenset[str] = frozenset()
        self._mount_parents: frozenset[str] = frozenset()
        self._cgroups: tuple[Any, Any] | None = None
        self.inherited: tuple[bool, ...] = (False, False)
        """Per slot cgroup: whether the server is in it, so its children start there."""
        self._server_tasks = 0
        self._max_processes = -1  # no pids.max written yet
        self._init_pid: int | None = None
        self.broken = False
        self.dirty = False
        """Whether an evaluation wrote to the folder since it was last emptied."""
        self.closed = False
        self._close_lock = threading.Lock()
        try:
            self._start(owner)
        except BaseException:
            self.close()
            raise

    # -- starting -----------------------------------------------------------------
    def _start(self, owner: int) -> None:
        from evoforge.sandboxes.minimal_root import View, arguments, read_only_folders

        mount_points: set[Path] = set()
        for mounted in [str(self.path), *read_only_folders(self.launch.read_only)]:
            for inside, name in (("/tmp", "tmp"), ("/dev/shm", "shm")):
                if mounted.startswith(inside + "/"):
                    relative = Path(mounted[len(inside) + 1 :])
                    for depth in range(1, len(relative.parts) + 1):
                        mount_points.add(self.path / name / Path(*relative.parts[:depth]))
        # As strings, with the ones that hold deeper mount points apart: the folder is
        # emptied after every evaluation, so this is its hot path.
        self._mount_points = frozenset(map(str, mount_points))
        self._mount_parents = frozenset(str(point.parent) for point in mount_points)
        for name in SHARED_FOLDERS:
            shared = self.path / name
            shared.mkdir(mode=0o1777)
            shared.chmod(0o1777)
            self._shared[name] = shared.stat().st_ino
        setup_path = self.path / "server-setup.marshal"
        setup_path.write_bytes(marshal.dumps(self.launch.setup))
        if owner != os.geteuid():
            os.chown(setup_path, owner, owner)
        view = View(
            work=str(self.path),
            read_only=self.launch.read_only,
            gpu=self.launch.gpu,
            network=self.launch.network,
            shared_tmp=str(self.path),
        )
        parent_end, server_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        log_file = tempfile.TemporaryFile(prefix="evoforge-warm-")  # noqa: SIM115 (kept open)
        try:
            command = [
                self.launch.python,
                "-I",
                "-S",
                self.launch.harness,
                "--serve",
                str(server_end.fileno()),
                str(setup_path),
            ]
            self.proc = bubblewrap.start(
                arguments(view),
                command,
                network=self.launch.network,
                cgroups=[],
                cwd=self.path,
                env=self.launch.env,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=log_file,
                close_fds=True,
                pass_fds=(server_end.fileno(),),
                start_new_session=True,
            )
        except (OSError, bubblewrap.BubblewrapError) as error:
            parent_end.close()
            raise ServerBroken(f"bubblewrap could not start the server: {error}") from error
        finally:
            server_end.close()
        self.sock = parent_end
        self._log = log_file
        line = self._line(self.launch.ready_timeout_s, "importing the task")
        words = line.split()
        if len(words) < 2 or words[0] != "ready" or not words[1].isdigit():
            raise ServerBroken(f"the server said {line[:200]!r} instead of ready")
        self.imported = words[2].split(",") if len(words) > 2 else []
        self.host_pid = host_pid(self.proc.pid, int(words[1]), depth=3)
        if self.host_pid is None:
            raise ServerBroken("the server's process could not be found")
        parent = _parent(self.host_pid)
        self._init_pid = parent if parent not in (0, self.proc.pid) else None

    # -- one evaluation -------------------------------------------------------------
    def cgroups(self, max_processes: int, memory_mb: int) -> tuple[Any, Any]:
        """The slot's pids and memory cgroups (None where unusable), made on first use
        and kept: each evaluation's child is in them, and leaves nothing in them (the
        parent kills what is left but the server), so the next starts from empty ones.

        The server joins them itself, so every child it forks starts inside them. Moving
        each child in after the fork cost an RCU grace period about one time in ten
        (11-32 ms on the 2-core VM, 2 ms per evaluation on average). Where the server
        cannot join one, the child is moved into it as before (`inherited`). The
        server's own tasks are added to the pids limit; what it had allocated before
        joining stays charged where it was, so the memory limit counts only what the
        children (and the server since) allocate.
        """
        from evoforge.sandboxes.cgroups import PidsCgroup
        from evoforge.sandboxes.memory_cgroup import MemoryCgroup

        if self._cgroups is None:
            self._cgroups = (PidsCgroup.create(max_processes), MemoryCgroup.create(memory_mb))
            self.inherited = tuple(
                cgroup is not None and self.host_pid is not None and cgroup.add(self.host_pid)
                for cgroup in self._cgroups
            )
            self._server_tasks = self._count_server_tasks() if self.inherited[0] else 0
        pids, memory = self._cgroups
        if pids is not None and max_processes != self._max_processes:
            with contextlib.suppress(OSError):
                (pids.path / "pids.max").write_text(str(max_processes + self._server_tasks))
            self._max_processes = max_processes
        if memory is not None:
            memory.set_limit(memory_mb)
        return self._cgroups

    def _count_server_tasks(self) -> int:
        """The server's threads (a task's import may start thread pools), which the
        pids cgroup counts beside the candidate's."""
        try:
            return max(1, len(os.listdir(f"/proc/{self.host_pid}/task")))
        except OSError:
            return 1

    def usable(self) -> bool:
        """Alive, answering, and its /tmp and /dev/shm still the folders it was given."""
        if self.broken or self.proc is None or self.proc.poll() is not None:
            return False
        for name, inode in self._shared.items():
            try:
                if (self.path / name).lstat().st_ino != inode:
                    return False
            except OSError:
                return False
        return True

    def empty_folder(self) -> None:
        """Remove everything the last evaluation left: its files, /tmp's and /dev/shm's.

        Where the slot folder or a task folder lies under /tmp, bubblewrap made its
        mount point inside the shared `tmp` folder: those few folders stay (a folder
        removed here would unmount it in the sandbox)."""
        if self.closed:
            return
        for entry in os.scandir(self.path):
            if entry.name in SHARED_FOLDERS and entry.is_dir(follow_symlinks=False):
                _empty(entry.path, self._mount_points, self._mount_parents)
            else:
                _remove(entry)
        self.dirty = False

    def fork(self, message: dict[str, Any], fds: tuple[int, int, int]) -> int:
        """Send a job; the forked child's pid as the host sees it. Raises ServerBroken."""
        assert self.sock is not None and self.host_pid is not None
        try:
            warm_protocol.send(self.sock, message, fds)
        except OSError as error:
            raise ServerBroken(f"the server is gone ({error.strerror})") from error
        line = self._line(ANSWER_TIMEOUT_S, "forking the evaluation")
        words = line.split()
        if len(words) != 2 or words[0] != "started" or not words[1].isdigit():
            raise ServerBroken(f"the server said {line[:200]!r} instead of started")
        child = host_pid(self.host_pid, int(words[1]), depth=1)
        if child is None:
            raise ServerBroken("the forked evaluation could not be found")
        return child

    def exit_code(self, timeout: float) -> int | None:
        """The child's exit code, once the server has reaped it and killed what it left;
        None (and the server retired) where it does not say in time."""
        try:
            line = self._line(timeout, "ending the evaluation")
        except ServerBroken:
            self.broken = True
            return None
        words = line.split()
        if len(words) != 2 or words[0] != "exited":
            self.broken = True
            return None
        try:
            return int(words[1])
        except ValueError:
            self.broken = True
            return None

    def _line(self, timeout: float, doing: str) -> str:
        assert self.sock is not None
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                self.broken = True
                raise ServerBroken(f"the server did not answer in {timeout:g} s while {doing}")
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(4096)
            except TimeoutError:
                continue
            except OSError as error:
                self.broken = True
                raise ServerBroken(f"the server is gone ({error.strerror})") from error
            if not chunk:
                self.broken = True
                raise ServerBroken(f"the server ended while {doing}{self._log_tail()}")
            self._buffer += chunk
            if len(self._buffer) > 1 << 16:
                self.broken = True
                raise ServerBroken("the server's answer is too long")
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.decode("ascii", "replace").strip()

    def _log_tail(self) -> str:
        with contextlib.suppress(OSError, AttributeError):
            self._log.seek(0)
            lines = self._log.read()[-4000:].decode("utf-8", "replace").strip().splitlines()
            if lines:
                return f": {lines[-1][:300]}"
        return ""

    def kill(self) -> None:
        """Kill the server and so its sandbox (Ctrl-C), from any thread. The thread
        evaluating on it sees the server end and closes it: one closer only, as two
        would race to unmount the slot folder."""
        self.broken = True
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        for pid in (self.host_pid, self._init_pid):
            if pid is not None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)

    def close(self) -> None:
        """Stop the server and everything in its sandbox, and remove the slot folder;
        only the first call does anything."""
        with self._close_lock:
            if self.closed:
                return
            self.closed = True
            self._close()

    def _close(self) -> None:
        if self.sock is not None:
            with contextlib.suppress(OSError):
                self.sock.close()
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=5)
        sandbox = [pid for pid in (self.host_pid, self._init_pid) if pid is not None]
        for pid in sandbox:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        # The slot folder is mounted in the sandbox's namespace until its last process
        # is gone; only then can it be removed.
        deadline = time.monotonic() + CLOSE_WAIT_S
        while any(_alive(pid) for pid in sandbox) and time.monotonic() < deadline:
            time.sleep(0.01)
        with contextlib.suppress(AttributeError, OSError):
            self._log.close()
        for cgroup in self._cgroups or ():
            if cgroup is not None:
                cgroup.kill_all()
                cgroup.remove()
        self._cgroups = None
        self.folder.close()


class ServerPool:
    """Idle servers by launch key; a slot takes one, evaluates, and gives it back."""

    def __init__(self) -> None:
        self._idle: dict[tuple[Any, ...], list[WarmServer]] = {}
        self._busy: set[WarmServer] = set()
        self._failures: dict[tuple[Any, ...], int] = {}
        self._lock = threading.Lock()
        self._closed = False

    def take(self, launch: Launch, root: str | None, owner: int) -> WarmServer | None:
        """An idle server for `launch`, else a new one; None when this kind of job has
        failed to start a server too often (it stays cold)."""
        with self._lock:
            if self._failures.get(launch.key, 0) >= START_FAILURES or self._closed:
                return None
            idle = self._idle.get(launch.key, [])
            while idle:
                server = idle.pop()
                if server.usable():
                    self._busy.add(server)
                    return server
                _close_quietly(server)
        try:
            server = WarmServer(launch, root, owner)
        except (ServerBroken, OSError) as error:
            with self._lock:
                self._failures[launch.key] = self._failures.get(launch.key, 0) + 1
            log.warning("warm sandbox server did not start, evaluating cold: %s", error)
            return None
        with self._lock:
            self._failures.pop(launch.key, None)
            self._busy.add(server)
        self._retire_other_kinds(launch.key)
        return server

    def give_back(self, server: WarmServer) -> None:
        with self._lock:
            self._busy.discard(server)
            if not self._closed and server.usable():
                self._idle.setdefault(server.launch.key, []).append(server)
                return
        _close_quietly(server)

    def _retire_other_kinds(self, key: tuple[Any, ...]) -> None:
        """Idle servers of other launches are stopped: a changed evaluator, another
        objective or task leaves them unused, holding memory."""
        with self._lock:
            stale = [s for k, servers in self._idle.items() if k != key for s in servers]
            self._idle = {k: v for k, v in self._idle.items() if k == key}
        for server in stale:
            _close_quietly(server)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            servers = [s for servers in self._idle.values() for s in servers]
            self._idle.clear()
        for server in servers:
            _close_quietly(server)

    def busy(self) -> list[WarmServer]:
        with self._lock:
            return list(self._busy)


def _close_quietly(server: WarmServer) -> None:
    try:
        server.close()
    except Exception as error:  # cleanup must never fail an evaluation or a run
        log.warning("could not stop a warm sandbox server: %s", error)


def _empty(folder: str, keep: frozenset[str], parents: frozenset[str]) -> None:
    for inner in os.scandir(folder):
        if inner.path in keep:
            if inner.path not in parents and inner.is_dir(follow_symlinks=False):
                continue  # the mount point itself: on the host an empty folder
            _empty(inner.path, keep, parents)
        else:
            _remove(inner)


def _remove(entry: os.DirEntry[str]) -> None:
    try:
        if entry.is_dir(follow_symlinks=False):
            remove_tree(Path(entry.path))
        else:
            os.unlink(entry.path)
    except FileNotFoundError:
        pass


def host_pid(root: int, ns_pid: int, depth: int) -> int | None:
    """The host pid of the process that is `ns_pid` in its own pid namespace, searched
    among `root`'s descendants up to `depth` generations."""
    frontier = [root]
    for _ in range(depth):
        following = []
        for parent in frontier:
            for child in _children(parent):
                if _namespace_pid(child) == ns_pid:
                    return child
                following.append(child)
        frontier = following
    return None


def _stat(pid: int) -> list[str]:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return []


def _parent(pid: int) -> int:
    fields = _stat(pid)
    return int(fields[1]) if len(fields) > 1 else 0


def _alive(pid: int) -> bool:
    """Running, not a zombie (a zombie holds no namespace, and so no mount)."""
    fields = _stat(pid)
    return bool(fields) and fields[0] not in ("Z", "X")


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as handle:
            return [int(word) for word in handle.read().split()]
    except OSError:
        return []


def _namespace_pid(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("NSpid:"):
                    return int(line.split()[-1])
    except (OSError, ValueError):
        return None
    return None
