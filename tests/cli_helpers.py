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


def run_piped(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """The command as `evoforge ... | less` or `> report.txt` sees it: stdout a pipe and no
    COLUMNS, so Rich would fit tables to 80 columns unless the CLI says otherwise."""
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    return subprocess.run(
        [*EVOFORGE, *args], capture_output=True, text=True, timeout=300, cwd=cwd, env=env
    )


def nothing_succeeded(summary: Any) -> bool:
    """Whether a run summary has no `ok` evaluation: `run` and `resume` then exit 1."""
    return isinstance(summary, dict) and not (summary.get("evaluations") or {}).get("ok")


def cli_json(*args: str, cwd: Path | None = None, timeout: float = 300) -> Any:
    """The command's JSON, checking its exit status: 0, or 1 from a `run` (or `resume`)
    whose run had no successful evaluation, as the CLI promises; 1 there is required."""
    result = run_cli(*args, "--json", cwd=cwd, timeout=timeout)
    assert result.returncode in (0, 1), result.stderr
    try:
        data = json.loads(result.stdout)
    except json.JSONDecodeError:
        raise AssertionError(f"exit {result.returncode}, no JSON: {result.stderr}") from None
    if args and args[0] in ("run", "resume") and nothing_succeeded(data):
        # A resume of a run that had already finished only shows it, with exit 0.
        allowed = {1} if args[0] == "run" else {0, 1}
        assert result.returncode in allowed, result.stderr
    else:
        assert result.returncode == 0, result.stderr
    return data


def write_folder_task(root: Path, name: str, files: dict[str, str]) -> Path:
    """Write a task folder from dedented file texts; returns the folder."""
    folder = root / name
    folder.mkdir(parents=True)
    for file, text in files.items():
        (folder / file).write_text(textwrap.dedent(text).lstrip("\n"))
    return folder
