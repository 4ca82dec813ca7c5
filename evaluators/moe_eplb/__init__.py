"""Built-in task `moe_eplb`: expert-parallel load balancing for mixture-of-experts inference.

Serving a MoE model spreads its experts over many GPUs, and every MoE layer waits for
its busiest GPU, so which expert sits where (and which hot experts get extra replicas)
sets the throughput. The ADRS case study evolved such a rebalancer that matched the
hierarchical heuristic's balance while running about 5x faster. Here a policy sees one
window of expert loads and is scored on the next, so fitting one window too tightly is
punished; its wall time is reported next to the score.

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
    "Place 256 logical MoE experts (with replicas) on 288 GPU slots so that, on the next "
    "window of traffic, the busiest GPU carries as little more than the mean as possible."
)

BACKGROUND = """\
The program must define
`rebalance(weight, num_replicas, num_groups, num_nodes, num_gpus) -> np.ndarray`.
`weight` is a float array [layers, 256]: the tokens each logical expert received per MoE
layer in the last window (every entry >= 1). It is called with num_replicas=288,
num_groups=8 (experts 32g..32g+31 form group g), num_nodes=4, num_gpus=32. It returns
`phy2log`, an integer numpy array [layers, 288]: the logical expert each physical slot
hosts. Slots [9g, 9g+9) belong to GPU g and GPUs [8n, 8n+8) to node n. numpy is available
(no torch). An expert may hold several slots; its load is split evenly among its replicas.

Rejected (the whole candidate is invalid, the reason names the instance): a result that
is not a numpy.ndarray, a shape other than (layers, 288), a non-integer dtype, an expert
index outside [0, 256), a logical expert with load > 0 but no replica (every expert has
load, so every expert needs at least one slot), or an exception raised by rebalance.

Score: the plan computed from window i serves window i+1 (loads drift as a random walk
in log space and some experts spike for a single window). Per layer, balancedness =
mean GPU load / max GPU load; the instance score is its mean over layers and window pairs
(in (0, 1], higher is better) and the task score the mean over instances. Node placement
is not scored (node_balancedness is reported). Wall seconds per rebalance call are
reported as runtime_s and runtime_vs_baseline (relative to the hierarchical baseline
timed in the same evaluation) but do not enter the score: a faster policy at equal
balance is better. The hierarchical baseline (groups packed onto nodes, spare replicas to
the largest load per replica, heaviest-first bin packing onto GPUs) scores about 0.740.
Ideas: replicate hot experts, pack replicas heaviest-first onto the lightest GPU, hedge
against drift (do not over-trust one window's spikes), vectorise to stay fast.
"""


@hookimpl
def evoforge_tasks() -> list[Task]:
    """Provide the `moe_eplb` task."""
    from evoforge.evaluators.moe_eplb.baseline_data import BASELINE_FILES, MAIN, stored_split_scores
    from evoforge.evaluators.moe_eplb.workload import SPLITS
    from evoforge.task import ArtifactFile, Baseline, Resources, Stage, Task

    notes = {
        "hierarchical": "DeepSeek's hierarchical EPLB heuristic, re-implemented; the reference.",
        "round_robin": "Load-blind contrast: slot s hosts expert s mod 256.",
    }
    baselines = [
        Baseline(
            name=name,
            files={"policy.py": (HERE / filename).read_text("utf-8")},
            note=notes[name],
            scores=stored_split_scores(name),
        )
        for name, filename in BASELINE_FILES.items()
    ]
    return [
        Task(
            name="moe_eplb",
            description=(
                "Expert-parallel load balancing for MoE inference: replicate and place 256 "
                "experts on 32 GPUs; maximise next-window GPU balancedness."
            ),
            objective=OBJECTIVE,
            background=BACKGROUND,
            files=[
                ArtifactFile(name="policy.py", seed=(HERE / "seed_program.py").read_text("utf-8"))
            ],
            evaluate="evoforge.evaluators.moe_eplb.evaluate:evaluate",
            stages=[Stage(name="smoke", function="evoforge.evaluators.moe_eplb.evaluate:smoke")],
            instances=[dict(spec) for spec in SPLITS["train"]],
            validation_instances=[dict(spec) for spec in SPLITS["validation"]],
            test_instances=[dict(spec) for spec in SPLITS["test"]],
            baselines=baselines,
            direction="maximize",
            metric="score",
            resources=Resources(timeout_s=60.0, memory_mb=1024),
            reference_score=stored_split_scores(MAIN).get("train"),
            reference_note=(
                "The hierarchical baseline (DeepSeek's EPLB heuristic, re-implemented) on the "
                "training instances."
            ),
            source="evoforge.evaluators.moe_eplb",
        )
    ]
