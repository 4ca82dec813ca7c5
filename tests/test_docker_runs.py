"""Whole runs through the docker sandbox, from the command line, on a private daemon."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import cli_json, run_cli
from sqlalchemy import create_engine, text
from support.dockerd import run_config


@pytest.mark.slow
def test_circle_packing_evolves_in_containers(tmp_path: Path, dockerd) -> None:  # noqa: ANN001
    from support.dockerd import TEST_IMAGE

    config = run_config(tmp_path, dockerd, TEST_IMAGE)
    db = f"sqlite:///{tmp_path / 'store.db'}"
    summary = cli_json(
        "run", "circle_packing", "--sandbox", "docker", "--config", str(config),
        "--max-evaluations", "12", "--seed", "3", "-E", "2", "--db", db, timeout=300,
    )  # fmt: skip
    assert summary["status"] == "finished"
    assert summary["evaluations"]["total"] == 12
    assert summary["evaluations"]["ok"] >= 10
    assert summary["best_score"] >= summary["seed_score"] > 0
    engine = create_engine(db)
    with engine.connect() as conn:
        sandboxes = conn.execute(text("select distinct sandbox from evaluations")).scalars().all()
    engine.dispose()
    assert sandboxes == ["docker"]


def test_missing_image_refuses_the_run_before_it_starts(tmp_path: Path, dockerd) -> None:  # noqa: ANN001
    config = run_config(tmp_path, dockerd, "evoforge-sandbox:cpu")
    db = tmp_path / "store.db"
    result = run_cli(
        "run", "circle_packing", "--sandbox", "docker", "--config", str(config),
        "--max-evaluations", "2", "--db", f"sqlite:///{db}",
    )  # fmt: skip
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "evoforge sandbox build cpu" in lines[0]
    runs = cli_json("runs", "--db", f"sqlite:///{db}")
    assert runs == [] or runs == {"runs": []}


def test_unreachable_daemon_refuses_the_run_with_the_fix(tmp_path: Path) -> None:
    config = tmp_path / "run.toml"
    config.write_text(f'[sandbox_options.docker]\nbase_url = "unix://{tmp_path}/no.sock"\n')
    result = run_cli(
        "run", "circle_packing", "--sandbox", "docker", "--config", str(config),
        "--max-evaluations", "2", "--db", f"sqlite:///{tmp_path / 'store.db'}",
    )  # fmt: skip
    assert result.returncode == 2
    assert "cannot reach the Docker daemon" in result.stderr
    assert "Traceback" not in result.stderr
