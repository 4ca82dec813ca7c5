"""Pipeline throughput with a slow model: asynchronous evoforge against lock-step.

A loopback OpenAI-compatible server answers every completion after `--latency`
seconds (2 s: a fast hosted model) with a valid SEARCH/REPLACE diff; the evaluator
sleeps `--eval-time` seconds (0.5 s); two evaluation slots. Three ways of running
the same proposer (litellm over HTTP), sandbox and evaluator, in this one process:

* evoforge with `--in-flight` proposals (10): the asynchronous pipeline;
* evoforge with as many proposals in flight as evaluation slots (2);
* lock-step: for each free slot ask for one proposal, wait for all of them, then
  evaluate them all, and repeat (how generation-based loops spend their time).

Throughput is measured between the first and the last child evaluation stored (the
seed and the first model round trip are start-up, not steady state), and the
busy fraction is that rate times the evaluation time over the slots.

    python benchmarks/pipeline.py [--evaluations 40] [--latency 2] [--eval-time 0.5]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import sys
import tempfile
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from support.model_server import Reply, ScriptedModelServer, SeenRequest  # noqa: E402

from evoforge.api import resolve_task, run_task  # noqa: E402
from evoforge.executors.local import LocalExecutor  # noqa: E402
from evoforge.jobs import EvaluationJob  # noqa: E402
from evoforge.plugins.proposers.llm.proposer import LLMProposer  # noqa: E402
from evoforge.proposals import CandidateView, ProposalRequest  # noqa: E402
from evoforge.store.database import open_database  # noqa: E402
from evoforge.store.repository import Repository  # noqa: E402

SLOTS = 2

PROGRAM = """
# EVOLVE-BLOCK-START
X = 1.0
# EVOLVE-BLOCK-END
"""

EVALUATE = """
import time

def evaluate(program_path):
    scope = {{}}
    exec(open(program_path).read(), scope)
    time.sleep({eval_time})
    return -abs(scope["X"] - 3.0)
"""


def make_task(root: Path, eval_time: float) -> Path:
    folder = root / "slow_eval"
    folder.mkdir()
    (folder / "task.toml").write_text('files = ["program.py"]\n')
    (folder / "program.py").write_text(textwrap.dedent(PROGRAM).lstrip())
    (folder / "evaluate.py").write_text(textwrap.dedent(EVALUATE.format(eval_time=eval_time)))
    return folder


def responder(latency: float):
    """A unique, valid diff for whatever parent the prompt shows, after `latency` s."""
    counter = itertools.count(1)

    def answer(request: SeenRequest) -> Reply:
        import re

        user = request.body["messages"][-1]["content"]
        old = re.search(r"^X = (\S+)$", user, re.M).group(1)  # type: ignore[union-attr]
        new = f"{1.0 + next(counter) / 1000:.4f}"
        diff = f"<<<<<<< SEARCH program.py\nX = {old}\n=======\nX = {new}\n>>>>>>> REPLACE\n"
        return Reply(diff, delay_s=latency)

    return answer


def proposer_options(api_base: str) -> dict:
    return {
        "models": [
            {
                "model": "openai/bench",
                "api_base": api_base,
                "input_cost_per_million": 0.0,  # a local model: free, and priced as such
                "output_cost_per_million": 0.0,
            }
        ],
        "mode_weights": {"diff": 1.0},
    }


def steady_rate(db: str, run_id: str) -> float:
    """Child evaluations per second between the first and the last one stored."""
    repo = Repository(open_database(db))
    detail = [repo.candidate_detail(c["id"]) for c in repo.lineage(run_id)["nodes"]]
    stamps = sorted(
        d["evaluation"]["created_at"]
        for d in detail
        if d["evaluation"] is not None and d["candidate"]["kind"] != "seed"
    )
    from datetime import datetime

    first, last = (datetime.fromisoformat(s) for s in (stamps[0], stamps[-1]))
    return (len(stamps) - 1) / (last - first).total_seconds()


def evoforge_rate(folder: Path, root: Path, api_base: str, in_flight: int, n: int) -> float:
    db = f"sqlite:///{root / f'pipeline-{in_flight}.db'}"
    outcome = run_task(
        folder,
        db=db,
        max_evaluations=n,
        seed=1,
        evaluation_slots=SLOTS,
        proposal_slots=in_flight,
        proposer="llm",
        proposer_options=proposer_options(api_base),
        strategy="greedy",
    )
    done = outcome.summary["evaluations"]["total"]
    assert done == n, f"expected {n} evaluations, got {done}"
    return steady_rate(db, outcome.run_id)


async def lockstep_rate(folder: Path, api_base: str, rounds: int) -> float:
    """Ask one proposal per free slot, wait for all, evaluate all; repeat."""
    task = resolve_task(folder)
    proposer = LLMProposer(task=task, **proposer_options(api_base))
    executor = LocalExecutor(slots=SLOTS)
    parent = CandidateView(id="seed", files=task.seed_files(), score=None, fitness=0.0, status="ok")
    evaluated = 0
    started = None
    try:
        for round_index in range(rounds):
            requests = [
                ProposalRequest(task=task, parent=parent, seed=round_index * SLOTS + slot)
                for slot in range(SLOTS)
            ]
            proposals = await asyncio.gather(*(proposer.propose(r) for r in requests))
            jobs = [
                EvaluationJob.for_candidate(task, "lockstep", f"c{i}", p.files, "process")
                for i, p in enumerate(proposals)
            ]
            await asyncio.gather(*(executor.evaluate(job) for job in jobs))
            if started is None:
                started = time.perf_counter()  # measure after the first round, like above
            else:
                evaluated += len(jobs)
    finally:
        await executor.aclose()
    assert started is not None
    return evaluated / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evaluations", type=int, default=40)
    parser.add_argument("--latency", type=float, default=2.0)
    parser.add_argument("--eval-time", type=float, default=0.5)
    parser.add_argument("--in-flight", type=int, default=10)
    args = parser.parse_args()
    ceiling = SLOTS / args.eval_time
    with tempfile.TemporaryDirectory() as tmp, ScriptedModelServer(
        default=responder(args.latency)
    ) as server:
        root = Path(tmp)
        folder = make_task(root, args.eval_time)
        pipelined = evoforge_rate(folder, root, server.api_base, args.in_flight, args.evaluations)
        matched = evoforge_rate(folder, root, server.api_base, SLOTS, args.evaluations // 2)
        lockstep = asyncio.run(lockstep_rate(folder, server.api_base, rounds=6))
    print(f"model latency {args.latency:g} s, evaluation {args.eval_time:g} s, {SLOTS} slots: "
          f"ceiling {ceiling:.2f} evaluations/s")  # fmt: skip
    rows = [
        (f"evoforge, {args.in_flight} proposals in flight", pipelined),
        (f"evoforge, {SLOTS} proposals in flight", matched),
        ("lock-step, one proposal per free slot", lockstep),
    ]
    for label, rate in rows:
        print(
            f"{label:40s} {rate:5.2f} evaluations/s  busy {rate / ceiling:6.1%}  "
            f"{rate / lockstep:4.2f}x lock-step"
        )


if __name__ == "__main__":
    main()
