"""The `evoforge` command. Each command parses, calls one library function, renders."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from evoforge.cli.errors import err_console, guard
from evoforge.cli.kernels import kernels_app
from evoforge.cli.sandbox import sandbox_app
from evoforge.cli.ui import ui
from evoforge.cli.worker import worker
from evoforge.config import (
    OPENEVOLVE_KEY,
    build_config,
    gpu_option,
    layer_task_defaults,
    load_config_file,
    model_proposer_options,
    parse_assignments,
)

app = typer.Typer(
    help="Evolve programs, policies, prompts and kernels with sandboxed evaluation.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(sandbox_app, name="sandbox")
app.add_typer(kernels_app, name="kernels")
app.command("worker")(worker)
app.command("ui")(ui)
console = Console()


DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        envvar="EVOFORGE_DB",
        help="SQLAlchemy URL of the store (default: sqlite in ./.evoforge/)",
    ),
]
GpusOption = Annotated[
    str | None,
    typer.Option(
        "--gpus",
        help="GPU ids for GPU tasks, one evaluation per GPU at a time, e.g. 0,1; "
        '"" or none for no GPUs (default: CUDA_VISIBLE_DEVICES, else nvidia-smi)',
    ),
]


def _program() -> str:
    """How the user invoked us (e.g. `.venv/bin/evoforge`), so printed hints work as typed."""
    invoked = sys.argv[0] if sys.argv else ""
    return invoked if Path(invoked).name == "evoforge" else "evoforge"


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


@app.command()
def tasks(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List the registered tasks."""
    from evoforge.cli.render import tasks_table
    from evoforge.plugin_manager import registry

    found = guard(lambda: registry().tasks())
    if as_json:
        _print_json({name: task.model_dump(exclude={"files"}) for name, task in found.items()})
    else:
        console.print(tasks_table(found))


@app.command()
def plugins() -> None:
    """List loaded plugins and what each registered."""
    from rich.table import Table

    from evoforge.plugin_manager import registry

    reg = guard(registry)
    table = Table(title="plugins")
    for column in ("plugin", "module", "distribution"):
        table.add_column(column)
    for plugin in reg.plugins:
        table.add_row(plugin.name, plugin.source, plugin.distribution)
    console.print(table)
    for kind in ("tasks", "proposers", "strategies", "sandboxes", "executors"):
        names = ", ".join(sorted(guard(getattr(reg, kind)))) or "-"
        console.print(f"[bold]{kind}:[/] {names}")


@app.command()
def run(
    task: Annotated[str, typer.Argument(help="registered task name or task folder")],
    max_evaluations: Annotated[int | None, typer.Option(help="evaluation budget")] = None,
    seed: Annotated[
        int | None, typer.Option(help="random seed (reproducible with -E 1 -P 1)")
    ] = None,
    eval_timeout: Annotated[float | None, typer.Option(help="seconds per evaluation")] = None,
    max_time: Annotated[float | None, typer.Option(help="wall-time budget in seconds")] = None,
    target: Annotated[
        float | None, typer.Option(help="stop when the best score reaches this")
    ] = None,
    patience: Annotated[
        int | None, typer.Option(help="stop after N evaluations without gain")
    ] = None,
    strategy: Annotated[
        str | None, typer.Option(help="islands | greedy | best-of-n | pareto")
    ] = None,
    proposer: Annotated[str | None, typer.Option(help="proposer plugin (default: mutate)")] = None,
    sandbox: Annotated[str | None, typer.Option(help="sandbox plugin (default: process)")] = None,
    executor: Annotated[str | None, typer.Option(help="executor plugin (default: local)")] = None,
    evaluations: Annotated[
        int | None, typer.Option("--evaluation-slots", "-E", help="evaluations in flight")
    ] = None,
    proposals: Annotated[
        int | None,
        typer.Option(
            "--proposal-slots",
            "-P",
            help="proposals in flight (default: auto, from measured model latency)",
        ),
    ] = None,
    model: Annotated[
        list[str] | None,
        typer.Option(
            "--model",
            help="litellm model string, optionally MODEL=WEIGHT; repeat for an ensemble "
            "(selects the llm proposer)",
        ),
    ] = None,
    api_base: Annotated[
        str | None, typer.Option(help="OpenAI-compatible server URL for the models")
    ] = None,
    mode_weights: Annotated[
        str | None, typer.Option(help="llm edit modes, e.g. diff=0.6,full=0.3,crossover=0.1")
    ] = None,
    temperature: Annotated[float | None, typer.Option(help="llm sampling temperature")] = None,
    max_cost: Annotated[
        float | None, typer.Option(help="stop when model calls have cost this many USD")
    ] = None,
    objective: Annotated[
        str | None,
        typer.Option(help="which of the task's objectives to judge by, e.g. correctness"),
    ] = None,
    task_env: Annotated[
        list[str] | None,
        typer.Option(
            "--task-env",
            help="NAME=VALUE for the task's evaluator, e.g. the model a prompt task calls; "
            "repeatable",
        ),
    ] = None,
    select_on: Annotated[
        str | None,
        typer.Option(help="train | validation: which score picks the exported best"),
    ] = None,
    gpus: GpusOption = None,
    broker: Annotated[
        str | None,
        typer.Option(
            help="Redis URL of the Celery broker; selects the celery executor "
            "(default: $EVOFORGE_BROKER)"
        ),
    ] = None,
    keep_going: Annotated[
        bool,
        typer.Option(
            "--keep-going",
            help="search on even when the seed fails in a way no proposal can fix",
        ),
    ] = False,
    config: Annotated[
        Path | None,
        typer.Option(help="run config file (TOML or YAML; an OpenEvolve config.yaml too)"),
    ] = None,
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the summary as JSON")] = False,
) -> None:
    """Start an evolution run on a task or a task folder."""
    from evoforge.api import create_run, resolve_task, settings_notes
    from evoforge.store.database import open_database

    overrides = {
        "max_evaluations": max_evaluations,
        "seed": seed,
        "eval_timeout_s": eval_timeout,
        "max_wall_s": max_time,
        "target_score": target,
        "patience": patience,
        "max_cost_usd": max_cost,
        "strategy": strategy,
        "proposer": proposer,
        "sandbox": sandbox,
        "executor": executor,
        "evaluation_slots": evaluations,
        "proposal_slots": proposals,
        "gpus": guard(lambda: gpu_option(gpus)),
        "broker": broker,
        "objective": objective,
        "task_env": guard(lambda: parse_assignments(task_env, "--task-env")),
        "select_on": select_on,
        "keep_going": keep_going or None,
    }
    from_file = guard(lambda: load_config_file(config)) if config else {}
    # An OpenEvolve --config stands in for the folder's own config.yaml, as there.
    openevolve = config if OPENEVOLVE_KEY in from_file else None
    resolved = guard(lambda: resolve_task(task, openevolve))
    chosen = proposer or ("llm" if model else None)
    layered = layer_task_defaults(resolved.run_defaults, from_file, chosen)
    base = guard(
        lambda: model_proposer_options(
            layered,
            proposer=proposer,
            models=model,
            api_base=api_base,
            mode_weights=mode_weights,
            temperature=temperature,
        )
    )
    run_config = guard(lambda: build_config(base, overrides))
    for note in settings_notes(resolved, run_config.proposer):
        err_console.print(note, highlight=False)
    database = guard(lambda: open_database(db))
    run_id = guard(lambda: create_run(resolved, run_config, database))
    if not as_json:
        console.print(f"run [bold]{run_id}[/] on task [bold]{resolved.name}[/]")
        _print_objective(database, run_id)
    _execute(database, run_id, run_config.budget.max_evaluations, resolved.direction, as_json)


def _print_objective(database: Any, run_id: str) -> None:
    """Say which objective was chosen, and what it leaves out (kernel tasks without a
    GPU: that nothing is timed), before the first evaluation."""
    from evoforge.store.repository import Repository

    summary = Repository(database).run_summary(run_id)
    if summary.get("objective"):
        note = summary.get("objective_note")
        console.print(
            f"objective [bold]{summary['objective']}[/]" + (f": {note}" if note else ""),
            highlight=False,
        )


def _execute(
    database: Any,
    run_id: str,
    total: int | None,
    direction: str,
    as_json: bool,
    executor_options: dict[str, Any] | None = None,
) -> None:
    from evoforge.api import execute_run
    from evoforge.cli.progress import ProgressDisplay
    from evoforge.cli.render import show_summary
    from evoforge.plugin_manager import register_plugin, unregister_plugin

    display = ProgressDisplay(err_console if as_json else console, total, direction)
    register_plugin(display, name="cli-progress")
    try:
        with display:
            outcome = guard(lambda: execute_run(database, run_id, executor_options))
    except KeyboardInterrupt:
        err_console.print(f"interrupted; continue with: {_program()} resume {run_id}")
        raise typer.Exit(130) from None
    finally:
        unregister_plugin(display)
    if as_json:
        _print_json(outcome.summary)
        return
    show_summary(console, outcome.summary)
    program = _program()
    console.print(f"inspect: {program} show {run_id}", highlight=False, soft_wrap=True)
    console.print(
        f"export:  {program} export {run_id} --out best/", highlight=False, soft_wrap=True
    )
    console.print(f"browse:  {program} ui", highlight=False, soft_wrap=True)


@app.command()
def resume(
    run_id: Annotated[str, typer.Argument(help="the run to continue")],
    gpus: GpusOption = None,
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Continue a run that was interrupted or killed (--gpus: this session's GPUs)."""
    from evoforge.api import check_run
    from evoforge.store.database import open_database
    from evoforge.store.repository import Repository

    gpu_ids = guard(lambda: gpu_option(gpus))
    database = guard(lambda: open_database(db))
    run_row = guard(lambda: Repository(database).get_run(run_id))
    if run_row.status == "finished":
        err_console.print(
            f"run {run_id} already finished ({run_row.stop_reason}); nothing to resume"
        )
        show(run_id, db, as_json)
        return
    total = (run_row.config_json.get("budget") or {}).get("max_evaluations")
    direction = run_row.task_json.get("direction", "maximize")
    executor_options = None if gpu_ids is None else {"gpus": gpu_ids}
    guard(lambda: check_run(database, run_id, executor_options))
    _execute(database, run_id, total, direction, as_json, executor_options)


@app.command()
def runs(db: DbOption = None, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List runs in the store."""
    from evoforge.cli.render import runs_table
    from evoforge.store.database import open_database
    from evoforge.store.repository import Repository

    database = guard(lambda: open_database(db))
    summaries = guard(lambda: Repository(database).list_runs())
    if as_json:
        _print_json(summaries)
    else:
        console.print(runs_table(summaries))


@app.command()
def show(
    run_id: Annotated[str, typer.Argument(help="the run to show")],
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Show a run: status, evaluations by status, scores, proposals and spend per model."""
    from evoforge.cli.render import generalization_table, show_summary, spend_table, top_table
    from evoforge.store.database import open_database
    from evoforge.store.repository import Repository

    database = guard(lambda: open_database(db))
    repo = Repository(database)
    summary = guard(lambda: repo.run_summary(run_id))
    spend = repo.spend_report(run_id)
    generalization = repo.generalization(run_id)
    if as_json:
        _print_json({**summary, "spend": spend, "generalization": generalization})
        return
    show_summary(console, summary)
    if spend["proposals"]["total"] or spend["calls"]:
        console.print(spend_table(spend))
    if generalization["rows"] or generalization["baselines"]:
        console.print(generalization_table(generalization))
    best = repo.top_candidates(run_id, 5)
    if best:
        console.print(top_table(best))


@app.command()
def export(
    run_id: Annotated[str, typer.Argument(help="the run to export")],
    out: Annotated[Path, typer.Option("--out", help="folder to write")] = Path("evoforge-export"),
    top: Annotated[int, typer.Option("--top", help="export the K best candidates")] = 1,
    select_on: Annotated[
        str | None,
        typer.Option(help="train | validation: which score ranks first (default: the run's)"),
    ] = None,
    db: DbOption = None,
) -> None:
    """Write the best (or top K) artifacts as files, plus metrics and lineage JSON."""
    from evoforge.export import export_run
    from evoforge.store.database import open_database

    database = guard(lambda: open_database(db))
    metadata = guard(lambda: export_run(database, run_id, out, top, select_on))
    for entry in metadata["candidates"]:
        flagged = f"  FLAGGED for review: {', '.join(entry['flags'])}" if entry["flags"] else ""
        console.print(
            f"#{entry['rank']} {entry['candidate_id']} score {entry['score']} "
            f"-> {out / entry['folder']}{flagged}"
        )
    console.print(f"metadata: {out / 'metadata.json'}  lineage: {out / 'lineage.json'}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
