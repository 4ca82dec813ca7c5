"""Built-in task `circle_packing`: 26 circles in the unit square, maximise the sum of radii.

A classic benchmark of LLM-driven program evolution (AlphaEvolve, OpenEvolve,
ShinkaEvolve). The seed is deliberately plain, scoring about 2.06 against the 2.635
AlphaEvolve reported, so both the offline `mutate` proposer and a model have room to
show progress.

The sandbox imports `evaluate` from this package in every evaluation, so the package
itself stays light: the task model (pydantic) loads only when the hook is called.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from evoforge.hookspecs import hookimpl

if TYPE_CHECKING:
    from evoforge.task import Task

HERE = Path(__file__).parent

OBJECTIVE = (
    "Place 26 non-overlapping circles inside the unit square [0, 1] x [0, 1] so that "
    "the sum of their radii is as large as possible."
)

BACKGROUND = """\
The program must define `construct_packing()` returning `(centers, radii)`: an array of
shape (26, 2) with the circle centres and an array of shape (26,) with their radii
(numpy arrays or nested lists). numpy is available.

The evaluator is strict (tolerance 1e-9): exactly 26 circles, finite numbers, radii >= 0,
every circle inside the unit square and no two circles overlapping. A packing that breaks
any rule scores nothing, and the reason names the offending circles.

The score is the sum of radii. AlphaEvolve (2025) reported 2.635; the best value published
since is about 2.63598. Equal circles on a 5 x 5 grid already give 2.5, so strong
packings mix sizes: large circles inside, smaller ones along the edges and in the corners.
Useful ideas: a good layout of centres followed by the largest radii those centres allow
(a linear program in the radii), and local optimisation of the centres.
"""


@hookimpl
def evoforge_tasks() -> list[Task]:
    """Provide the `circle_packing` task."""
    from evoforge.task import ArtifactFile, Resources, Task

    return [
        Task(
            name="circle_packing",
            description="Pack 26 circles in the unit square; maximise the sum of radii.",
            objective=OBJECTIVE,
            background=BACKGROUND,
            files=[
                ArtifactFile(name="program.py", seed=(HERE / "seed_program.py").read_text("utf-8"))
            ],
            evaluate="evoforge.evaluators.circle_packing.evaluate:evaluate",
            direction="maximize",
            metric="sum_radii",
            features=["spread", "border_fraction"],
            resources=Resources(timeout_s=60.0, memory_mb=1024),
            reference_score=2.635,
            reference_note=(
                "AlphaEvolve (2025) reported 2.635 for 26 circles; "
                "the best published value is 2.63598."
            ),
            source="evoforge.evaluators.circle_packing",
        )
    ]
