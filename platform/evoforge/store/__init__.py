"""The store: every run, candidate, lineage edge, evaluation, proposal and proposer
call, in SQL.

Open it with `open_database(url)` (None: `./.evoforge/evoforge.db`) and query it only
through `Repository`::

    database = open_database(None)
    repo = Repository(database)
    run_id = repo.create_run(task, config, seed=0)
    seed = repo.add_candidate(run_id, task.seed_files(), kind="seed", proposer="seed")
    repo.record_evaluation(seed.id, outcome)
    child = repo.add_candidate(run_id, proposal.files, parent_id=seed.id, proposer="llm")
    repo.record_proposal(
        run_id, seq=1, parent_id=seed.id, candidate_id=child.id if child else None,
        proposer="llm", kind=proposal.kind, status="accepted" if child else "duplicate",
        reason="", calls=proposal.calls,
    )
"""

from __future__ import annotations

from evoforge.store.database import (
    Database,
    default_database_path,
    open_database,
    open_read_only,
)
from evoforge.store.errors import NoDatabase, StoreError, StoreUnavailable
from evoforge.store.models import CANDIDATE_KINDS, EDGE_KINDS, RUN_STATUSES
from evoforge.store.repository import Repository
from evoforge.store.rows import EdgeRow, RunRecord

__all__ = [
    "CANDIDATE_KINDS",
    "EDGE_KINDS",
    "RUN_STATUSES",
    "Database",
    "EdgeRow",
    "NoDatabase",
    "Repository",
    "RunRecord",
    "StoreError",
    "StoreUnavailable",
    "default_database_path",
    "open_database",
    "open_read_only",
]
