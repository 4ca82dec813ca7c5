"""`evoforge kernels ...`: reports over runs of the Triton kernel tasks."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.table import Table

from evoforge.cli.errors import guard, refuse_absent_store
from evoforge.cli.output import stdout_console

kernels_app = typer.Typer(help="Reports over Triton kernel runs.", no_args_is_help=True)
console = stdout_console()


@kernels_app.command("report")
def report(
    run_ids: Annotated[list[str], typer.Argument(help="the runs of the suite, one per task")],
    baseline: Annotated[str, typer.Option(help="eager | compile")] = "eager",
    db: Annotated[
        str | None, typer.Option("--db", envvar="EVOFORGE_DB", help="SQLAlchemy URL of the store")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """fast_p (correct and faster than the baseline by p) and the geometric-mean speedup."""
    from evoforge.kernels.report import suite_report
    from evoforge.store.database import open_database

    refuse_absent_store(db, ", ".join(run_ids))
    database = guard(lambda: open_database(db))
    result = guard(lambda: suite_report(database, run_ids, baseline))
    if as_json:
        sys.stdout.write(json.dumps(result.as_json(), indent=2) + "\n")
        return
    table = Table(title=f"kernel runs against PyTorch {baseline}")
    for column in ("run", "task", "objective", "correct", f"speedup vs {baseline}"):
        table.add_column(column)
    for line in result.runs:
        speed = "not timed" if not line.timed else f"{line.speedup:.3f}x" if line.speedup else "-"
        if line.flagged:
            speed += " FLAGGED"
        table.add_row(
            line.run_id, line.task, line.objective or "-", "yes" if line.correct else "no", speed
        )
    console.print(table)
    shares = "  ".join(f"{name} {value:.0%}" for name, value in result.fast_p.items())
    console.print(shares, highlight=False)
    geomean = f"{result.geomean_speedup:.3f}x" if result.geomean_speedup else "-"
    console.print(f"geometric-mean speedup (correct, timed runs): {geomean}", highlight=False)
    if result.untimed:
        console.print(
            f"{result.untimed} correct run(s) measured no time (no GPU: correctness objective); "
            "they count for fast_0 only",
            highlight=False,
        )
