"""The shipped compose file and Dockerfile stay in step with the code they deploy.

No registry is reachable here, so the images are never built in CI; what can drift
silently is checked instead: every worker command parses with the real `evoforge`
CLI, the environment variables are the ones the code reads, and the Dockerfile
copies every source folder `setup.py` packages.
"""

from __future__ import annotations

import re
from pathlib import Path

import typer
import yaml

from evoforge.cli.app import app
from evoforge.executors.distributed.settings import BROKER_ENV

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "deploy" / "compose.yaml"
DOCKERFILE = ROOT / "deploy" / "Dockerfile"


def test_every_compose_worker_command_parses_with_the_evoforge_cli() -> None:
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    assert {"redis", "postgres", "worker", "gpu-worker"} <= set(services)
    command = typer.main.get_command(app)
    for name in ("worker", "gpu-worker"):
        args = services[name]["command"]
        assert args[0] == "worker"
        sub = command.get_command(None, "worker")  # type: ignore[attr-defined]
        context = sub.make_context("worker", list(args[1:]))  # raises on an unknown option
        assert context.params["queues"] in ("cpu", "gpu")
        env = services[name]["environment"]
        assert env[BROKER_ENV] == "redis://redis:6379/0"
        assert env["EVOFORGE_DB"].startswith("postgresql+psycopg://evoforge:")


def test_redis_keeps_queued_evaluations_across_a_restart() -> None:
    redis = yaml.safe_load(COMPOSE.read_text())["services"]["redis"]
    assert "--appendonly" in redis["command"]
    assert redis["command"][redis["command"].index("--appendonly") + 1] == "yes"


def test_no_password_is_written_into_the_compose_file() -> None:
    text = COMPOSE.read_text()
    assert "POSTGRES_PASSWORD: ${EVOFORGE_PG_PASSWORD:?" in text
    assert not re.search(r"postgresql\+psycopg://evoforge:[^$@]+@", text)


def test_the_dockerfile_copies_every_packaged_source_folder() -> None:
    text = DOCKERFILE.read_text()
    setup_py = (ROOT / "setup.py").read_text()
    folders = {
        folder.split("/")[0] for folder in re.findall(r'"evoforge[\w.]*": "([\w/]+)"', setup_py)
    }
    assert folders == {"platform", "plugins", "evaluators", "sandboxes", "kernels", "ui"}
    for folder in folders:
        assert f"COPY {folder} ./{folder}" in text
    assert "ADD " not in text
    assert re.search(r"^ARG BASE=.*\nFROM \$\{BASE\}", text, re.M)
