"""Start the harness without `site`: the interpreter's import setup, measured once.

A fresh `python -I` spends most of its start-up in `site` (about 23 ms of ~35 ms
here), mostly running `.pth` import hooks such as an editable install's finder.
Every evaluation pays that. So the sandbox asks one `python -I` child, once, what
its `sys.path` and evoforge's package folders are, and starts each harness with
`-S` and that answer: the same imports resolve, without re-running the hooks.

When some other `.pth` file installs an import hook of its own (another editable
project with a finder, say), copying `sys.path` would not reproduce it, so the
sandbox keeps the ordinary `site` start-up there.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
from typing import Any

# Import machinery every interpreter has, plus hooks whose effect sys.path replaces.
KNOWN_FINDERS = (
    "_frozen_importlib",
    "_frozen_importlib_external",
    "importlib._bootstrap",
    "importlib._bootstrap_external",
    "_distutils_hack",
    "__editable___evoforge_",
)
PACKAGES = (
    "evoforge",
    "evoforge.plugins",
    "evoforge.evaluators",
    "evoforge.sandboxes",
    "evoforge.kernels",
    "evoforge.ui",
)
PROBE = f"""
import importlib, json, sys
finders = [getattr(f, "__module__", "") or type(f).__module__ for f in sys.meta_path]
packages = {{}}
for name in {PACKAGES!r}:
    try:
        packages[name] = list(importlib.import_module(name).__path__)[0]
    except Exception:
        pass
prefixes = sorted({{sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}})
print(json.dumps({{"sys_path": sys.path, "finders": finders, "packages": packages,
                  "prefixes": prefixes}}))
"""

_cache: dict[str, dict[str, Any] | None] = {}
_lock = threading.Lock()


def interpreter_boot(python: str) -> dict[str, Any] | None:
    """The `-S` boot description for `python`, or None to start it with `site`."""
    found = interpreter_layout(python)
    if found is None:
        return None
    if any(not module.startswith(KNOWN_FINDERS) for module in found["finders"]):
        return None
    return {"sys_path": found["sys_path"], "packages": found["packages"]}


def interpreter_layout(python: str) -> dict[str, Any] | None:
    """What `python -I` imports from: its sys.path, prefixes, evoforge's package folders
    and import hooks (probed once per interpreter); None where it cannot import evoforge.

    The bubblewrap sandbox shows a candidate exactly these folders of the host.
    """
    with _lock:
        if python not in _cache:
            _cache[python] = _probe(python)
        return _cache[python]


def _probe(python: str) -> dict[str, Any] | None:
    try:
        done = subprocess.run(
            [python, "-I", "-c", PROBE], capture_output=True, text=True, timeout=60, cwd="/"
        )
        found = json.loads(done.stdout)
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    if done.returncode != 0 or "evoforge" not in found.get("packages", {}):
        return None
    return found


_compiled: dict[str, str | None] = {}


def compiled_harness(python: str) -> str | None:
    """The harness as a `.pyc` this interpreter can run directly, or None.

    A script named on the command line is compiled on every start (the harness
    takes milliseconds to compile); its bytecode starts at once. Only for the
    interpreter running evoforge, whose bytecode format is known to match. The file
    lives in a private folder of this process, so no other user can swap it.
    """
    if python in _compiled:  # asked once per evaluation: answered without a syscall
        return _compiled[python]
    with _lock:
        if python not in _compiled:
            _compiled[python] = _compile_harness(python)
        return _compiled[python]


def _compile_harness(python: str) -> str | None:
    import atexit
    import py_compile
    import shutil
    import sys
    import tempfile
    from pathlib import Path

    if Path(python).resolve() != Path(sys.executable).resolve():
        return None
    folder = tempfile.mkdtemp(prefix="evoforge-harness-")
    os.chmod(folder, 0o755)  # the sandbox's user runs it; only we may write here
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    target = str(Path(folder) / "harness.pyc")
    source = str(Path(__file__).with_name("harness.py"))
    try:
        py_compile.compile(source, cfile=target, doraise=True)
    except (OSError, py_compile.PyCompileError):
        return None
    return target
