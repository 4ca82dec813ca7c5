"""An evaluation's work folder: its own capped filesystem, removed by unmounting it.

Where evoforge runs as root the folder is a fresh tmpfs mounted on a private
directory, capped in bytes (`Resources.disk_mb`) and inodes (`Resources.max_files`)
and owned by the sandbox's unprivileged user. So one candidate filling its folder
gets ENOSPC in its own folder and never fills the disk a sibling evaluation (or the
store) needs, and cleanup is one unmount: no tree walk a candidate could defeat
with depth, permissions or a FIFO, and nothing of the candidate stays on the host.
Its pages are charged to the memory cgroup of whoever wrote them, the candidate.

Elsewhere (no root) the folder is an ordinary directory and the outcome's sandbox
says `no-disk-quota`; removal falls back to `remove_tree`.

Every folder is held under an exclusive `flock` while in use. A run that is killed
(`kill -9`, a lost machine) leaves its folders unlocked, and `sweep` removes those
the next time a sandbox starts, unmounting any tmpfs still there.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import fcntl
import logging
import os
import tempfile
import time
from pathlib import Path

from evoforge.sandboxes.tree_removal import remove_tree

PREFIX = "evoforge-eval-"
SANDBOX_UID = 65534  # `nobody`: the uid a candidate runs as when evoforge is root
SWEEP_AGE_S = 30.0  # a folder younger than this may be one being created right now
MNT_DETACH = 2
MS_NOSUID = 0x2
MS_NODEV = 0x4

log = logging.getLogger(__name__)
_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
_text = ctypes.c_char_p
_libc.mount.argtypes = [_text, _text, _text, ctypes.c_ulong, _text]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]


def quota_available() -> bool:
    """Whether work folders can be capped filesystems of their own (needs root)."""
    return os.geteuid() == 0


class WorkFolder:
    """One evaluation's folder: created, locked and (as root) mounted; `close` removes it."""

    def __init__(
        self,
        root: str | None,
        disk_mb: int,
        max_files: int,
        mount: bool = True,
        owner: int = SANDBOX_UID,
    ) -> None:
        self.path = Path(tempfile.mkdtemp(prefix=PREFIX, dir=root))
        self.mounted = False
        self._lock_fd: int | None = None
        try:
            if mount:
                options = f"size={disk_mb}m,nr_inodes={max_files},mode=0700,uid={owner},gid={owner}"
                _check(
                    _libc.mount(
                        b"tmpfs", bytes(self.path), b"tmpfs", MS_NOSUID | MS_NODEV, options.encode()
                    ),
                    f"mount a tmpfs on {self.path}",
                )
                self.mounted = True
            # Locked after mounting, so the lock sits on the folder a sweep would open.
            self._lock_fd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Remove the folder and all it holds; every error is logged, none raised."""
        if self._lock_fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._lock_fd)
            self._lock_fd = None
        remove_folder(self.path)


def remove_folder(path: Path) -> None:
    """Unmount whatever tmpfs is on `path`, then remove what is left."""
    try:
        while os.path.ismount(path):
            if _libc.umount2(bytes(path), MNT_DETACH) != 0:
                error = ctypes.get_errno()
                log.warning("cannot unmount work folder %s: %s", path, os.strerror(error))
                break
        if os.path.lexists(path):
            remove_tree(path)
    except Exception as error:  # cleanup must never fail an evaluation or a run
        log.warning("cannot remove work folder %s: %s", path, error)
    if os.path.lexists(path):
        log.warning("work folder %s is still on disk after cleanup", path)


def sweep(root: str | None = None) -> list[Path]:
    """Remove the work folders of runs that were killed; returns what was removed.

    A folder whose lock nobody holds belongs to no live evaluation. Young folders are
    left alone: one may have been created a moment ago and not be locked yet.
    """
    removed = []
    base = Path(root or tempfile.gettempdir())
    with contextlib.suppress(OSError):
        for path in base.glob(f"{PREFIX}*"):
            with contextlib.suppress(OSError):
                info = path.lstat()
                if (
                    not path.is_dir()
                    or path.is_symlink()
                    or (info.st_uid != os.geteuid() and not os.path.ismount(path))
                    or time.time() - info.st_ctime < SWEEP_AGE_S
                    or _in_use(path)
                ):
                    continue
                remove_folder(path)
                removed.append(path)
    if removed:
        log.info("removed %d work folder(s) left by interrupted runs", len(removed))
    return removed


def _in_use(path: Path) -> bool:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC | os.O_NOFOLLOW)
    except OSError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # closing drops the lock we may have taken
    return False


def _check(result: int, what: str) -> None:
    if result != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"{what}: {os.strerror(error)}")
