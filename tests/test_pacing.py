"""Proposal pacing: `proposal_slots = "auto"` keeps the evaluation slots fed.

With a slow model and a quick evaluator, two proposals in flight leave the sandboxes
idle most of the time; `auto` measures both and raises the proposals in flight.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from support.llm_runs import current_x, diff_to, write_toy_task
from support.model_server import Reply, ScriptedModelServer, SeenRequest

from evoforge.api import run_task
from evoforge.config import ConfigError, build_config
from evoforge.orchestrator.pacing import ProposalPacer

LATENCY_S = 0.5


class UniqueEdits:
    """Each answer moves the parent's X to a value never proposed before, so no
    proposal is a duplicate however many run at once; arrivals are timed."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.count = 0
        self.arrivals: list[float] = []

    def __call__(self, request: SeenRequest) -> Reply:
        with self.lock:
            self.count += 1
            self.arrivals.append(time.monotonic())
            new = repr(3.0 - 1.0 / (self.count + 1))
        return Reply(diff_to(new, current_x(request)), delay_s=LATENCY_S)

    def most_in_flight(self) -> int:
        """Calls whose replies overlapped: arrivals closer together than the latency."""
        times = sorted(self.arrivals)
        return max(
            sum(1 for t in times[i:] if t - start < LATENCY_S * 0.9)
            for i, start in enumerate(times)
        )


def _run(tmp_path: Path, api_base: str, name: str, **options: object) -> None:
    run_task(
        _toy(tmp_path, name),
        db=f"sqlite:///{tmp_path}/{name}.db",
        max_evaluations=30,
        seed=1,
        evaluation_slots=2,
        proposer="llm",
        proposer_options={
            "models": [{"model": "openai/pace-model", "api_base": api_base}],
            "mode_weights": {"diff": 1.0},
        },
        **options,
    )


def _toy(tmp_path: Path, name: str) -> Path:
    root = tmp_path / name
    root.mkdir()
    return write_toy_task(root)


def test_auto_raises_proposals_in_flight_for_a_slow_model(tmp_path: Path) -> None:
    auto, fixed = UniqueEdits(), UniqueEdits()
    with ScriptedModelServer(models={"pace-model": auto}) as server:
        _run(tmp_path, server.api_base, "auto")
    with ScriptedModelServer(models={"pace-model": fixed}) as server:
        _run(tmp_path, server.api_base, "fixed", proposal_slots=2)
    assert fixed.most_in_flight() <= 2
    assert auto.most_in_flight() >= 4, auto.most_in_flight()


def test_pacer_follows_little_s_law_within_its_bounds() -> None:
    pacer = ProposalPacer(evaluation_slots=2, configured="auto", cap=16)
    assert pacer.slots == 2  # nothing measured yet: the old default
    pacer.proposal_finished(2.0, yielded_child=True)
    pacer.evaluation_finished(0.5)
    assert pacer.slots == 10  # 1.25 x 2 slots x 2 s / 0.5 s
    for _ in range(20):
        pacer.proposal_finished(2.0, yielded_child=False)
    assert pacer.slots == 16  # half the proposals rejected would need 40: capped
    quick = ProposalPacer(evaluation_slots=2, configured="auto", cap=16)
    quick.proposal_finished(0.001, yielded_child=True)
    quick.evaluation_finished(1.0)
    assert quick.slots == 2  # an instant proposer never drops below the floor
    assert ProposalPacer(evaluation_slots=2, configured=5, cap=16).slots == 5


def test_proposal_slots_accepts_a_number_or_auto_only() -> None:
    assert build_config({}, {"proposal_slots": "auto"}).proposal_slots == "auto"
    assert build_config({}, {"proposal_slots": 3}).proposal_slots == 3
    with pytest.raises(ConfigError, match="proposal_slots"):
        build_config({}, {"proposal_slots": 0})
    with pytest.raises(ConfigError, match="proposal_slots"):
        build_config({}, {"proposal_slots": "many"})
