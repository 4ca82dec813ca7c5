"""The root a candidate sees in the process sandbox: a list, not a maze.

bubblewrap builds each evaluation's root from nothing (an empty tmpfs) and this
module names everything that goes in it. Whatever is not named here does not
exist for the candidate: no /run (so no docker.sock or database socket), no /var,
no home folders, no orchestrator working folder or `.env`, no store, no other
evaluation's folder, no /sys.

What is named:

* read-only, at their host paths: /usr (libraries, compilers, tools), the
  interpreter's prefixes and sys.path, evoforge's package folders, the task's
  folders (its evaluator and python_path) and the sandbox's extra `mounts`, with any
  `.env*` file at their top level hidden behind an empty file;
* a few /etc files programs need to run (the dynamic linker's cache, time zone,
  alternatives), a two-line passwd and group, and for a task granted the network the
  resolver and CA certificates;
* the evaluation's work folder, writable (a capped tmpfs of its own, work_folder.py);
* a private /tmp and /dev/shm, each a tmpfs capped in bytes;
* bubblewrap's minimal /dev (null, zero, full, random, urandom, tty, pts) plus the
  GPU's device nodes for GPU jobs, and the pid namespace's own /proc.
"""

from __future__ import annotations

import os
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

# Merged-/usr systems make these symlinks into /usr; elsewhere they are real folders.
TOP_LEVEL_LINKS = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")
ETC_ALWAYS = (
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "alternatives",  # /usr/bin/cc and friends point into it
    "localtime",
)
ETC_NETWORK = ("resolv.conf", "hosts", "nsswitch.conf", "gai.conf", "ssl", "ca-certificates")
GPU_DEVICE_PREFIXES = ("nvidia", "dri", "kfd")
NEVER_SHOWN = frozenset({"/", "/etc", "/home", "/root", "/run", "/var", "/tmp", "/proc", "/sys"})
"""Folders that would show a candidate far more than a task needs; never bound whole."""
SANDBOX_USER = "evoforge"


@dataclass
class View:
    """What one evaluation may see of the host."""

    work: str
    read_only: list[str]
    gpu: bool = False
    network: bool = False
    tmp_mb: int = 256
    shm_mb: int = 256
    uid: int = 65534
    hidden: list[str] = field(default_factory=list)
    shared_tmp: str | None = None
    """A warm server's slot folder: /tmp and /dev/shm are its `tmp` and `shm`
    subfolders (emptied by the parent between evaluations, capped with the folder)
    instead of tmpfs mounts that would outlive one evaluation."""


def read_only_folders(paths: list[str]) -> list[str]:
    """The existing folders among `paths`, parents first, each shown once.

    A folder inside one already shown needs no mount of its own; "/" and the folders
    in NEVER_SHOWN are refused, whatever a task or python_path names.
    """
    chosen: list[str] = []
    # Shown at the paths as given: the harness imports through them, links and all.
    for path in sorted({os.path.abspath(p) for p in paths if p}):
        if path in NEVER_SHOWN or not os.path.isdir(path):
            continue
        if any(path == c or path.startswith(c.rstrip("/") + "/") for c in chosen):
            continue
        chosen.append(path)
    return chosen


def dotenv_files(folders: list[str]) -> list[str]:
    """`.env`, `.env.local`, ... at the top of each folder: hidden from the candidate."""
    found = []
    for folder in folders:
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        found += [os.path.join(folder, n) for n in names if n == ".env" or n.startswith(".env.")]
    return found


def arguments(view: View) -> list[str]:
    """bubblewrap's options for `view`: every mount of the candidate's root, in order."""
    args: list[str | Path] = []
    for name in TOP_LEVEL_LINKS:
        host = f"/{name}"
        if os.path.islink(host):
            args += ["--symlink", os.readlink(host), host]
        elif os.path.isdir(host):
            args += ["--ro-bind", host, host]
    args += ["--ro-bind", "/usr", "/usr", "--perms", "0755", "--dir", "/etc"]
    etc = list(ETC_ALWAYS) + (list(ETC_NETWORK) if view.network else [])
    for name in etc:
        if os.path.exists(f"/etc/{name}"):
            args += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
    identity = identity_files(view.uid)
    args += ["--ro-bind", identity / "passwd", "/etc/passwd"]
    args += ["--ro-bind", identity / "group", "/etc/group"]
    args += ["--proc", "/proc", "--dev", "/dev"]
    if view.shared_tmp:
        args += ["--bind", os.path.join(view.shared_tmp, "shm"), "/dev/shm"]
    else:
        args += ["--perms", "1777", "--size", str(view.shm_mb << 20), "--tmpfs", "/dev/shm"]
    if view.gpu:
        for device in gpu_devices():
            args += ["--dev-bind", device, device]
        if os.path.isdir("/proc/driver/nvidia"):
            args += ["--ro-bind", "/proc/driver/nvidia", "/proc/driver/nvidia"]
    if view.shared_tmp:
        args += ["--bind", os.path.join(view.shared_tmp, "tmp"), "/tmp"]
    else:
        args += ["--perms", "1777", "--size", str(view.tmp_mb << 20), "--tmpfs", "/tmp"]
    made: set[str] = {"/", "/tmp", "/usr", "/etc", "/dev", "/proc"}  # made above
    for folder in read_only_folders(view.read_only):
        args += [*_parents(folder, made), "--ro-bind", folder, folder]
    for path in [*dotenv_files(read_only_folders(view.read_only)), *view.hidden]:
        args += ["--ro-bind", "/dev/null", path]
    args += [*_parents(view.work, made), "--bind", view.work, view.work, "--chdir", view.work]
    return [str(a) for a in args]


def _parents(path: str, made: set[str]) -> list[str]:
    """Create the folders above a mount point traversable by the sandbox's user.

    bubblewrap would make them 0700 and root's: the candidate could not reach the
    interpreter under /root/.pyenv, say. They are empty folders of the new root.
    """
    args = []
    for parent in reversed(Path(path).parents):
        name = str(parent)
        if name not in made:
            made.add(name)
            args += ["--perms", "0755", "--dir", name]
    return args


def gpu_devices() -> list[str]:
    """The GPU's device nodes (NVIDIA, DRM, ROCm's kfd), for GPU jobs only."""
    found = []
    try:
        names = sorted(os.listdir("/dev"))
    except OSError:
        return []
    for name in names:
        if name.startswith(GPU_DEVICE_PREFIXES):
            found.append(f"/dev/{name}")
    return found


_identity_lock = threading.Lock()
_identity: dict[int, Path] = {}


def identity_files(uid: int) -> Path:
    """A folder holding a passwd and group naming only root and the sandbox user.

    Programs look their user up (getpass, torch's cache folder); the host's own files
    list its accounts, which a candidate has no need to know. Written once per process.
    """
    with _identity_lock:
        if uid not in _identity:
            import atexit
            import shutil

            folder = Path(tempfile.mkdtemp(prefix="evoforge-identity-"))
            atexit.register(shutil.rmtree, folder, ignore_errors=True)
            folder.chmod(0o755)
            (folder / "passwd").write_text(
                f"root:x:0:0:root:/root:/bin/sh\n"
                f"{SANDBOX_USER}:x:{uid}:{uid}:evoforge candidate:/tmp:/bin/sh\n"
            )
            (folder / "group").write_text(f"root:x:0:\n{SANDBOX_USER}:x:{uid}:\n")
            for name in ("passwd", "group"):
                (folder / name).chmod(0o644)
            _identity[uid] = folder
        return _identity[uid]
