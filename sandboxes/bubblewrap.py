"""Start a command inside bubblewrap: own namespaces, minimal root, unprivileged user.

bubblewrap (`bwrap`, Debian's `bubblewrap`, the sandbox Flatpak uses) does the
isolating; this module only starts it and, when evoforge is root, finishes two
things bubblewrap leaves to its caller:

* **The user.** Started by root, bubblewrap would map the sandbox's user to host
  root. Instead it is asked to wait (`--userns-block-fd`) while we write the new
  user namespace's maps ourselves: host root stays root only for bubblewrap's own
  set-up (it must read the folders it binds), and uid/gid 65534 map to the host's
  65534. `setpriv` then switches to 65534, clears every capability (the bounding
  set too) and keeps no_new_privs, before the interpreter starts. So the candidate
  is host uid 65534 with no capability in any namespace, also when evoforge is root.
* **The cgroups.** While bubblewrap waits, its sandbox's first process is moved into
  the evaluation's pids and memory cgroups, so everything the candidate ever starts
  is born inside them: nothing forks before the move.

Run by another user, bubblewrap makes and maps the user namespace itself and no
handshake is needed (`--disable-userns` then also stops a candidate making more).
The evaluation gets its own mount, pid, network (unless the task is granted the
network), IPC, UTS, cgroup and user namespaces, a new session (no TIOCSTI into the
orchestrator's terminal), and dies with its parent.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from typing import Any, Protocol

HANDSHAKE_TIMEOUT_S = 30.0
UNPRIVILEGED_UID = 65534


class Joinable(Protocol):
    def add(self, pid: int) -> bool: ...


class BubblewrapError(OSError):
    """bubblewrap could not start the sandbox; the candidate did not run."""


def bwrap_path() -> str | None:
    """bubblewrap's executable: `$EVOFORGE_BWRAP` where set, else `bwrap` on PATH."""
    chosen = os.environ.get("EVOFORGE_BWRAP")
    if chosen:
        return chosen if os.access(chosen, os.X_OK) else None
    path = os.environ.get("PATH")
    found = _found_on_path.get(path)
    # Asked once per evaluation: the PATH search (a stat per folder) is remembered per
    # PATH, and only the one file found is checked again.
    if found is None or not os.access(found, os.X_OK):
        found = shutil.which("bwrap", path=path)
        if found is not None:
            _found_on_path[path] = found
    return found


_found_on_path: dict[str | None, str] = {}


def root_mode() -> bool:
    return os.geteuid() == 0


def namespace_options(network: bool) -> list[str]:
    options = ["--unshare-all", "--unshare-user", "--die-with-parent", "--new-session"]
    if network:
        options.append("--share-net")
    if not root_mode():
        options.append("--disable-userns")
    return options


def drop_to_user(uid: int = UNPRIVILEGED_UID) -> list[str]:
    """The `setpriv` prefix that makes the command an unprivileged, capability-less user."""
    setpriv = shutil.which("setpriv") or "setpriv"
    return [
        setpriv,
        f"--reuid={uid}",
        f"--regid={uid}",
        "--clear-groups",
        "--inh-caps=-all",
        "--bounding-set=-all",
        "--no-new-privs",
        "--",
    ]


def start(
    root: Sequence[str],
    command: Sequence[str],
    *,
    network: bool,
    cgroups: Sequence[Joinable],
    uid: int = UNPRIVILEGED_UID,
    **popen: Any,
) -> subprocess.Popen[bytes]:
    """Popen `command` in a sandbox whose root is `root` (minimal_root.arguments).

    Returns once the sandbox runs with its user mapped and inside `cgroups`; raises
    BubblewrapError (after killing what it started) where any step fails.
    """
    bwrap = bwrap_path() or "bwrap"
    base = [bwrap, *namespace_options(network), *root]
    if not root_mode():
        proc = subprocess.Popen([*base, "--", *command], **popen)
        for cgroup in cgroups:  # best effort: an unprivileged user rarely has cgroups
            cgroup.add(proc.pid)
        return proc
    info_read, info_write = os.pipe()
    block_read, block_write = os.pipe()
    handshake = ["--info-fd", str(info_write), "--userns-block-fd", str(block_read)]
    full = [bwrap, *handshake, *base[1:], "--", *drop_to_user(uid), *command]
    try:
        passed = (info_write, block_read, *popen.pop("pass_fds", ()))
        proc = subprocess.Popen(full, pass_fds=passed, **popen)
    except BaseException:
        for fd in (info_read, info_write, block_read, block_write):
            os.close(fd)
        raise
    os.close(info_write)
    os.close(block_read)
    try:
        child = _read_child_pid(info_read, proc)
        for cgroup in cgroups:
            if not (cgroup.add(proc.pid) and cgroup.add(child)):
                raise BubblewrapError(0, "could not move the sandbox into its cgroup")
        _map_user(child, uid)
        os.write(block_write, b"1")
    except BaseException:
        with contextlib.suppress(OSError):
            proc.kill()
        proc.wait()
        raise
    finally:
        os.close(info_read)
        os.close(block_write)
    return proc


def _read_child_pid(fd: int, proc: subprocess.Popen[bytes]) -> int:
    """bubblewrap's `--info-fd` report: the sandbox's first process, as the host sees it."""
    deadline = time.monotonic() + HANDSHAKE_TIMEOUT_S
    data = b""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise BubblewrapError(0, "bubblewrap did not report its sandbox in time")
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            continue
        chunk = os.read(fd, 4096)
        if not chunk:
            code = proc.wait()
            raise BubblewrapError(0, f"bubblewrap exited ({code}) before starting the sandbox")
        data += chunk
        with contextlib.suppress(ValueError):
            return int(json.loads(data)["child-pid"])


def _map_user(pid: int, uid: int) -> None:
    """Map ns root to host root (bubblewrap's set-up) and `uid` to the same host uid."""
    mapping = f"0 0 1\n{uid} {uid} 1\n"
    for name in ("uid_map", "gid_map"):
        with open(f"/proc/{pid}/{name}", "w") as handle:
            handle.write(mapping)


_probe_lock = threading.Lock()
_probed: dict[tuple[str, ...], str | None] = {}


def unavailable_reason(python: str, layout_paths: Sequence[str]) -> str | None:
    """Why bubblewrap cannot isolate evaluations here (None: it can), probed once.

    The probe runs the interpreter inside the same sandbox an evaluation gets and checks
    from inside that it is the unprivileged user, holds no capability, and sees no
    host folder beyond what it was shown.
    """
    key = (python, bwrap_path() or "", *layout_paths)
    with _probe_lock:
        if key not in _probed:
            _probed[key] = _probe(python, list(layout_paths))
        return _probed[key]


PROBE_SCRIPT = """
import os
status = dict(l.split(":", 1) for l in open("/proc/self/status").read().splitlines())
problems = []
if os.getuid() == 0 or os.geteuid() == 0:
    problems.append("runs as root")
for field in ("CapEff", "CapPrm", "CapBnd"):
    if status[field].strip("\\t 0"):
        problems.append(field + " not empty")
for path in ("/run", "/var", "/home", "/root/.bashrc", "/sys"):
    if os.path.exists(path):
        problems.append(path + " visible")
open("probe", "w").write("ok")
print("; ".join(problems) or "ok")
"""


def _probe(python: str, paths: list[str]) -> str | None:
    if bwrap_path() is None:
        return "bubblewrap is not installed"
    if root_mode() and shutil.which("setpriv") is None:
        return "util-linux's setpriv is not installed"
    from evoforge.sandboxes.minimal_root import View, arguments

    folder = tempfile.mkdtemp(prefix="evoforge-probe-")
    try:
        if root_mode():
            os.chown(folder, UNPRIVILEGED_UID, UNPRIVILEGED_UID)
        view = View(work=folder, read_only=paths, tmp_mb=16, shm_mb=16)
        try:
            proc = start(
                arguments(view),
                [python, "-I", "-S", "-c", PROBE_SCRIPT],
                network=False,
                cgroups=[],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            out, err = proc.communicate(timeout=60)
        except (OSError, subprocess.SubprocessError) as error:
            return f"bubblewrap failed to start a sandbox ({error})"
        answer = out.decode(errors="replace").strip()
        if proc.returncode != 0 or answer != "ok":
            detail = answer or err.decode(errors="replace").strip().splitlines()[-1:]
            return f"bubblewrap's sandbox is not sound here ({detail})"
        if not os.path.isfile(os.path.join(folder, "probe")):
            return "bubblewrap's sandbox could not write its work folder"
        return None
    finally:
        shutil.rmtree(folder, ignore_errors=True)
