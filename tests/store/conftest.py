"""Store fixtures. Every store test runs once per database backend in `BACKENDS`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from evoforge.store import Database, Repository, open_database
from evoforge.task import ArtifactFile, Task


def _sqlite_url(request: pytest.FixtureRequest) -> str:
    tmp_path: Path = request.getfixturevalue("tmp_path")
    return f"sqlite:///{tmp_path / 'evoforge.db'}"


def _postgresql_url(request: pytest.FixtureRequest) -> str:
    """A scratch database on the session's private server, dropped after the test.

    The server is asked for only here, so a run selecting only `[sqlite]` never
    starts it.
    """
    server = request.getfixturevalue("postgres")
    url = server.create_database()
    request.addfinalizer(lambda: server.drop_database(url))
    return url


# name -> a function giving a fresh, empty database URL for one test; the name is
# the test id (`test_x[sqlite]`, `test_x[postgresql]`).
BACKENDS: dict[str, Callable[[pytest.FixtureRequest], str]] = {
    "sqlite": _sqlite_url,
    "postgresql": _postgresql_url,
}


@pytest.fixture(params=sorted(BACKENDS))
def db_url(request: pytest.FixtureRequest) -> str:
    return BACKENDS[request.param](request)


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = open_database(db_url)
    yield database
    database.close()


def _make_task(name: str = "toy", direction: str = "maximize", **extra: object) -> Task:
    return Task(
        name=name,
        files=[ArtifactFile(name="main.py", seed="x = 1\n")],
        evaluate="toy.evaluate:evaluate",
        direction=direction,  # type: ignore[arg-type]
        source="tests",
        **extra,  # type: ignore[arg-type]
    )


@pytest.fixture
def make_task() -> Callable[..., Task]:
    """Build a small task; keyword arguments override Task fields."""
    return _make_task


@pytest.fixture
def task() -> Task:
    return _make_task(reference_score=10.0)


@pytest.fixture
def repo(db: Database) -> Repository:
    return Repository(db)


@pytest.fixture
def run_id(repo: Repository, task: Task) -> str:
    return repo.create_run(task, {"proposer": "mutate", "max_candidates": 100}, seed=7)
