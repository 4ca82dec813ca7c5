"""Built-in task `cloudcast`: the cheapest-egress broadcast overlay from one cloud region to many.

Replicating a dataset from one region to several others is billed per GB on every
link it crosses, and the list prices differ by an order of magnitude between an
intra-continent hop inside one cloud and an internet hop out of it. Sending each copy
separately is what scripts do; relaying through regions that already hold the data
(a Steiner tree, as Skyplane's Cloudcast does) pays an expensive crossing once. The
task is the ADRS case study after Cloudcast: the program plans the overlay, the
evaluator checks it against per-link throughput limits and prices it.

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
    "Plan a broadcast overlay from a source cloud region to every destination region that "
    "respects each link's throughput limit and has the lowest egress bill."
)

BACKGROUND = """\
The program must define

    broadcast(source: str, destinations: list[str], regions: list[dict],
              price_per_gb: dict[str, dict[str, float]],
              throughput_gbps: dict[str, dict[str, float]],
              volume_gb: float, required_gbps: float) -> dict[str, list[str]]

returning, for every destination, the path of region names its data travels: it starts at
`source` and ends at that destination. Regions are named "<cloud>:<region>" (22 regions of
AWS, GCP and Azure); each `regions` entry is {"name", "provider", "continent"}.
`price_per_gb[u][v]` is the list egress price in $/GB of sending from u to v (AWS bills by
source region, GCP by continent pair, Azure by source continent; leaving a cloud is billed
as its internet egress) and `throughput_gbps[u][v]` the link's limit, for every ordered
pair of distinct regions. Only the standard library is needed.

The union of the paths is the overlay. Relays store and forward, so data crosses each
distinct edge once: cost = volume_gb x the summed price of the distinct edges, however
many paths share an edge. Every used edge carries one stream at required_gbps, so an edge
whose limit is below it cannot be used.

An answer is rejected (invalid, no score) if it is not a dict, gives a path for a region
that is not a destination, misses a destination, a path is not a list of region names or
is empty, names an unknown region, does not start at the source or does not end at its
destination, visits a region twice (a cycle), or uses an edge below the required rate
(reason like "aws:us-east-1 -> gcp:europe-west1 needs 3.0 Gbps, limit 1.2"). A policy that
raises is invalid too. The reason names the instance.

Score per instance = cost of the `shortest_paths` baseline (Dijkstra on price per
destination, union of the paths) / your cost: 1.0 matches it, higher is cheaper. The score
is the mean over instances. Savings come from sharing: several destinations on one far
continent can be fed by one crossing and cheap in-continent (ideally intra-cloud) hops,
and a relay in another cloud can be cheaper than the source's internet egress. The
`greedy_tree` baseline (Takahashi-Matsuyama Steiner heuristic) reaches about 1.30 on the
training instances and the exact optimum (cheapest Steiner arborescence) about 1.42, so
better tree construction and local improvement of the tree have room to go further.
"""


PUBLIC_SCORES = {
    "shortest_paths": 26.737131608352556,  # $1,045.86: the published Dijkstra baseline
    "direct": 0.0,  # $1,199.17
    "greedy_tree": 69.38890774495427,  # $801.57
}
"""Scores on the public protocol, 0..100 (README, "Public protocol"); the tests
re-measure them."""


@hookimpl
def evoforge_tasks() -> list[Task]:
    """Provide the `cloudcast` task."""
    from evoforge.task import ArtifactFile, Baseline, Resources, Stage, Task

    from .baselines import BASELINES, MAIN, program_text, stored
    from .workload import SPLITS

    scores = stored()
    baselines = [
        Baseline(
            name=name,
            files={"policy.py": program_text(name)},
            note=note,
            scores={**scores[name]["splits"], "public": PUBLIC_SCORES[name]},
        )
        for name, (_, note) in BASELINES.items()
    ]
    return [
        Task(
            name="cloudcast",
            description=(
                "Broadcast data from one cloud region to many over a relay overlay under "
                "per-link throughput limits; score: the shortest-paths bill over yours, "
                "maximised (cheaper is higher)."
            ),
            objective=OBJECTIVE,
            background=BACKGROUND,
            files=[
                ArtifactFile(name="policy.py", seed=(HERE / "seed_program.py").read_text("utf-8"))
            ],
            evaluate="evoforge.evaluators.cloudcast.evaluate:evaluate",
            stages=[Stage(name="smoke", function="evoforge.evaluators.cloudcast.evaluate:smoke")],
            instances=[dict(spec) for spec in SPLITS["train"]],
            validation_instances=[dict(spec) for spec in SPLITS["validation"]],
            test_instances=[dict(spec) for spec in SPLITS["test"]],
            baselines=baselines,
            direction="maximize",
            metric="score",
            resources=Resources(timeout_s=60.0, memory_mb=1024),
            reference_score=scores[MAIN]["splits"]["train"],
            reference_note=(
                "The shortest_paths baseline (cheapest path per destination, union of the "
                "paths), which every per-instance score is relative to."
            ),
            source="evoforge.evaluators.cloudcast",
            public_protocol="evoforge.evaluators.cloudcast.public_protocol:public_instances",
        )
    ]
