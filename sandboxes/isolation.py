"""Contain a root candidate: read-only host, own /dev and /proc, own pid namespace, no capabilities.

Called by the harness right after the go signal, before any candidate code. In order:

1. `unshare(CLONE_NEWNS | CLONE_NEWPID)`: a mount namespace of its own, made here
   rather than by `unshare -m`, so no mount below can ever land in the orchestrator's
   namespace, and a pid namespace for the children of this process.
2. Clones the few character devices a program needs (and, for GPU jobs, the GPU's),
   then makes every mount private, read-only, nosuid and nodev with one recursive
   `mount_setattr`. Read-only alone would not do: root without capabilities may still
   write a block device such as the root disk, as its owner; nodev stops that.
3. Mounts a private tmpfs on /dev holding only those devices, with /dev/shm (so
   `multiprocessing` works) and /dev/pts; it is discarded with the namespace.
4. Bind-mounts each writable folder (the evaluation's work folder) onto itself and
   makes that one mount writable again: a bind mount copies the read-only flag.
5. Forks twice. The first child is pid 1 of the new pid namespace: it mounts a
   read-only /proc for that namespace (a writable /proc/sys would let uid 0 without
   capabilities set `kernel.core_pattern`), drops every capability, sets
   no_new_privs and then only reaps. The second child, pid 2, returns and runs the
   evaluation. The candidate is never pid 1: the kernel drops default-action signals
   sent to a namespace's init (SIGXCPU from RLIMIT_CPU, SIGABRT from `abort()`), and
   util-linux's `unshare --fork` reports a child killed by SIGKILL as exit code 1.
   The process the sandbox started stays outside the pid namespace, waits, and ends
   the way the evaluation did (same exit code, same signal), so the parent sees the
   exit it would have seen without isolation. When pid 1 exits, the kernel kills
   whatever else is left in the namespace, even what left the process group.

Standard library only and no `typing`: it runs in every evaluation. It talks to the
kernel through `_ctypes`, the C half of `ctypes`, because importing `ctypes` itself
costs each evaluation about 3.5 ms; the few lines below are all of it that is used.
"""

from __future__ import annotations

import _ctypes
import os
import sys

TYPE_CHECKING = False  # `typing` costs every evaluation milliseconds to import
if TYPE_CHECKING:
    from typing import Any, NoReturn

# Character devices every program may expect. No block device is ever exposed.
BASIC_DEVICES = ("null", "zero", "full", "random", "urandom", "tty")
# /dev entries CUDA and ROCm open, exposed only to GPU jobs.
GPU_DEVICE_PREFIXES = ("nvidia", "dri", "kfd")
FAILED_EXIT = 3  # the harness's exit code when isolation was asked for and failed

# Syscall numbers of the new mount API: the same on every architecture since 5.2.
SYS_OPEN_TREE = 428
SYS_MOVE_MOUNT = 429
SYS_MOUNT_SETATTR = 442
AT_FDCWD = -100
AT_RECURSIVE = 0x8000
OPEN_TREE_CLONE = 1
OPEN_TREE_CLOEXEC = 0o2000000
MOVE_MOUNT_F_EMPTY_PATH = 0x4
CLONE_NEWNS = 0x00020000
CLONE_NEWPID = 0x20000000
MS_PRIVATE = 1 << 18
MOUNT_ATTR_RDONLY = 0x1
MOUNT_ATTR_NOSUID = 0x2
MOUNT_ATTR_NODEV = 0x4
MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_BIND = 0x1000
PR_SET_DUMPABLE = 4
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
CAPABILITY_VERSION_3 = 0x20080522


class IsolationError(OSError):
    """A step failed: the candidate must not run, it would run unprotected."""


class _Long(_ctypes._SimpleCData):
    _type_ = "l"


class _Int(_ctypes._SimpleCData):
    _type_ = "i"


class _Text(_ctypes._SimpleCData):  # bytes or None, passed as `const char *`
    _type_ = "z"


class _Libc:
    _handle = _ctypes.dlopen(None, os.RTLD_NOW)


class _Function(_ctypes.CFuncPtr):
    _flags_ = _ctypes.FUNCFLAG_CDECL | _ctypes.FUNCFLAG_USE_ERRNO
    _restype_ = _Int


def _function(name: str, *argtypes: Any) -> Any:
    function = _Function((name, _Libc))
    function.argtypes = argtypes
    return function


# syscall(2) is variadic; each use gets its own prototype so every argument is a long.
_mount_setattr = _function("syscall", _Long, _Long, _Text, _Long, _Text, _Long)
_open_tree = _function("syscall", _Long, _Long, _Text, _Long)
_move_mount = _function("syscall", _Long, _Long, _Text, _Long, _Text, _Long)
_mount = _function("mount", _Text, _Text, _Text, _Long, _Text)
_prctl = _function("prctl", _Int, _Long, _Long, _Long, _Long)
_capset = _function("capset", _Text, _Text)
_unshare = _function("unshare", _Int)


def _check(result: int, what: str) -> int:
    if result < 0:
        errno = _ctypes.get_errno()
        raise IsolationError(errno, f"{what}: {os.strerror(errno)}")
    return result


def _u64(*values: int) -> bytes:
    return b"".join(value.to_bytes(8, sys.byteorder) for value in values)


def _u32(*values: int) -> bytes:
    return b"".join(value.to_bytes(4, sys.byteorder) for value in values)


def _set_mount_attr(
    path: str, set_flags: int, clear_flags: int, flags: int = 0, propagation: int = 0
) -> None:
    attr = _u64(set_flags, clear_flags, propagation, 0)  # struct mount_attr, version 0
    result = _mount_setattr(SYS_MOUNT_SETATTR, AT_FDCWD, path.encode(), flags, attr, len(attr))
    _check(result, f"mount_setattr({path})")


def _clone_mount(path: str) -> int:
    """A detached bind mount of `path`, to attach after the original is hidden."""
    result = _open_tree(SYS_OPEN_TREE, AT_FDCWD, path.encode(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC)
    return _check(result, f"open_tree({path})")


def _attach(clone: int, target: str) -> None:
    result = _move_mount(
        SYS_MOVE_MOUNT, clone, b"", AT_FDCWD, target.encode(), MOVE_MOUNT_F_EMPTY_PATH
    )
    _check(result, f"move_mount({target})")


def _device_paths(gpu: bool) -> list[str]:
    """The /dev entries to carry over: basic character devices, plus the GPU's for GPU jobs."""
    names = [f"/dev/{name}" for name in BASIC_DEVICES]
    if gpu:
        for name in sorted(os.listdir("/dev")):
            if name.startswith(GPU_DEVICE_PREFIXES):
                path = f"/dev/{name}"
                if os.path.isdir(path):
                    names.extend(f"{path}/{entry}" for entry in sorted(os.listdir(path)))
                else:
                    names.append(path)
    import stat

    found = []
    for path in names:
        try:
            if stat.S_ISCHR(os.stat(path).st_mode):
                found.append(path)
        except OSError:
            continue
    return found


def mount_read_only_view(writable: list[str], gpu: bool = False, shm_mb: int | None = None) -> None:
    """Steps 2-4, in a mount namespace of our own: the host read-only, a private /dev,
    and `writable` writable again."""
    clones = [(path, _clone_mount(path)) for path in _device_paths(gpu)]
    try:
        # Private first of all (the same call): nothing mounted below may propagate out.
        read_only = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV
        _set_mount_attr("/", read_only, 0, AT_RECURSIVE, propagation=MS_PRIVATE)
        options = f"mode=755,size={shm_mb}m" if shm_mb else "mode=755"
        _check(_mount(b"tmpfs", b"/dev", b"tmpfs", MS_NOSUID, options.encode()), "mount /dev")
        for path, clone in clones:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o666))
            _attach(clone, path)
    finally:
        for _, clone in clones:
            os.close(clone)
    os.mkdir("/dev/shm")
    os.chmod("/dev/shm", 0o1777)
    os.mkdir("/dev/pts")
    for target, name in (
        ("/proc/self/fd", "/dev/fd"),
        ("/proc/self/fd/0", "/dev/stdin"),
        ("/proc/self/fd/1", "/dev/stdout"),
        ("/proc/self/fd/2", "/dev/stderr"),
        ("pts/ptmx", "/dev/ptmx"),
    ):
        os.symlink(target, name)
    # Pseudo-terminals are a convenience (the `pty` module); isolation does not need them.
    _mount(b"devpts", b"/dev/pts", b"devpts", MS_NOSUID | MS_NOEXEC, b"newinstance,ptmxmode=0666")
    for path in writable:
        _check(_mount(path.encode(), path.encode(), None, MS_BIND, None), f"bind {path}")
        _set_mount_attr(path, 0, MOUNT_ATTR_RDONLY)
    # The working directory still points into the read-only mount under the new one.
    os.chdir(os.getcwd())


def mount_proc() -> None:
    """The pid namespace's own /proc, read-only: /proc/sys is writable by uid 0 without caps."""
    flags = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC
    _check(_mount(b"proc", b"/proc", b"proc", flags, None), "mount /proc")


def drop_capabilities() -> None:
    """Empty the bounding, ambient, effective, permitted and inheritable sets; no_new_privs.

    Root keeps uid 0 but loses what makes root powerful: with an empty bounding set not
    even executing a set-uid or file-capability binary can bring a capability back.
    """
    cap = 0
    while _prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == 0:
        cap += 1
    if _ctypes.get_errno() != 22 or cap == 0:  # EINVAL: past the last capability
        _check(-1, f"prctl(PR_CAPBSET_DROP, {cap})")
    _check(_prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), "clear ambient capabilities")
    header = _u32(CAPABILITY_VERSION_3, 0)
    _check(_capset(header, bytes(24)), "capset")
    _check(_prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)")


def isolate(writable: list[str], gpu: bool = False, shm_mb: int | None = None) -> None:
    """Isolate this process; returns only in the worker (pid 2), which may run the candidate.

    Raises IsolationError where the mounts fail; a failure in the namespace's init is
    reported on stderr and ends the evaluation with FAILED_EXIT, never with a return.
    """
    _check(_unshare(CLONE_NEWNS | CLONE_NEWPID), "unshare(mount and pid namespaces)")
    mount_read_only_view(writable, gpu, shm_mb)
    report_read, report_write = os.pipe()
    init = os.fork()
    if init:
        os.close(report_write)
        _wait_and_end_like(init, report_read)
    os.close(report_read)
    try:
        if os.getpid() != 1:
            raise IsolationError(0, "the first child is not pid 1 of a new pid namespace")
        mount_proc()
        drop_capabilities()
        worker = os.fork()
    except BaseException as error:
        refuse(error)
        os._exit(FAILED_EXIT)
    if worker == 0:
        os.close(report_write)
        return
    _reap_until(worker, report_write)


def _reap_until(worker: int, report: int) -> NoReturn:
    """Pid 1: reap every orphan, and report the worker's wait status when it ends.

    Exiting ends the namespace, which kills anything the candidate left running.
    """
    try:
        import _signal  # not `signal`, whose enums cost milliseconds to import

        # Not ptraceable by the candidate (same uid, no capabilities either side).
        _prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
        _signal.signal(_signal.SIGINT, _signal.SIG_IGN)  # Python's handler would raise here
        while True:
            try:
                pid, status = os.waitpid(-1, 0)
            except ChildProcessError:
                break
            if pid == worker:
                os.write(report, str(status).encode())
                break
    finally:
        os._exit(0)


def _wait_and_end_like(init: int, report: int) -> NoReturn:
    """Outside the namespace: wait for it to end, then exit the way the worker did."""
    chunks = []
    while chunk := os.read(report, 64):
        chunks.append(chunk)
    _, status = os.waitpid(init, 0)
    if chunks:  # the worker's status; otherwise init's own (it failed, or was killed)
        status = int(b"".join(chunks))
    if os.WIFSIGNALED(status):
        import _signal
        import resource

        number = os.WTERMSIG(status)
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a SIGSEGV here must not dump core
        if number in _signal.valid_signals() and number not in (_signal.SIGKILL, _signal.SIGSTOP):
            _signal.signal(number, _signal.SIG_DFL)  # Python ignores SIGPIPE and SIGXFSZ
        os.kill(os.getpid(), number)
        os._exit(128 + number)
    os._exit(os.waitstatus_to_exitcode(status) & 0xFF)


def refuse(error: BaseException) -> None:
    """Say on stderr, the line the sandbox reports, why the candidate was not run."""
    detail = str(error) if isinstance(error, IsolationError) else repr(error)
    try:
        sys.stderr.write(f"sandbox isolation failed, so the candidate was not run: {detail}\n")
        sys.stderr.flush()
    except Exception:
        pass


def _self_test(folder: str) -> int:
    """What the sandbox's probe runs: isolate, then check the view from inside.

    Run as ``python -I -S isolation.py FOLDER`` in FOLDER, under the sandbox's flags; it
    prints "ok" only where every protection took effect.
    """
    isolate([folder], shm_mb=16)
    with open("probe", "w") as handle:  # relative: the working directory must be writable too
        handle.write("written")
    try:
        open(os.path.join(os.path.dirname(folder), "evoforge-probe-escape"), "w").close()
    except OSError:
        pass
    else:
        return 1
    with open("/proc/self/status") as handle:
        fields = dict(line.split(":", 1) for line in handle.read().splitlines())
    if fields["CapEff"].strip("\t 0") or fields["CapBnd"].strip("\t 0") or os.getpid() != 2:
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    try:
        code = _self_test(sys.argv[1])
    except OSError as error:
        refuse(error)
        code = FAILED_EXIT
    sys.stdout.flush()
    os._exit(code)
