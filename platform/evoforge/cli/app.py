"""The `evoforge` command. Each command parses, calls one library function, renders."""

from __future__ import annotations

import json
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer

from evoforge.cli.errors import err_console, fail, guard, refuse_absent_store
from evoforge.cli.flag_help import show_flags_without_a_type
from evoforge.cli.kernels import kernels_app
from evoforge.cli.output import stdout_console
from evoforge.cli.sandbox import sandbox_app
from evoforge.cli.ui import ui
from evoforge.cli.worker import worker

show_flags_without_a_type()
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
console = stdout_console()
T = TypeVar("T")


DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        envvar="EVOFORGE_DB",
        help="SQLAlchemy URL of the store (default: sqlite in ./.evoforge/)",
    ),
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="print JSON for scripts (tables are for reading)")
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


def _db_flag(db: str | None) -> str:
    """` --db URL` for a printed command, so it reads the store this run wrote; empty for
    the default store. A relative SQLite path is made absolute (the hint may be pasted
    from another folder) and the URL is shell-quoted."""
    if db is None:
        return ""
    prefix = "sqlite:///"
    path = db[len(prefix) :]
    if db.startswith(prefix) and path and not path.startswith(("/", ":memory:")):
        db = prefix + str(Path(path).absolute())
    return f" --db {shlex.quote(db)}"


def _guard_store(call: Callable[[], T], db: str | None) -> T:
    """`guard` for a command given a run id: the store's "`evoforge runs` lists the
    runs" hint becomes the command as this user runs it, with the same `--db`, so it
    works when pasted."""
    from evoforge.store.errors import StoreError

    def attempt() -> T:
        try:
            return call()
        except StoreError as exc:
            fail(str(exc).replace("`evoforge runs`", f"`{_program()} runs{_db_flag(db)}`"))

    return guard(attempt)  # every other user-facing error still prints as one line


NO_OK_EXIT = 1
"""`run` and `resume` exit with this when the run ended with no `ok` evaluation: scripts
and CI see a run that achieved nothing as failed (the failures were printed by reason)."""


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


@app.command()
def tasks(as_json: JsonOption = False) -> None:
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


_started: dict[str, Any] = {}
"""What the `run` or `resume` in progress has stored: its `database` and `run_id` once
known, so the Ctrl-C handler can say what is stored (one command runs per process)."""


_BEFORE_THE_RUN = {
    "run": "interrupted before the run started; nothing was stored",
    "resume": "interrupted before the run resumed; nothing was changed",
}


def _option_value(text: str) -> Any:
    """`true`/`false` as booleans and whole numbers as ints, as a config file gives them."""
    lowered = text.strip().lower()
    if lowered in ("true", "yes", "on"):
        return True
    if lowered in ("false", "no", "off"):
        return False
    return int(lowered) if lowered.lstrip("-").isdigit() else text


def _stops_on_ctrl_c(command: Callable[..., None]) -> Callable[..., None]:
    """Ctrl-C anywhere in `run`/`resume`, before or after the run's row exists, ends in
    one line saying what is stored and how to go on, and exit 130: never a traceback,
    never a run left `running` with no process behind it."""
    from functools import wraps

    from evoforge.cli import BEFORE_COMMAND

    before = _BEFORE_THE_RUN[command.__name__]
    BEFORE_COMMAND[command.__name__] = before  # pressed while typer read the options

    @wraps(command)
    def stopping(*args: Any, **kwargs: Any) -> None:
        _started.clear()
        try:
            command(*args, **kwargs)
        except KeyboardInterrupt:
            _interrupted(_started.get("database"), _started.get("run_id"), kwargs.get("db"), before)

    return stopping


def _interrupted(database: Any, run_id: str | None, db: str | None, before: str) -> NoReturn:
    from evoforge.cli import INTERRUPTED, say_interrupted

    if run_id is None:  # import nothing here: Ctrl-C may have cut an import in half
        say_interrupted(before)
        raise typer.Exit(INTERRUPTED)
    from evoforge.api import stop_interrupted  # loaded already: it stored the run
    from evoforge.store.errors import StoreError

    program, flag = _program(), _db_flag(db)
    try:
        summary = stop_interrupted(database, run_id)
    except (KeyboardInterrupt, StoreError):  # the store is busy, or Ctrl-C came again
        say_interrupted(
            f"interrupted: run {run_id} stopped before the store could record it (it still "
            f"reads running); continue with: {program} resume {run_id}{flag}"
        )
        raise typer.Exit(INTERRUPTED) from None
    done = summary["evaluations"]["total"]
    counted = f"{done} evaluation{'' if done == 1 else 's'}"
    if summary["status"] == "interrupted":
        say_interrupted(
            f"interrupted: run {run_id} stopped after {counted}; "
            f"continue with: {program} resume {run_id}{flag}"
        )
    else:  # Ctrl-C came after the run had ended, e.g. while its summary printed
        say_interrupted(
            f"interrupted: run {run_id} had already {summary['status']} after {counted}; "
            f"inspect: {program} show {run_id}{flag}"
        )
    raise typer.Exit(INTERRUPTED)


@app.command()
@_stops_on_ctrl_c
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
    public: Annotated[
        bool | None,
        typer.Option(
            "--public/--no-public",
            help="score the task's public protocol at the end (the public benchmark's "
            "instances and rules) beside its own splits; by default where the task has one "
            "and its data is found, --public requires it",
        ),
    ] = None,
    train_on: Annotated[
        str | None,
        typer.Option(
            help="own | public: judge the search on the task's own instances or on its "
            "public protocol's, as published results are evolved"
        ),
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
    weak_isolation: Annotated[
        bool,
        typer.Option(
            "--weak-isolation",
            help="let the process sandbox run candidates without bubblewrap (weaker: "
            "the host's files stay visible read-only); each evaluation records it",
        ),
    ] = False,
    sandbox_option: Annotated[
        list[str] | None,
        typer.Option(
            "--sandbox-option",
            help="KEY=VALUE for the run's sandbox, e.g. warm=false (a fresh interpreter "
            "per evaluation instead of a warm server per slot); repeatable",
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(help="run config file (TOML or YAML; an OpenEvolve config.yaml too)"),
    ] = None,
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the summary as JSON")] = False,
) -> None:
    """Start an evolution run on a task or a task folder.

    Exits 1 when no evaluation of the run succeeded, after the summary and the failures
    grouped by reason; 130 on Ctrl-C.
    """
    from evoforge.api import prepare_run, resolve_task, settings_notes, store_run
    from evoforge.config import (
        OPENEVOLVE_KEY,
        build_config,
        gpu_option,
        layer_task_defaults,
        load_config_file,
        model_proposer_options,
        parse_assignments,
    )
    from evoforge.interrupts import held_interrupts
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
        "public": public,
        "train_on": train_on,
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
    if weak_isolation:
        options = dict(base.get("sandbox_options") or {})
        options["process"] = {**(options.get("process") or {}), "weak_isolation": True}
        base = {**base, "sandbox_options": options}
    if sandbox_option:
        chosen_sandbox = sandbox or base.get("sandbox") or "process"
        given = guard(lambda: parse_assignments(sandbox_option, "--sandbox-option"))
        options = dict(base.get("sandbox_options") or {})
        typed = {name: _option_value(value) for name, value in (given or {}).items()}
        options[chosen_sandbox] = {**(options.get(chosen_sandbox) or {}), **typed}
        base = {**base, "sandbox_options": options}
    run_config = guard(lambda: build_config(base, overrides))
    for note in settings_notes(resolved, run_config.proposer):
        err_console.print(note, highlight=False)
    prepared = guard(lambda: prepare_run(resolved, run_config))
    database = guard(lambda: open_database(db))
    with held_interrupts():  # Ctrl-C comes after the handler can know the new run
        run_id = guard(lambda: store_run(prepared, run_config, database))
        _started.update(database=database, run_id=run_id)
    if not as_json:
        console.print(f"run [bold]{run_id}[/] on task [bold]{resolved.name}[/]")
        _print_objective(database, run_id)
    _execute(database, run_id, run_config.budget.max_evaluations, resolved.direction, as_json, db)


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
    db: str | None,
    executor_options: dict[str, Any] | None = None,
) -> None:
    """Run to the end with progress, then print the summary and commands to go on with.

    Raises `typer.Exit(NO_OK_EXIT)` when nothing was evaluated successfully, so a run
    that achieved nothing is not reported as a success to scripts."""
    from evoforge.api import execute_run
    from evoforge.cli.progress import ProgressDisplay
    from evoforge.cli.render import show_summary
    from evoforge.plugin_manager import register_plugin, unregister_plugin

    display = ProgressDisplay(err_console if as_json else console, total, direction)
    register_plugin(display, name="cli-progress")
    try:  # Ctrl-C: `_stops_on_ctrl_c` reports it, once the display has stopped
        with display:
            outcome = guard(lambda: execute_run(database, run_id, executor_options))
    finally:
        unregister_plugin(display)
    summary = outcome.summary
    if as_json:
        _print_json(summary)
    else:
        show_summary(console, summary)
        program, flag = _program(), _db_flag(db)
        for line in (
            f"inspect: {program} show {run_id}{flag}",
            f"export:  {program} export {run_id} --out best/{flag}",
            f"browse:  {program} ui{flag}",
        ):
            console.print(line, markup=False, highlight=False, soft_wrap=True)
    if not summary["evaluations"].get("ok"):
        if not as_json:
            err_console.print(
                f"no evaluation succeeded (exit {NO_OK_EXIT}); the failures above say why",
                highlight=False,
            )
        raise typer.Exit(NO_OK_EXIT)


@app.command()
@_stops_on_ctrl_c
def resume(
    run_id: Annotated[str, typer.Argument(help="the run to continue")],
    gpus: GpusOption = None,
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Continue a run that was interrupted or killed (--gpus: this session's GPUs).

    Exits 1, as `run`, when the run ends with no successful evaluation, 130 on Ctrl-C;
    a run that had already finished is only shown.
    """
    from evoforge.api import check_run
    from evoforge.config import gpu_option
    from evoforge.store.database import open_database
    from evoforge.store.repository import Repository

    gpu_ids = guard(lambda: gpu_option(gpus))
    refuse_absent_store(db, run_id)
    database = guard(lambda: open_database(db))
    run_row = _guard_store(lambda: Repository(database).get_run(run_id), db)
    _started.update(database=database, run_id=run_id)
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
    _execute(database, run_id, total, direction, as_json, db, executor_options)


@app.command()
def runs(db: DbOption = None, as_json: JsonOption = False) -> None:
    """List runs in the store."""
    from evoforge.cli.render import runs_table
    from evoforge.store.database import absent_store, open_database
    from evoforge.store.repository import Repository

    absent = guard(lambda: absent_store(db))
    if absent:  # a mistyped --db: say so, rather than create an empty store there
        if as_json:
            _print_json([])
        else:
            console.print(
                f"no runs: no evoforge store at {absent} (none was created)",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
        return
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
    as_json: JsonOption = False,
) -> None:
    """Show a run: status, evaluations by status, scores, proposals and spend per model."""
    from evoforge.cli.render import (
        generalization_table,
        proposals_line,
        public_lines,
        rejection_lines,
        show_summary,
        spend_table,
        top_table,
    )
    from evoforge.store.database import open_database
    from evoforge.store.repository import Repository

    refuse_absent_store(db, run_id)
    database = guard(lambda: open_database(db))
    repo = Repository(database)
    summary = _guard_store(lambda: repo.run_summary(run_id), db)
    spend = repo.spend_report(run_id)
    generalization = repo.generalization(run_id)
    rejections = repo.rejection_reasons(run_id, limit=5)
    if as_json:
        _print_json(
            {**summary, "spend": spend, "rejections": rejections, "generalization": generalization}
        )
        return
    show_summary(console, summary)
    if spend["calls"]:
        console.print(spend_table(spend))
    elif spend["proposals"]["total"]:  # offline: no model calls, so no spend to tabulate
        console.print(proposals_line(spend), highlight=False)
    for number, line in enumerate(rejection_lines(spend, rejections)):
        # Plain text: a reason quotes the model's answer, whose brackets are not markup.
        console.print(line if number == 0 else f"  {line}", markup=False, highlight=False)
    if generalization["rows"] or generalization["baselines"]:
        console.print(generalization_table(generalization))
    figures = public_lines(generalization)
    if figures:
        console.print("public protocol, in its own units:", style="bold")
        for line in figures:  # metric names come from the evaluation: never markup
            console.print(f"  {line}", markup=False, highlight=False, soft_wrap=True)
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

    refuse_absent_store(db, run_id)
    database = guard(lambda: open_database(db))
    metadata = _guard_store(lambda: export_run(database, run_id, out, top, select_on), db)
    for entry in metadata["candidates"]:
        flagged = f"  FLAGGED for review: {', '.join(entry['flags'])}" if entry["flags"] else ""
        console.print(
            f"#{entry['rank']} {entry['candidate_id']} score {entry['score']} "
            f"-> {out / entry['folder']}{flagged}"
        )
    console.print(f"metadata: {out / 'metadata.json'}  lineage: {out / 'lineage.json'}")


def main() -> None:
    from evoforge.cli import run_commands

    run_commands(app)


if __name__ == "__main__":
    main()
