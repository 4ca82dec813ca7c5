"""Remove a folder a candidate wrote, whatever it did to it.

The fallback where a work folder is not a filesystem of its own (see work_folder.py):
the candidate may have taken away its own permissions, left a FIFO, or built a tree
deeper than Python's recursion limit.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any


def remove_tree(path: Path) -> None:
    """Remove the work folder even where the candidate took away its own permissions
    or built a tree deeper than Python's recursion limit.

    `shutil.rmtree` recurses once per level (in Python 3.11), so a candidate's
    3,000-level tree raised RecursionError and left the folder, and whatever data it
    held, on the host. coreutils' `chmod -R` and `rm -rf` walk trees of any depth
    without recursion or long paths, so they finish whatever rmtree could not.
    """

    top = os.path.abspath(path)

    def retry(function: Any, name: str, _error: Any) -> None:
        with contextlib.suppress(OSError):
            # Only inside the tree: the folder holding `path` itself (say /tmp) is
            # not the candidate's, and its mode is not ours to change.
            if os.path.abspath(name) != top:
                os.chmod(os.path.dirname(name), 0o700)
            if os.path.isdir(name) and not os.path.islink(name):
                os.chmod(name, 0o700)
            function(name)

    try:
        if sys.version_info >= (3, 12):
            shutil.rmtree(path, onexc=retry)
        else:
            shutil.rmtree(path, onerror=retry)
    except (RecursionError, OSError):
        pass
    if os.path.lexists(path):
        for command in (["chmod", "-R", "u+rwx", "--", str(path)], ["rm", "-rf", "--", str(path)]):
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                subprocess.run(command, capture_output=True, timeout=300, check=False)
