"""Fixtures for the llm proposer's tests: the toy task and a store reader."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from support.llm_runs import write_toy_task

from evoforge.store.database import open_database
from evoforge.store.repository import Repository


@pytest.fixture
def toy_task(tmp_path: Path) -> Path:
    return write_toy_task(tmp_path)


@pytest.fixture
def store(db_url: str) -> Callable[[], Repository]:
    return lambda: Repository(open_database(db_url))
