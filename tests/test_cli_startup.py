"""Commands load only what they need, so `evoforge --help` answers at once.

Wall time is too noisy to assert on a shared machine (benchmarks/startup.py measures it);
which libraries a command imported is exact, and it is what start-up time is made of.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import cli_json, run_cli

LOADED = """
import io, json, runpy, sys, contextlib
sys.argv = ["evoforge", *sys.argv[1:]]
with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
    runpy.run_module("evoforge.cli.app", run_name="__main__")
print(json.dumps(sorted(sys.modules)))
"""

NEVER_FOR_READING = ("litellm", "celery", "docker", "streamlit", "torch", "alembic")
"""Libraries that only running, serving or building needs."""


def loaded(*args: str) -> set[str]:
    result = subprocess.run(
        [sys.executable, "-c", LOADED, *args], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return {name.split(".")[0] for name in json.loads(result.stdout.splitlines()[-1])}


@pytest.mark.parametrize("args", [["--help"], ["run", "--help"], ["worker", "--help"]])
def test_help_loads_no_store_models_or_plugins(args: list[str]) -> None:
    # pydantic is not listed: Typer itself loads it to parse a command's parameters.
    heavy = {"sqlalchemy", "pluggy", "numpy", *NEVER_FOR_READING}
    assert not heavy & loaded(*args)


def test_tasks_does_not_open_a_store_or_load_a_tasks_numerics() -> None:
    # numpy too: listing the tasks is also how every run's orchestrator finds its task,
    # and a built-in task's module that imported numpy cost each run about 11 MB.
    assert not {"sqlalchemy", "numpy", *NEVER_FOR_READING} & loaded("tasks")


def test_runs_and_show_load_no_model_client_executor_or_ui(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'store.db'}"
    run_id = cli_json("run", "circle_packing", "--max-evaluations", "2", "--db", db)["run_id"]
    assert not set(NEVER_FOR_READING) & loaded("runs", "--db", db)
    assert not set(NEVER_FOR_READING) & loaded("show", run_id, "--db", db)


def test_worker_help_shows_the_executors_visibility_timeout() -> None:
    from evoforge.executors.distributed.settings import DEFAULT_VISIBILITY_TIMEOUT_S

    result = run_cli("worker", "--help")
    assert result.returncode == 0, result.stderr
    assert f"default: {DEFAULT_VISIBILITY_TIMEOUT_S}" in result.stdout
