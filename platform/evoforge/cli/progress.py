"""A Rich progress bar fed by the public event hooks, like any tracker plugin."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from evoforge.hookspecs import hookimpl
from evoforge.jobs import EvaluationOutcome
from evoforge.proposals import CandidateView


class ProgressDisplay:
    """The live bar: evaluations done, their rate, and the run's best result so far."""

    def __init__(self, console: Console, total: int | None, direction: str) -> None:
        self.direction = direction
        self.best: float | None = None
        self.started = time.monotonic()
        self.done = 0
        self.progress = Progress(
            TextColumn("[bold]evolving"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]} eval/s"),
            TextColumn("best [bold green]{task.fields[best]}"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self.task_id = self.progress.add_task("run", total=total, rate="0.0", best="-")

    def __enter__(self) -> ProgressDisplay:
        self.progress.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.progress.stop()

    @hookimpl
    def evoforge_candidate_evaluated(
        self, run_id: str, candidate: CandidateView, outcome: EvaluationOutcome
    ) -> None:
        self.done += 1
        # `scored`, as in the store's best: a child judged only on the minibatch screen
        # has a few-instance score that is no result and must not show as the best.
        if candidate.scored and candidate.score is not None:
            better = (
                self.best is None
                or (self.direction == "maximize" and candidate.score > self.best)
                or (self.direction == "minimize" and candidate.score < self.best)
            )
            if better:
                self.best = candidate.score
        rate = self.done / max(time.monotonic() - self.started, 1e-9)
        self.progress.update(
            self.task_id,
            advance=1,
            rate=f"{rate:.1f}",
            best="-" if self.best is None else f"{self.best:.6g}",
        )

    @hookimpl
    def evoforge_run_paused(self, run_id: str, reason: str | None) -> None:
        if reason is None:
            self.progress.console.print("[green]continuing[/]: the run is making progress again")
        else:
            self.progress.console.print(f"[yellow]paused[/]: {reason}", highlight=False)
