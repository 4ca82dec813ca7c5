"""Built-in task `model_placement`: place 2G LLMs on G 80 GB GPUs, minimise KV-cache pressure.

The ADRS case study ("Barbarians at the Gate", 2025) evolved a placement policy with
17% lower maximum KV-cache pressure than the greedy heuristic LLM serving systems
use. This task poses the same problem on 50 seeded cases: weights eat the memory the
KV cache needs, so a good placement balances request load against free memory, which
the greedy rule (load only) does not. Scores are relative to that greedy rule.

The sandbox imports `evaluate` from this package in every evaluation, so the package
stays light: the task model (pydantic) loads only when the hook is called.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from evoforge.hookspecs import hookimpl

if TYPE_CHECKING:
    from evoforge.task import Task

HERE = Path(__file__).parent
PACKAGE = "evoforge.evaluators.model_placement"

OBJECTIVE = (
    "Assign each of 2G LLMs to one of G GPUs with 80 GB each so that the largest "
    "KV-cache pressure over the GPUs is as small as possible."
)

BACKGROUND = """\
The program must define
    place(models: list[dict], num_gpus: int, gpu_memory_gb: float) -> list[int]
returning the GPU index (0..num_gpus-1) of every model, in input order. Each model is
{"name": str, "size_gb": float, "rate": float, "slo_s": float}: fp16 weights of a 7B..34B
model, a request rate in req/s and a latency SLO in seconds. Standard library only is
needed; the call must be deterministic.

A GPU's KV-cache pressure is sum(rate / slo_s) over its models divided by its free memory
(gpu_memory_gb minus the sizes of its models); an empty GPU has pressure 0. The objective
is the maximum pressure over the GPUs, lower is better.

Rejected (the whole candidate is invalid, the reason names the case): a return value that
is not a list of ints or has the wrong length; a GPU index out of range; a GPU whose
weights exceed its memory ("GPU 3 over capacity: 84.2 GB > 80 GB"); a GPU left with zero
or less free memory; a policy that raises.

Score per case = the greedy baseline's max pressure / yours (greedy = 1.0 on every case,
higher is better); the score is the mean over the cases. Greedy sorts models by
rate/SLO, highest first, and puts each on the currently least-pressured GPU with room: it
ignores that a large model leaves little KV-cache memory, so hot models end up next to
big ones. Useful ideas: weigh size and load together when ordering and choosing GPUs,
judge a GPU by its pressure after the model arrives, keep hot models off large ones,
then improve with moves and swaps off the hottest GPU. Each case also has a lower bound
(the larger of total load / total free memory and the hottest model alone on a GPU);
the feedback shows how far each case is from it.

On the public Prism cases (a run with --train-on public) the same place() is judged by
the public rules instead: integer sizes, rates and SLOs, a GPU may be filled exactly
(its pressure then counts 1,000,000), and the score is the public 0..100 one (round
robin 0, total load / total free memory 100, square root of the share of the way, mean
over the 50 cases); the public greedy baseline scores 60.82.
"""


@hookimpl
def evoforge_tasks() -> list[Task]:
    """Provide the `model_placement` task."""
    from evoforge.evaluators.model_placement.workload import SPLITS
    from evoforge.task import ArtifactFile, Baseline, Resources, Stage, Task

    def text(name: str) -> str:
        return (HERE / name).read_text("utf-8")

    return [
        Task(
            name="model_placement",
            description=(
                "Place 2G LLMs on G GPUs; score: the greedy placement's maximum KV-cache "
                "pressure over yours, maximised (less pressure is higher)."
            ),
            objective=OBJECTIVE,
            background=BACKGROUND,
            files=[ArtifactFile(name="policy.py", seed=text("seed_program.py"))],
            evaluate=f"{PACKAGE}.evaluate:evaluate",
            stages=[Stage(name="smoke", function=f"{PACKAGE}.evaluate:smoke")],
            instances=SPLITS["train"],
            validation_instances=SPLITS["validation"],
            test_instances=SPLITS["test"],
            public_protocol=f"{PACKAGE}.public_protocol:public_instances",
            baselines=[
                Baseline(
                    name="greedy",
                    files={"policy.py": text("baseline_greedy.py")},
                    note=(
                        "Hottest model (rate/SLO) first onto the least-pressured GPU with room; "
                        "the reference every score is divided by."
                    ),
                    scores={
                        "train": 1.0,
                        "validation": 1.0,
                        "test": 1.0,
                        "public": 60.817400988386495,
                    },
                ),
                Baseline(
                    name="local_search",
                    files={"policy.py": text("baseline_local_search.py")},
                    note="Greedy, then best move or swap off the hottest GPU until none helps.",
                    scores={
                        "train": 2.137744886016606,
                        "validation": 1.4476886941590714,
                        "test": 2.010821098649358,
                        "public": 86.53500390197081,
                    },
                ),
            ],
            direction="maximize",
            metric="score",
            features=["imbalance", "worst_score"],
            resources=Resources(timeout_s=60, memory_mb=1024),
            reference_score=1.0,
            reference_note=(
                "The greedy baseline (sort by rate/SLO, least-pressured GPU with room) "
                "scores 1.0 by construction; ADRS reported an evolved policy 17% below "
                "its max pressure."
            ),
            source=PACKAGE,
        )
    ]
