"""Run a candidate's functions in a separate process and get back only plain data.

An evaluator that imports the candidate into its own process shares that process with
it: the candidate can patch the simulator, the scoring function, `json`, `builtins` or
the harness's result writer, and forge the score it is given. `CandidateProcess`
keeps the two apart. The evaluator (the *scorer*) starts a fresh interpreter (the
*child*) that loads the program and serves calls over two pipes; what comes back is
JSON text, parsed here into plain values (None, bools, ints, finite floats, strings,
lists, dicts) and checked before anyone uses it. The code that scores never runs in a
process the candidate touched::

    from evoforge.candidate_process import CandidateError, CandidateProcess

    with CandidateProcess(program_path, timeout_s=10) as remote:
        if not remote.has("decide"):
            return invalid("the program defines no decide(state) function")
        choice = remote.call("decide", state)  # plain arguments in, plain data out

What the scorer does so the child cannot reach it (the child runs with the same uid):

* Before the first child starts it marks itself non-dumpable (`PR_SET_DUMPABLE` 0),
  so a same-uid process without CAP_SYS_PTRACE can neither ptrace it nor open its
  `/proc/<pid>/mem`, `environ` or `fd`, and it becomes a child subreaper, so every
  process the candidate leaves behind is reparented to it. Both are restored once the
  last child is gone.
* The child is a fresh ``python -I -S`` (`sys.executable`), not a fork: it holds none
  of the scorer's state (the harness's nonce, loaded modules, open files). It gets
  /dev/null as stdin, the evaluation's stdout and stderr (prints still reach the
  user; the protocol never uses fds 0-2), the two pipes and nothing else, a short
  whitelisted environment, its own new working folder and its own session.
* The program's folder and the child's folder are taken off the scorer's `sys.path`:
  the child may write there, and the scorer must never import what it wrote. The
  scorer should import everything it needs before the child starts (a module
  level import does).
* Replies are read with a size cap and parsed by the C JSON scanner, floats checked
  finite as they are parsed and the nesting depth checked after. A crash, an exit,
  a hang past the call's timeout, an oversized or malformed reply each become a
  `CandidateError` naming what happened; the evaluator turns it into an invalid or
  failed evaluation.
* `close()` (the end of the `with`) SIGKILLs the child's session and then every
  process reparented to the scorer since the child started, until none is left, so
  nothing the candidate started outlives the call: a leftover process could
  otherwise read the harness's result file and rewrite it.

Per call the cost is one marshal dump, one pipe round trip and one JSON parse: about
50-75 us for a small message on a busy 2-CPU VM, 0.5 ms for a reply of a thousand
ints (`benchmarks/candidate_calls.py`); starting the child costs about 20 ms, plus
whatever the program imports (numpy: 0.15-0.25 s). A call per simulator tick is
fine for hundreds of ticks; where an interface allows, send a whole batch in one call.

Standard library only, and cheap to import: it loads in the sandbox next to the
evaluator.
"""

from __future__ import annotations

import _thread
import contextlib
import fcntl
import json
import marshal
import os
import select
import sys
import time

TYPE_CHECKING = False  # `typing` costs every evaluation milliseconds to import
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

CHILD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "candidate_child.py")

MAX_REPLY_BYTES = 16 << 20
"""A reply larger than this is refused (and the child stopped) before it is read."""
MAX_DEPTH = 32
"""Levels of lists and dicts a reply may nest."""
TEXT_LIMIT = 2000

# Copied from the scorer's environment when present; nothing else is.
PASSED_ENV = (
    "PATH",
    "HOME",
    "TMPDIR",
    "TMP",
    "TEMP",
    "LANG",
    "LANGUAGE",
    "TZ",
    "TERM",
    "LD_LIBRARY_PATH",
    "CUDA_HOME",
    "CUDA_PATH",
    "CUDA_VISIBLE_DEVICES",
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
)
PASSED_ENV_PREFIXES = ("LC_",)
# evoforge's top-level packages map to separate folders (setup.py); the child finds
# those the scorer has loaded where the scorer found them.
PACKAGE_ROOTS = (
    "evoforge",
    "evoforge.plugins",
    "evoforge.evaluators",
    "evoforge.sandboxes",
    "evoforge.kernels",
    "evoforge.ui",
)
SIGNAL_NAMES = {
    1: "SIGHUP",
    2: "SIGINT",
    4: "SIGILL",
    6: "SIGABRT",
    7: "SIGBUS",
    8: "SIGFPE",
    9: "SIGKILL",
    11: "SIGSEGV",
    13: "SIGPIPE",
    15: "SIGTERM",
    24: "SIGXCPU",
    25: "SIGXFSZ",
}


class _NotFinite(ValueError):
    """A reply holds NaN or an infinity (JSON text Python's scanner would accept)."""


def _finite_float(text: str) -> float:
    value = float(text)
    if value - value != 0:  # inf - inf and nan - nan are nan; `1e999` parses as inf
        raise _NotFinite(text)
    return value


def _no_constant(text: str) -> float:
    raise _NotFinite(text)


# The scorer's own decoder, built before any child exists. Floats are checked as they
# are parsed; ints, strings and the structure stay in the C scanner.
_DECODER = json.JSONDecoder(parse_float=_finite_float, parse_constant=_no_constant)
_CONTAINERS = frozenset((list, dict))


class CandidateError(Exception):
    """The candidate's process could not give a usable answer; `str()` is the reason."""


class CandidateRaised(CandidateError):
    """The candidate's code raised: while loading (`while_loading`) or in a call.

    `type_name` and `message` are the exception's, `remote_traceback` its traceback
    as the child formatted it (text the candidate controls: show it, never parse it).
    """

    def __init__(
        self, function: str | None, type_name: str, message: str, remote_traceback: str
    ) -> None:
        self.function = function
        self.type_name = type_name
        self.message = message
        self.remote_traceback = remote_traceback
        self.while_loading = function is None
        where = "loading the program" if function is None else f"{function}()"
        text = f"{type_name}: {message}" if message else type_name
        super().__init__(f"{text} (raised while {where})" if function is None else text)
        del where

    @property
    def short(self) -> str:
        """`Type: message`, the way a local exception reads in a reason."""
        return f"{self.type_name}: {self.message}" if self.message else self.type_name


class CandidateBadReply(CandidateError):
    """The returned value is not plain data, not finite, nested too deep or too large."""


class CandidateTimeout(CandidateError):
    """A call (or the loading) ran past its time limit; the child was stopped."""


class CandidateDied(CandidateError):
    """The child exited, was killed, or broke the protocol; it is gone."""


class RemoteTraceback(Exception):
    """Carries the child's traceback as the cause of a `CandidateRaised`, so a
    traceback printed on the scorer's side shows where in the candidate it failed."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text

    def __str__(self) -> str:
        return f"\n\nIn the candidate's process:\n{self.text}"


# --- protections of the scorer process ----------------------------------------------

PR_GET_DUMPABLE = 3
PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36
PR_GET_CHILD_SUBREAPER = 37

try:  # `_ctypes`, not `ctypes` (milliseconds to import), as sandboxes/isolation.py does
    import _ctypes

    class _Int(_ctypes._SimpleCData):
        _type_ = "i"

    class _Long(_ctypes._SimpleCData):
        _type_ = "l"

    class _Libc:
        _handle = _ctypes.dlopen(None, os.RTLD_NOW)

    class _Function(_ctypes.CFuncPtr):
        _flags_ = _ctypes.FUNCFLAG_CDECL | _ctypes.FUNCFLAG_USE_ERRNO
        _restype_ = _Int

    _prctl: Any = _Function(("prctl", _Libc))
    _prctl.argtypes = (_Int, _Long, _Long, _Long, _Long)
except (ImportError, AttributeError, OSError):  # pragma: no cover - not Linux
    _prctl = None

_forking = [False]


def fork_children(enabled: bool) -> None:
    """Start children by forking this interpreter instead of a fresh `python -I -S`.

    A warm sandbox server (sandboxes/warm_server.py) turns this on before it forks
    an evaluation: the modules it imported (numpy, the task's evaluator) are then
    already loaded in every candidate child, which a fresh interpreter would import
    again. What the child may not hold still holds: the harness's nonce is not in
    the scorer's memory until the result is written (it waits unread in a pipe the
    child never gets), and the child keeps only stdio and its two pipes, as a fresh
    one does. It does see a copy of the scorer's memory: the evaluator's module, its
    instances, which a fresh child could read from the task folder all the same.
    """
    _forking[0] = enabled


def _fork_child(request_read: int, reply_write: int, env: dict[str, str]) -> int:
    """`candidate_child.main` in a forked copy of this process: /dev/null as stdin,
    its own session and environment, nothing of the scorer's but stdout/stderr."""
    from evoforge import candidate_child

    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        os.setsid()
        os.environ.clear()
        os.environ.update(env)
        code = candidate_child.main(["", str(request_read), str(reply_write)])
    except BaseException:
        code = 1
    with contextlib.suppress(BaseException):
        candidate_child._flush()
    os._exit(code)


_lock = _thread.allocate_lock()
_live: set[int] = set()  # pids of children not yet reaped, in this process
_users = 0  # open `CandidateProcess` objects, in this process
_saved: tuple[int, int] = (1, 0)  # (dumpable, subreaper) before the first one opened


def _prctl_checked(option: int, value: int) -> int:
    if _prctl is None:
        if sys.platform.startswith("linux"):
            raise OSError("prctl is unavailable, so the scorer cannot protect itself")
        return 0
    result = _prctl(option, value, 0, 0, 0)
    if result < 0:
        raise OSError(_ctypes.get_errno(), f"prctl({option}) failed")
    return result


def _subreaper() -> int:
    if _prctl is None:
        return 0
    flag = _Int(0)
    _prctl(PR_GET_CHILD_SUBREAPER, _ctypes.addressof(flag), 0, 0, 0)
    return flag.value


def _protect() -> None:
    """Before a child starts: the first one makes the scorer non-dumpable and a
    subreaper, keeping the previous settings to restore."""
    global _saved, _users
    with _lock:
        if _users == 0:
            dumpable = _prctl_checked(PR_GET_DUMPABLE, 0)
            _saved = (dumpable, _subreaper())
            _prctl_checked(PR_SET_DUMPABLE, 0)
            _prctl_checked(PR_SET_CHILD_SUBREAPER, 1)
        _users += 1


def _unprotect() -> None:
    """When the last child is gone, give the scorer back its settings."""
    global _users
    with _lock:
        _users -= 1
        if _users == 0 and _prctl is not None:
            dumpable, subreaper = _saved
            _prctl(PR_SET_DUMPABLE, dumpable, 0, 0, 0)
            _prctl(PR_SET_CHILD_SUBREAPER, subreaper, 0, 0, 0)


def _start_time(pid: int) -> int:
    """A process's start time in clock ticks since boot (/proc/<pid>/stat field 22)."""
    fields = _stat_fields(pid)
    return int(fields[19]) if fields else 0


def _stat_fields(pid: int) -> list[bytes] | None:
    """/proc/<pid>/stat from field 3 (state) on; the command name may hold anything."""
    try:
        fd = os.open(f"/proc/{pid}/stat", os.O_RDONLY)
    except OSError:
        return None
    try:
        data = os.read(fd, 4096)
    except OSError:
        return None
    finally:
        os.close(fd)
    return data[data.rfind(b")") + 2 :].split()


def _leftovers(since: int) -> list[int]:
    """Children of this process started at or after `since` that no open
    `CandidateProcess` owns: processes a candidate left, reparented here."""
    me = os.getpid()
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    found = []
    for entry in entries:
        if not entry.isdigit():
            continue
        pid = int(entry)
        fields = _stat_fields(pid)
        if not fields or len(fields) < 20 or int(fields[1]) != me:
            continue
        if int(fields[19]) >= since and pid not in _live:
            found.append(pid)
    return found


def _kill_and_reap(pid: int) -> None:
    with contextlib.suppress(OSError):
        os.kill(pid, 9)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


# --- the child's surroundings -------------------------------------------------------


def child_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The scorer's whitelisted variables plus `extra`: no credential can ride along."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name in PASSED_ENV or name.startswith(PASSED_ENV_PREFIXES)
    }
    env.setdefault("PATH", os.defpath)
    env.update({str(k): str(v) for k, v in (extra or {}).items()})
    return env


def _package_folders() -> dict[str, str]:
    folders = {}
    for name in PACKAGE_ROOTS:
        path = getattr(sys.modules.get(name), "__path__", None)
        if path:
            folders[name] = list(path)[0]
    return folders


def _new_folder() -> str:
    """A private working folder for the child, where temporary files belong."""
    name = f"evoforge-candidate-{os.urandom(8).hex()}"
    places = [os.environ.get(v) for v in ("TMPDIR", "TMP", "TEMP")] + ["/tmp", os.getcwd()]
    error: OSError | None = None
    for place in places:
        if not place:
            continue
        path = os.path.join(os.path.abspath(place), name)
        try:
            os.mkdir(path, 0o700)
        except OSError as failed:
            error = failed
            continue
        return path
    raise error or OSError("no folder to run the candidate in")


def _remove_folder(path: str) -> None:
    """Best effort, never recursive in Python: the sandbox removes what stays behind
    (the folder is inside its work folder or private /tmp)."""
    stack = [path]
    visited: list[str] = []
    try:
        while stack:
            folder = stack.pop()
            visited.append(folder)
            os.chmod(folder, 0o700)
            with os.scandir(folder) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
                    else:
                        os.unlink(entry.path)
        for folder in reversed(visited):
            os.rmdir(folder)
    except OSError:
        pass


def _drop_from_path(folders: list[str]) -> None:
    """Take folders the child can write off the scorer's import path, for good: what
    the child leaves there must never be imported by the scorer.

    Only the folders themselves: a program kept in a project folder must not take
    the project's virtual environment, below it, off the path.
    """
    names = {os.path.abspath(f) for f in folders} | {os.path.realpath(f) for f in folders}

    def writable(entry: object) -> bool:
        if not isinstance(entry, str):
            return False
        path = entry or "."
        return os.path.abspath(path) in names or os.path.realpath(path) in names

    kept = [entry for entry in sys.path if not writable(entry)]
    if len(kept) != len(sys.path):
        sys.path[:] = kept
    for entry in list(sys.path_importer_cache):
        if writable(entry):
            sys.path_importer_cache.pop(entry, None)


def _too_deep(value: Any, limit: int) -> bool:
    """Whether a parsed reply nests lists and dicts deeper than `limit` levels.

    Iterative, and a list or dict holding no container is passed over at C speed
    (`set(map(type, ...))`), so a large flat list of numbers costs microseconds.
    """
    if type(value) not in _CONTAINERS:
        return False
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        values = item.values() if type(item) is dict else item
        if _CONTAINERS.isdisjoint(set(map(type, values))):
            continue
        stack.extend((element, depth + 1) for element in values if type(element) in _CONTAINERS)
    return False


# --- the helper ---------------------------------------------------------------------


class CandidateProcess:
    """A program loaded in its own process; call its functions with plain data.

    `program_path`: the candidate's file. `adapter`: optionally a file (next to the
    evaluator, trusted code the task ships) loaded in the child first, as a module of a
    private package made of its folder, so its relative imports work; every call's
    name then resolves in the adapter and is called as ``adapter.name(program, *args,
    **kwargs)``: where the candidate expects objects (a numpy array, an oracle), the
    adapter builds them from plain data. Without one, ``program.name(*args,
    **kwargs)`` is called. `timeout_s`: the limit per call, `load_timeout_s`: for
    loading the program (None: no limit of its own, the sandbox's deadline holds).
    `env`: variables added to the whitelisted environment.

    The child starts at once, so it loads the program while the scorer prepares its
    instances. Not thread-safe: one call at a time. Use it as a context manager, so
    the child and everything it started are gone when the block ends.
    """

    def __init__(
        self,
        program_path: str | os.PathLike[str],
        *,
        adapter: str | os.PathLike[str] | None = None,
        timeout_s: float | None = None,
        load_timeout_s: float | None = None,
        max_reply_bytes: int = MAX_REPLY_BYTES,
        max_depth: int = MAX_DEPTH,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.program_path = os.path.abspath(os.fspath(program_path))
        self.timeout_s = timeout_s
        self.load_timeout_s = load_timeout_s
        self.max_reply_bytes = max_reply_bytes
        self.max_depth = max_depth
        self.pid = 0
        self._functions: frozenset[str] | None = None
        self._failure: CandidateError | None = None
        self._closed = False
        self._buffer = bytearray()
        self._request = self._reply = -1
        self._pidfd: int | None = None
        self._started_at = 0
        self._reaped = False
        self._protected = False
        self._folder = ""
        if not os.path.isfile(self.program_path):
            raise FileNotFoundError(f"the candidate program {self.program_path} does not exist")
        python = sys.executable
        if not python:
            raise CandidateError("sys.executable is unknown: no interpreter to start")
        self._folder = _new_folder()
        _drop_from_path([os.path.dirname(self.program_path), self._folder])
        _protect()
        self._protected = True
        try:
            self._spawn(python, env)
        except BaseException:
            self.close()
            raise
        setup = {
            "cwd": self._folder,
            "sys_path": [entry for entry in sys.path if isinstance(entry, str) and entry]
            + [os.path.dirname(self.program_path)],
            "packages": _package_folders(),
            "program": self.program_path,
            "module": f"candidate_{os.urandom(8).hex()}",
            "adapter": os.path.abspath(os.fspath(adapter)) if adapter else None,
        }
        deadline = None if load_timeout_s is None else time.monotonic() + load_timeout_s
        try:
            self._send(marshal.dumps(setup), deadline, "loading the program")
        except CandidateError as error:
            self._failure = error

    def _spawn(self, python: str, env: Mapping[str, str] | None) -> None:
        request_read, request_write = os.pipe()
        reply_read, reply_write = os.pipe()
        ends = []
        for fd in (request_read, request_write, reply_read, reply_write):
            # Never 0-2: those are the child's stdio.
            moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 3) if fd < 3 else fd
            if moved != fd:
                os.close(fd)
            ends.append(moved)
        request_read, request_write, reply_read, reply_write = ends
        for fd in (request_write, reply_read):
            with contextlib.suppress(OSError):  # fewer partial writes for large messages
                fcntl.fcntl(fd, 1031, 1 << 20)  # F_SETPIPE_SZ
        os.set_blocking(request_write, False)
        os.set_inheritable(request_read, True)
        os.set_inheritable(reply_write, True)
        self._request, self._reply = request_write, reply_read
        try:
            if _forking[0]:
                self.pid = _fork_child(request_read, reply_write, child_environment(env))
            else:
                self.pid = os.posix_spawn(
                    python,
                    [python, "-I", "-S", CHILD, str(request_read), str(reply_write)],
                    child_environment(env),
                    file_actions=[(os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0)],
                    setsid=True,
                )
        finally:
            os.close(request_read)
            os.close(reply_write)
        with _lock:
            _live.add(self.pid)
        self._started_at = _start_time(self.pid)
        try:
            self._pidfd = os.pidfd_open(self.pid)
        except (AttributeError, OSError):  # pragma: no cover - Linux before 5.3
            self._pidfd = None
        self._readable = select.poll()
        self._readable.register(self._reply, select.POLLIN)
        self._pending = select.poll()
        self._pending.register(self._reply, select.POLLIN)
        self._writable = select.poll()
        self._writable.register(self._request, select.POLLOUT)
        if self._pidfd is not None:
            self._readable.register(self._pidfd, select.POLLIN)
            self._writable.register(self._pidfd, select.POLLIN)

    # --- the public calls -------------------------------------------------------

    def __enter__(self) -> CandidateProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def functions(self) -> frozenset[str]:
        """The names of the program's top-level callables (waits for it to load)."""
        if self._functions is None:
            self._load()
        assert self._functions is not None
        return self._functions

    def has(self, name: str) -> bool:
        """Whether the program defines a callable `name`; raises if it failed to load."""
        return name in self.functions

    def call(self, name: str, /, *args: Any, **kwargs: Any) -> Any:
        """Call `name` in the child with plain arguments; its plain result, checked.

        Arguments must be what marshal writes (None, bools, ints, floats, strings,
        bytes, tuples, lists, dicts, sets); they arrive as copies, so the candidate
        cannot alter the scorer's data. The result comes back through JSON: tuples
        become lists, numpy arrays and scalars become lists and numbers, and dict keys
        become strings. Raises a `CandidateError` subclass when there is no usable
        answer.
        """
        if self._functions is None:
            self._load()
        if self._failure is not None:
            raise self._failure
        try:
            payload = marshal.dumps((name, args, kwargs))
        except ValueError as error:
            raise TypeError(
                f"the arguments of {name}() must be plain data (marshal refused them: {error})"
            ) from None
        deadline = None if self.timeout_s is None else time.monotonic() + self.timeout_s
        where = f"{name}()"
        if self._buffer or any(mask & select.POLLIN for _, mask in self._pending.poll(0)):
            raise self._break(
                CandidateDied(f"the candidate's process sent unasked data before {where}")
            )
        self._send(payload, deadline, where)
        kind, body = self._receive(deadline, where)
        if kind == 82:  # R: the result
            try:
                value = _DECODER.decode(body.decode("ascii"))
            except _NotFinite as error:
                raise CandidateBadReply(f"{where} returned a non-finite number ({error})") from None
            except (UnicodeDecodeError, ValueError, RecursionError):
                raise self._break(
                    CandidateDied(f"the candidate's process sent a malformed reply in {where}")
                ) from None
            if _too_deep(value, self.max_depth):
                raise CandidateBadReply(
                    f"{where} returned a value nested deeper than {self.max_depth} levels"
                )
            return value
        if kind == 69:  # E: the candidate raised
            raise self._raised(body, name)
        if kind == 78:  # N: the child could not encode the result
            text = self._parse(body, where)
            if not isinstance(text, str):
                raise self._break(
                    CandidateDied(f"the candidate's process answered {where} garbage")
                )
            raise CandidateBadReply(f"{where} returned a value that is not plain data: {text}")
        raise self._break(
            CandidateDied(f"the candidate's process answered {where} with a frame of kind {kind}")
        )

    def close(self) -> None:
        """Stop the child and every process it started; idempotent."""
        if self._closed:
            return
        self._closed = True
        try:
            if self.pid:
                self._stop()
        finally:
            for fd in (self._request, self._reply, self._pidfd):
                if fd is not None and fd >= 0:
                    with contextlib.suppress(OSError):
                        os.close(fd)
            self._request = self._reply = -1
            self._pidfd = None
            if self._protected:
                self._protected = False
                _unprotect()
            if self._folder:
                _remove_folder(self._folder)

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # nothing to report to at interpreter shutdown
            self.close()

    # --- the protocol -----------------------------------------------------------

    def _load(self) -> None:
        """Wait for the child's first message: the program's functions, or its error."""
        if self._failure is not None:
            raise self._failure
        deadline = None if self.load_timeout_s is None else time.monotonic() + self.load_timeout_s
        where = "loading the program"
        kind, body = self._receive(deadline, where)
        if kind == 69:
            raise self._break(self._raised(body, None), stop=False)
        if kind != 76:  # L
            raise self._break(CandidateDied(f"the candidate's process broke the protocol {where}"))
        names = self._parse(body, where)
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise self._break(CandidateDied(f"the candidate's process sent garbage {where}"))
        self._functions = frozenset(names)

    def _raised(self, body: bytes, function: str | None) -> CandidateRaised:
        where = "loading the program" if function is None else f"{function}()"
        info = self._parse(body, where)
        if not (
            isinstance(info, list) and len(info) == 3 and all(isinstance(i, str) for i in info)
        ):
            raise self._break(CandidateDied(f"the candidate's process sent garbage in {where}"))
        type_name, message, trace = info
        error = CandidateRaised(function, type_name[:200], message[:TEXT_LIMIT], trace)
        error.__cause__ = RemoteTraceback(trace) if trace else None
        return error

    def _parse(self, body: bytes, where: str) -> Any:
        try:
            return _DECODER.decode(body.decode("ascii"))
        except (UnicodeDecodeError, ValueError, RecursionError):  # _NotFinite included
            raise self._break(
                CandidateDied(f"the candidate's process sent a malformed reply in {where}")
            ) from None

    def _send(self, payload: bytes, deadline: float | None, where: str) -> None:
        data = memoryview(len(payload).to_bytes(4, "little") + payload)
        while data:
            try:
                data = data[os.write(self._request, data) :]
                continue
            except BlockingIOError:
                pass
            except OSError:  # EPIPE: the child is gone
                raise self._break(self._death(where)) from None
            events = self._writable.poll(self._wait_ms(deadline))
            if not events:
                if deadline is not None and time.monotonic() >= deadline:
                    raise self._break(self._timeout(where))
                continue
            if any(fd == self._pidfd for fd, _ in events) and not any(
                fd == self._request and mask & select.POLLOUT for fd, mask in events
            ):
                raise self._break(self._death(where))

    def _receive(self, deadline: float | None, where: str) -> tuple[int, bytes]:
        buffer = self._buffer
        while True:
            if len(buffer) >= 5:
                size = int.from_bytes(buffer[1:5], "little")
                if size > self.max_reply_bytes:
                    raise self._break(
                        CandidateBadReply(
                            f"{where} sent a reply of {size} bytes, over the "
                            f"{self.max_reply_bytes}-byte limit"
                        )
                    )
                if len(buffer) >= 5 + size:
                    kind = buffer[0]
                    body = bytes(buffer[5 : 5 + size])
                    del buffer[: 5 + size]
                    if buffer:
                        raise self._break(
                            CandidateDied(f"the candidate's process sent unasked data in {where}")
                        )
                    return kind, body
                wanted = 5 + size - len(buffer)
            else:
                wanted = 5 - len(buffer)
            events = self._readable.poll(self._wait_ms(deadline))
            if not events:
                if deadline is not None and time.monotonic() >= deadline:
                    raise self._break(self._timeout(where))
                continue
            if any(fd == self._reply for fd, _ in events):
                try:
                    chunk = os.read(self._reply, max(wanted, 1 << 16))
                except OSError:
                    chunk = b""
                if chunk:
                    buffer += chunk
                    continue
            raise self._break(self._death(where))

    @staticmethod
    def _wait_ms(deadline: float | None) -> int:
        if deadline is None:
            return -1
        return max(0, int((deadline - time.monotonic()) * 1000) + 1)

    def _timeout(self, where: str) -> CandidateTimeout:
        limit = self.load_timeout_s if where == "loading the program" else self.timeout_s
        return CandidateTimeout(f"{where} took longer than {limit:g} s; the process was stopped")

    def _death(self, where: str) -> CandidateDied:
        """Why the child is gone, from its exit status; it and its session are reaped."""
        if self._pidfd is not None:  # the pipe closed: give a dying child a moment
            select.select([self._pidfd], [], [], 0.2)
        try:
            exited = os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            exited = None
        if exited is None:  # alive, but it closed its end of the pipe
            self._stop()
            return CandidateDied(f"the candidate's process closed its pipe during {where}")
        status = self._reap()
        if status is None:
            how = "ended"
        elif os.WIFSIGNALED(status):
            number = os.WTERMSIG(status)
            how = f"was killed by signal {number} ({SIGNAL_NAMES.get(number, 'unknown')})"
        else:
            how = f"exited with code {os.WEXITSTATUS(status)}"
        return CandidateDied(f"the candidate's process {how} during {where}")

    def _break(self, error: CandidateError, stop: bool = True) -> CandidateError:
        """Remember `error` for every later call; stop the child unless it ends itself."""
        self._failure = error
        if stop and not self._closed:
            self._stop()
        return error

    def _reap(self) -> int | None:
        """SIGKILL the child's session and the child, then reap it: its wait status.

        Signalled before the reaping, while the child (a zombie at worst) still holds
        its pid, so the number cannot belong to anyone else yet."""
        if self._reaped:
            return None
        self._reaped = True
        for kill in (os.killpg, os.kill):
            with contextlib.suppress(OSError):
                kill(self.pid, 9)
        try:
            return os.waitpid(self.pid, 0)[1]
        except ChildProcessError:
            return None
        finally:
            with _lock:
                _live.discard(self.pid)

    def _stop(self) -> None:
        """Kill the child, then whatever it left behind, until nothing is left."""
        self._reap()
        if not self._started_at:
            return
        for _ in range(10_000):
            leftovers = _leftovers(self._started_at)
            if not leftovers:
                return
            for leftover in leftovers:
                _kill_and_reap(leftover)
