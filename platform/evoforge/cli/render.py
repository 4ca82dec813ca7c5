"""Rich renderings of store summaries; the CLI commands stay thin."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from evoforge.jobs import EVALUATION_STATUSES
from evoforge.proposals import PROPOSAL_STATUSES
from evoforge.run_text import failure_lines
from evoforge.task import strongest_baseline


def _score(value: float | None) -> str:
    return "-" if value is None else f"{value:.6g}"


def runs_table(runs: list[dict[str, Any]]) -> Table:
    table = Table(title="runs")
    table.add_column("run", no_wrap=True, min_width=12)
    table.add_column("task", overflow="fold")
    table.add_column("status", no_wrap=True)
    table.add_column("evals", justify="right", no_wrap=True)
    table.add_column("seed", justify="right", no_wrap=True)
    table.add_column("best", justify="right", no_wrap=True)
    table.add_column("started", no_wrap=True)
    for run in runs:
        table.add_row(
            run["run_id"],
            run["task"],
            run["status"],
            str(run["evaluations"]["total"]),
            _score(run.get("seed_score")),
            _score(run.get("best_score")),
            str(run.get("created_at", ""))[5:16].replace("T", " "),
        )
    return table


def tasks_table(tasks: dict[str, Any]) -> Table:
    table = Table(title="tasks")
    for column in ("name", "direction", "reference", "strongest baseline", "description"):
        table.add_column(column)
    for name, task in sorted(tasks.items()):
        strongest = strongest_baseline(task.baselines, task.direction)
        table.add_row(
            name,
            task.direction,
            _score(task.reference_score),
            f"{strongest.name} {_score(strongest.scores['train'])}" if strongest else "-",
            task.description,
        )
    return table


def top_table(candidates: list[Any]) -> Table:
    table = Table(title="best candidates")
    for column in ("candidate", "score", "generation", "island", "parent"):
        table.add_column(column, no_wrap=True)
    for candidate in candidates:
        table.add_row(
            candidate.id,
            _score(candidate.score),
            str(candidate.generation),
            str(candidate.island),
            candidate.parent_id or "-",
        )
    return table


def generalization_table(report: dict[str, Any]) -> Table:
    """Train, validation and test side by side: a gap between them is overfitting."""
    splits = report["splits"]
    table = Table(title=f"generalization (export selects on {report['select_on']})")
    table.add_column("candidate", no_wrap=True)
    table.add_column("role")
    for split in splits:
        table.add_column(split, justify="right", no_wrap=True)
    for row in report["rows"]:
        table.add_row(
            row["candidate_id"], ", ".join(row["roles"]), *(_score(row[s]) for s in splits)
        )
    for baseline in report["baselines"]:
        table.add_row(
            f"baseline {baseline['name']}",
            "documented",
            *(_score(baseline.get(s)) for s in splits),
        )
    return table


def public_lines(report: dict[str, Any]) -> list[str]:
    """The public protocol's own figures per candidate (its cost, makespan, pressure),
    which the public score alone does not show: what a published table reports."""
    lines = []
    for row in report["rows"]:
        figures = ", ".join(
            f"{name} {_score(value) if isinstance(value, float) else value}"
            for name, value in sorted(row.get("public_metrics", {}).items())
            if isinstance(value, int | float) and not isinstance(value, bool)
        )
        if figures:
            lines.append(f"{row['candidate_id']} ({', '.join(row['roles'])}): {figures}")
    return lines


def _usd(value: float | None) -> str:
    return "-" if value is None else f"${value:.4f}"


def proposals_line(report: dict[str, Any]) -> str:
    """Proposals by outcome, e.g. "proposals: accepted 2, duplicate 0, …": all an offline
    run has to say about its proposer, since it made no model calls and spent nothing."""
    counts = report["proposals"]
    return "proposals: " + ", ".join(f"{k} {counts.get(k, 0)}" for k in PROPOSAL_STATUSES)


def rejection_lines(report: dict[str, Any], groups: list[dict[str, Any]]) -> list[str]:
    """The commonest reasons a model answer made no candidate, e.g. "8 rejected: the
    diff's SEARCH text is not in the parent": calls that were paid for but produced
    nothing show up nowhere else in a run's numbers."""
    counts = report["proposals"]
    lost = sum(counts.get(status, 0) for status in ("rejected", "failed"))
    if not lost:
        return []
    shown = sum(group["count"] for group in groups)
    lines = [f"{g['count']} {g['status']}: {g['reason'] or '(no reason given)'}" for g in groups]
    if lost > shown:
        lines.append(f"{lost - shown} more, in smaller groups of other reasons")
    return [f"{lost} of {counts.get('total', 0)} proposals made no candidate:", *lines]


def spend_table(report: dict[str, Any]) -> Table:
    """Proposals by outcome, then calls, tokens and dollars per model."""
    table = Table(
        title="proposals and spend",
        caption=(
            f"{proposals_line(report)}; {report['improvements']} improvement(s), "
            f"{_usd(report['cost_per_improvement'])} per improvement"
        ),
    )
    for column in ("model", "calls", "errors", "tokens in", "tokens out", "cost", "children",
                   "improvements", "$/improvement"):  # fmt: skip
        table.add_column(column, justify="left" if column == "model" else "right")
    rows = [*report["models"], {"model": "total", **report, "cost_usd": report["spend_usd"]}]
    for row in rows:
        table.add_row(
            row["model"],
            str(row["calls"]),
            str(row["errors"]),
            str(row["tokens_in"]),
            str(row["tokens_out"]),
            _usd(row["cost_usd"]),
            str(row.get("children", "")),
            str(row["improvements"]),
            _usd(row["cost_per_improvement"]),
        )
    return table


def _objective_rows(summary: dict[str, Any]) -> list[tuple[str, str]]:
    if not summary.get("objective"):
        return []
    note = summary.get("objective_note")
    return [("objective", f"{summary['objective']}" + (f" ({note})" if note else ""))]


def _trained_rows(summary: dict[str, Any]) -> list[tuple[str, str]]:
    """Which public protocol the search was judged on: every score is then its score."""
    trained = summary.get("trained_on", "own")
    return [] if trained == "own" else [("trained on", f"the {trained} protocol")]


def _baseline_rows(summary: dict[str, Any]) -> list[tuple[str, str]]:
    """The strongest documented baseline, when it is not the reference itself: where the
    reference is the weakest baseline, a best score above it says little on its own."""
    score = summary.get("strongest_baseline_score")
    if score is None or score == summary.get("reference_score"):
        return []
    return [("strongest baseline", f"{_score(score)} ({summary['strongest_baseline']})")]


def show_summary(console: Console, summary: dict[str, Any]) -> None:
    table = Table(show_header=False, title=f"run {summary['run_id']}")
    table.add_column(style="bold")
    table.add_column()
    counts = summary["evaluations"]
    by_status = ", ".join(f"{s} {counts.get(s, 0)}" for s in EVALUATION_STATUSES)
    rows = [
        ("task", summary["task"]),
        *_objective_rows(summary),
        *_trained_rows(summary),
        ("status", f"{summary['status']} ({summary.get('stop_reason') or '-'})"),
        ("evaluations", f"{counts['total']}  ({by_status})"),
        ("seed score", _score(summary.get("seed_score"))),
        ("best score", _score(summary.get("best_score"))),
        ("best candidate", summary.get("best_candidate_id") or "-"),
        ("reference", _score(summary.get("reference_score"))),
        *_baseline_rows(summary),
        ("duration", f"{summary.get('duration_s') or 0:.1f} s"),
    ]
    if summary.get("isolation"):
        rows.append(
            (
                "isolation",
                ", ".join(f"{name} ×{n}" for name, n in sorted(summary["isolation"].items())),
            )
        )
    if summary.get("proposer_calls"):
        rows.append(
            (
                "spend",
                f"{_usd(summary.get('spend_usd'))} over {summary['proposer_calls']} model "
                f"call(s), {summary.get('tokens_in', 0)} tokens in, "
                f"{summary.get('tokens_out', 0)} out",
            )
        )
    for key, value in rows:
        table.add_row(key, str(value))
    console.print(table)
    failures = failure_lines(summary)
    if failures:
        # Plain lines, not table cells: a reason is never cut, and its brackets are not markup.
        console.print("failures:", style="bold")
        for line in failures:
            console.print(f"  {line}", markup=False, highlight=False, soft_wrap=True)
