"""Helpers to drive the real `evoforge` CLI and write task folders from tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

EVOFORGE = [sys.executable, "-m", "evoforge.cli.app"]


def run_cli(
    *args: str, cwd: Path | None = None, timeout: float = 300
) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(
        [*EVOFORGE, *args], capture_output=True, text=True, timeout=timeout, cwd=cwd, env=env
    )


def cli_json(*args: str, cwd: Path | None = None, timeout: float = 300) -> Any:
    result = run_cli(*args, "--json", cwd=cwd, timeout=timeout)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def write_folder_task(root: Path, name: str, files: dict[str, str]) -> Path:
    """Write a task folder from dedented file texts; returns the folder."""
    folder = root / name
    folder.mkdir(parents=True)
    for file, text in files.items():
        (folder / file).write_text(textwrap.dedent(text).lstrip("\n"))
    return folder
