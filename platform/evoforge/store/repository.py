"""The repository: the only place queries live.

The orchestrator, the CLI, export and the UI call one object, `Repository(database)`;
its methods are grouped by idea in `runs.py`, `candidates.py`, `outcomes.py`,
`lineage.py`, `proposals.py`, `spend.py`, `progress.py` and `splits.py`. Every method
is one short transaction, and one unit of work for `evoforge.store.retry`: while the
store is busy or unreachable the whole method runs again, in fresh transactions,
pausing the caller (`_units_of_work` wraps every public method, so a method added
later is covered without anyone remembering to).
Unknown run or candidate ids raise `StoreError` (whose message the CLI prints as it
is), except where a method says it returns None or an empty result.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

from evoforge.store.candidates import CandidateQueries
from evoforge.store.database import Database
from evoforge.store.lineage import LineageQueries
from evoforge.store.outcomes import OutcomeQueries
from evoforge.store.progress import ProgressQueries
from evoforge.store.proposals import ProposalQueries
from evoforge.store.runs import RunQueries
from evoforge.store.spend import SpendQueries
from evoforge.store.splits import SplitQueries

C = TypeVar("C", bound=type)


def _units_of_work(cls: C) -> C:
    """Make every public method of `cls` (its own and its mixins') retry as a whole.

    Wrapping here, once, instead of decorating each query keeps the retry in one
    place and means no method can forget it. A method calling another is retried
    only at the outermost call (see `Retrier.call`).
    """
    for name in dir(cls):
        member = inspect.getattr_static(cls, name)
        if not name.startswith("_") and inspect.isfunction(member):
            setattr(cls, name, _retried(name, member))
    return cls


def _retried(name: str, method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def unit_of_work(self: Repository, *args: Any, **kwargs: Any) -> Any:
        return self._db.retrying(name, lambda: method(self, *args, **kwargs))

    return unit_of_work


@_units_of_work
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
