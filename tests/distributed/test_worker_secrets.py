"""A Celery worker scrubs the secrets of its own machine before it stores an outcome.

A worker stores what it evaluates itself, so the orchestrator's scrubbing on receipt
comes too late for the store, and the orchestrator (on another machine) may not even
know the worker's keys. Here the key is in the worker's environment only.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest
from cli_helpers import write_folder_task

from evoforge.api import run_task
from evoforge.secret_values import MARKER, known_secrets
from evoforge.store.database import open_database
from evoforge.store.repository import Repository


def test_a_worker_scrubs_a_key_only_its_machine_knows(
    redis_server, start_worker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    canary = "canary-worker-token-" + secrets.token_hex(12)
    middle = len(canary) // 2
    db = f"sqlite:///{tmp_path / 'runs.db'}"
    monkeypatch.setenv("EVOFORGE_WORKER_TOKEN", canary)
    start_worker("w1@test", broker=redis_server.url, db=db)
    monkeypatch.delenv("EVOFORGE_WORKER_TOKEN")
    assert canary not in known_secrets(), "the orchestrator must not know the worker's key"

    task = write_folder_task(
        tmp_path,
        "leaky",
        {
            "task.toml": """
                name = "leaky"
                files = ["program.py"]
                evaluate = "evaluate.py:evaluate"
                [resources]
                timeout_s = 10
            """,
            "program.py": f"""
                # EVOLVE-BLOCK-START
                X = 3.0
                # EVOLVE-BLOCK-END


                def told():
                    value = {canary[:middle]!r} + {canary[middle:]!r}
                    print("found", value)
                    return "the worker's key is " + value
            """,
            "evaluate.py": """
                def evaluate(program_path):
                    scope = {}
                    exec(open(program_path).read(), scope)
                    return float(scope["X"]), {"note": scope["told"]()}
            """,
        },
    )
    outcome = run_task(
        task, db=db, broker=redis_server.url, max_evaluations=3, seed=1, evaluation_slots=1
    )

    assert outcome.summary["evaluations"]["ok"] == 3
    database = db.removeprefix("sqlite:///")
    stored = b"".join(
        Path(path).read_bytes() for path in (database, database + "-wal") if os.path.exists(path)
    )
    assert canary.encode() not in stored
    repo = Repository(open_database(db))
    for view in repo.evaluated_candidates(outcome.run_id):
        kept = repo.stored_outcome(view.id)
        assert kept is not None and kept.host == "w1@test"
        assert f"found {MARKER}" in kept.stdout and MARKER in kept.feedback
