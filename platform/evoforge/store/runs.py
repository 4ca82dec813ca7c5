"""Queries about runs (part of `Repository`): creating, status, best, summaries."""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from evoforge.store.candidates import NO_SYNC, evaluation_counts
from evoforge.store.errors import StoreError
from evoforge.store.models import RUN_STATUSES, Candidate, Evaluation, ProposerCall, Run, utcnow
from evoforge.store.portable import json_safe
from evoforge.store.rows import RunRecord, iso
from evoforge.task import Baseline, Task, strongest_baseline

if TYPE_CHECKING:
    from evoforge.store.database import Database

_ENDED = frozenset(RUN_STATUSES) - {"running"}


def new_run_id() -> str:
    """12 hex digits: short enough to type, unique enough for one store."""
    return secrets.token_hex(6)


class RunQueries:
    """Creating runs, recording how they end, and summarising them."""

    _db: Database

    def create_run(self, task: Task, config: dict[str, Any], seed: int | None = None) -> str:
        """Start a run, keeping a snapshot of the task so it can be shown or resumed
        without the plugin that defined it. Returns the new run id."""
        run_id = new_run_id()
        now = utcnow()
        with self._db.session() as session:
            session.add(
                Run(
                    id=run_id,
                    task_name=task.name,
                    task_source=task.source,
                    task_json=task.model_dump(mode="json"),
                    config_json=_plain_json(config),
                    direction=task.direction,
                    status="running",
                    stop_reason="",
                    seed=seed,
                    created_at=now,
                    updated_at=now,
                    candidate_count=0,
                    evaluation_count=0,
                )
            )
        return run_id

    def get_run(self, run_id: str) -> RunRecord:
        """The run with its task snapshot and options; `StoreError` if there is none."""
        with self._db.session() as session:
            run = _existing(session, run_id)
            return RunRecord(
                id=run.id,
                task_name=run.task_name,
                task_source=run.task_source,
                direction=run.direction,
                status=run.status,
                stop_reason=run.stop_reason,
                seed=run.seed,
                created_at=run.created_at,
                updated_at=run.updated_at,
                finished_at=run.finished_at,
                best_candidate_id=run.best_candidate_id,
                best_score=run.best_score,
                seed_score=run.seed_score,
                candidate_count=run.candidate_count,
                evaluation_count=run.evaluation_count,
                task_json=dict(run.task_json),
                config_json=dict(run.config_json),
            )

    def resolve_run_id(self, ref: str) -> str:
        """A full run id from what a user typed: the id, a unique prefix, or `latest`."""
        with self._db.session() as session:
            if ref == "latest":
                query = select(Run.id).order_by(Run.created_at.desc(), Run.id).limit(1)
            else:
                query = select(Run.id).where(Run.id.startswith(ref, autoescape=True)).limit(2)
            found = session.scalars(query).all()
        if len(found) == 1:
            return found[0]
        if not found:
            raise StoreError(f"no run matches {ref!r}; `evoforge runs` lists the runs")
        raise StoreError(f"{ref!r} matches several runs; type more of the id")

    def list_runs(
        self, limit: int | None = None, task_name: str | None = None
    ) -> list[dict[str, Any]]:
        """Summaries (as `run_summary`) of the runs, newest first, in four queries."""
        query = select(Run).order_by(Run.created_at.desc(), Run.id)
        if task_name is not None:
            query = query.where(Run.task_name == task_name)
        if limit is not None:
            query = query.limit(limit)
        with self._db.session() as session:
            return _summaries(session, list(session.scalars(query)))

    def run_summary(self, run_id: str) -> dict[str, Any]:
        """The JSON-safe summary `evoforge show --json` prints. Keys are stable:

        - ``run_id`` (str), ``task`` (task name), ``task_source`` (str)
        - ``status``: running | finished | failed | interrupted; ``stop_reason`` (str)
        - ``seed``: the run's random seed (int or null)
        - ``direction``: maximize | minimize; ``metric``: the primary metric's name
        - ``objective``: which of the task's objectives the run is judged by (or null);
          ``objective_note``: what that objective means, e.g. that nothing was timed
        - ``candidates``: candidates created; ``pending``: created but not evaluated
        - ``evaluations``: counts ``{"ok", "invalid", "failed", "timeout", "crashed",
          "total"}``
        - ``seed_score``, ``best_score``: floats or null (only ``ok`` evaluations count);
          ``best_candidate_id``: str or null
        - ``reference_score``: the task's human state of the art (float or null)
        - ``trained_on``: ``own`` (the task's instances) or the public protocol the
          search was judged on (``public``, ``public:multi_region``), so every training
          score is that protocol's score
        - ``strongest_baseline``, ``strongest_baseline_score``: the name and training
          score of the task's best documented baseline (null when it documents none),
          which may beat ``reference_score`` by far (model_placement: 2.14 vs 1)
        - ``budget``: the run's limits ``{"max_evaluations", "max_wall_s",
          "target_score", "patience", "max_cost_usd"}``, each null when unlimited
        - ``created_at``, ``updated_at``, ``finished_at``: ISO 8601 UTC or null
        - ``duration_s``: from creation to finish (or to the last write, while running
          or if the run died without recording its end)
        - ``spend_usd``: sum of proposer-call costs; ``proposer_calls``: their number;
          ``tokens_in``, ``tokens_out``: token totals
        - ``isolation``: evaluations per sandbox ``{name: count}``
        - ``failures``: evaluations that were not ``ok``, grouped by status and reason, so
          a failed run says why without opening the store: a list of
          ``{"status", "reason", "count"}``, most frequent first, at most
          ``FAILURE_GROUPS`` groups; ``reason`` is the first line of the stored reason
          (tracebacks differ further down by addresses) cut to ``FAILURE_REASON_CHARS``
        """
        with self._db.session() as session:
            return _summaries(session, [_existing(session, run_id)])[0]

    def set_run_status(self, run_id: str, status: str, stop_reason: str | None = "") -> None:
        """Record how a run ended (or that it runs again, on resume).

        An ended status stamps `finished_at`; `running` clears it.
        """
        if status not in RUN_STATUSES:
            raise ValueError(f"run status {status!r} is not one of {', '.join(RUN_STATUSES)}")
        now = utcnow()
        self._update_run(
            run_id,
            status=status,
            stop_reason=stop_reason or "",
            finished_at=now if status in _ENDED else None,
            updated_at=now,
        )

    def spend_usd(self, run_id: str) -> float:
        """Dollars spent on proposer calls so far, for the budget of a resumed run."""
        with self._db.session() as session:
            total = session.scalar(
                select(func.coalesce(func.sum(ProposerCall.cost_usd), 0.0)).where(
                    ProposerCall.run_id == run_id
                )
            )
        return float(total or 0.0)

    def _update_run(self, run_id: str, **values: Any) -> None:
        with self._db.session() as session:
            result = session.execute(
                update(Run).where(Run.id == run_id).values(**values).execution_options(**NO_SYNC)
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                raise StoreError(f"no run {run_id!r}; `evoforge runs` lists the runs")


def _trained_on(stored: Any) -> str:
    """`own`, or the public protocol searched on (`public`, `public:multi_region`);
    runs stored before named protocols kept a plain true for `public`."""
    if stored is True:
        return "public"
    return stored if isinstance(stored, str) and stored else "own"


def _existing(session: Session, run_id: str) -> Run:
    run = session.get(Run, run_id)
    if run is None:
        raise StoreError(f"no run {run_id!r}; `evoforge runs` lists the runs")
    return run


def _summaries(session: Session, runs: Sequence[Run]) -> list[dict[str, Any]]:
    """Summaries of several runs with one grouped query per table, not per run."""
    ids = [run.id for run in runs]
    if not ids:
        return []
    evaluations = evaluation_counts(session, ids)
    pending = dict(
        session.execute(
            select(Candidate.run_id, func.count())
            .where(Candidate.run_id.in_(ids), Candidate.status == "pending")
            .group_by(Candidate.run_id)
        ).all()
    )
    calls = {
        run_id: (count, spend, tokens_in, tokens_out)
        for run_id, count, spend, tokens_in, tokens_out in session.execute(
            select(
                ProposerCall.run_id,
                func.count(),
                func.sum(ProposerCall.cost_usd),
                func.sum(ProposerCall.tokens_in),
                func.sum(ProposerCall.tokens_out),
            )
            .where(ProposerCall.run_id.in_(ids))
            .group_by(ProposerCall.run_id)
        )
    }
    failures = _failures(session, ids)
    isolation: dict[str, dict[str, int]] = {run_id: {} for run_id in ids}
    for run_id, sandbox, number in session.execute(
        select(Evaluation.run_id, Evaluation.sandbox, func.count())
        .where(Evaluation.run_id.in_(ids))
        .group_by(Evaluation.run_id, Evaluation.sandbox)
    ):
        isolation[run_id][sandbox or "unknown"] = int(number)
    summaries = []
    for run in runs:
        count, spend, tokens_in, tokens_out = calls.get(run.id, (0, 0.0, 0, 0))
        baselines = [Baseline.model_validate(b) for b in run.task_json.get("baselines") or []]
        strongest = strongest_baseline(baselines, run.direction)
        ended = run.finished_at or run.updated_at
        summaries.append(
            {
                "run_id": run.id,
                "task": run.task_name,
                "task_source": run.task_source,
                "status": run.status,
                "stop_reason": run.stop_reason,
                "seed": run.seed,
                "direction": run.direction,
                "metric": run.task_json.get("metric", "score"),
                "objective": run.task_json.get("objective_name"),
                "objective_note": _objective_note(run.task_json),
                "candidates": run.candidate_count,
                "pending": int(pending.get(run.id, 0)),
                "evaluations": evaluations[run.id],
                "seed_score": run.seed_score,
                "best_score": run.best_score,
                "best_candidate_id": run.best_candidate_id,
                "reference_score": run.task_json.get("reference_score"),
                "trained_on": _trained_on(run.task_json.get("trained_on_public")),
                "strongest_baseline": strongest.name if strongest else None,
                "strongest_baseline_score": strongest.scores["train"] if strongest else None,
                "budget": _budget(run.config_json),
                "created_at": iso(run.created_at),
                "updated_at": iso(run.updated_at),
                "finished_at": iso(run.finished_at),
                "duration_s": round((ended - run.created_at).total_seconds(), 3),
                "spend_usd": float(spend or 0.0),
                "proposer_calls": int(count),
                "tokens_in": int(tokens_in or 0),
                "tokens_out": int(tokens_out or 0),
                "isolation": isolation[run.id],
                "failures": failures[run.id],
            }
        )
    return summaries


FAILURE_GROUPS = 10
FAILURE_REASON_CHARS = 200


def failure_reason(reason: str) -> str:
    """The part of a stored reason that names the failure: its first non-blank line, cut
    short. Later lines (tracebacks, addresses, timings) vary between candidates that
    failed the same way, so grouping on them would split one cause into many."""
    line = next((text.strip() for text in reason.splitlines() if text.strip()), "")
    if len(line) > FAILURE_REASON_CHARS:
        return line[: FAILURE_REASON_CHARS - 1] + "…"
    return line or "(no reason recorded)"


def _failures(session: Session, ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Not-ok evaluations per run grouped by status and reason, in one grouped query.

    SQL groups on the whole reason; the groups are then merged on `failure_reason`, which
    no SQL dialect computes portably. The distinct reasons of a run are few next to its
    evaluations (one per cause, plus variants of a traceback)."""
    merged: dict[str, dict[tuple[str, str], int]] = {run_id: {} for run_id in ids}
    for run_id, status, reason, number in session.execute(
        select(Evaluation.run_id, Evaluation.status, Evaluation.reason, func.count())
        .where(Evaluation.run_id.in_(ids), Evaluation.status != "ok")
        .group_by(Evaluation.run_id, Evaluation.status, Evaluation.reason)
    ):
        key = (str(status), failure_reason(reason or ""))
        merged[run_id][key] = merged[run_id].get(key, 0) + int(number)
    return {
        run_id: [
            {"status": status, "reason": reason, "count": count}
            for (status, reason), count in sorted(
                groups.items(), key=lambda item: (-item[1], item[0])
            )[:FAILURE_GROUPS]
        ]
        for run_id, groups in merged.items()
    }


def _plain_json(config: dict[str, Any]) -> dict[str, Any]:
    """Run options as plain JSON: paths and other objects are kept as their text."""
    return json_safe(json.loads(json.dumps(config, default=str)))


def _objective_note(task_json: dict[str, Any]) -> str:
    name = task_json.get("objective_name")
    if not name:
        return ""
    return str(((task_json.get("objectives") or {}).get(name) or {}).get("note", ""))


BUDGET_KEYS = ("max_evaluations", "max_wall_s", "target_score", "patience", "max_cost_usd")


def _budget(config: dict[str, Any]) -> dict[str, Any]:
    stored = config.get("budget") or {}
    return {key: stored.get(key) for key in BUDGET_KEYS}
