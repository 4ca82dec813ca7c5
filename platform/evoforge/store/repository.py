"""The repository: the only place queries live.

The orchestrator, the CLI, export and the UI call one object, `Repository(database)`;
its methods are grouped by idea in `runs.py`, `candidates.py`, `outcomes.py`,
`lineage.py`, `proposals.py`, `spend.py`, `progress.py` and `splits.py`. Every method
is one short transaction.
Unknown run or candidate ids raise `StoreError` (whose message the CLI prints as it
is), except where a method says it returns None or an empty result.
"""

from __future__ import annotations

from evoforge.store.candidates import CandidateQueries
from evoforge.store.database import Database
from evoforge.store.lineage import LineageQueries
from evoforge.store.outcomes import OutcomeQueries
from evoforge.store.progress import ProgressQueries
from evoforge.store.proposals import ProposalQueries
from evoforge.store.runs import RunQueries
from evoforge.store.spend import SpendQueries
from evoforge.store.splits import SplitQueries


class Repository(
    RunQueries,
    CandidateQueries,
    OutcomeQueries,
    LineageQueries,
    ProposalQueries,
    SpendQueries,
    ProgressQueries,
    SplitQueries,
):
    """Runs, candidates, evaluations, lineage, proposals and proposer calls of one store."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def __repr__(self) -> str:
        return f"Repository({self._db!r})"
