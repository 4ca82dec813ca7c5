"""Turn a finished evaluation into text a proposer can act on.

Scores alone say how good a policy is, not what to change. So besides the compact
per-case scores, the three worst cases are explained by their hottest GPU: which
models sit there, whether its pressure comes from request load or from weights
eating the KV-cache memory, and how far it is from the lower bound. The stored
baseline results put the numbers in context without re-running the baselines.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from evoforge.evaluators.model_placement.baselines import MAIN_BASELINE, stored_baseline_scores
from evoforge.evaluators.model_placement.simulator import Simulation

WORST_SHOWN = 3
BOUND_TOL = 1 + 1e-9  # relative slack under which a case counts as at its lower bound


@dataclass(frozen=True)
class CaseResult:
    """One case's instance, simulated outcome and policy runtime."""

    instance: dict[str, Any]
    simulation: Simulation
    runtime_ms: float

    @property
    def reference(self) -> float:
        return float(self.instance["reference_max_pressure"])

    @property
    def score(self) -> float:
        return self.reference / self.simulation.max_pressure


def _why(case: CaseResult) -> str:
    """Name the hottest GPU's contents and whether load or memory makes it hot."""
    models = case.instance["models"]
    sim = case.simulation
    hot = sim.hottest
    mean_load = sum(gpu.load for gpu in sim.gpus) / len(sim.gpus)
    mean_free = sum(gpu.free_gb for gpu in sim.gpus) / len(sim.gpus)
    held = ", ".join(
        f"{m['name']} {m['size_gb']:g}GB w={m['rate'] / m['slo_s']:.2f}"
        for m in (models[i] for i in hot.models)
    )
    if sim.max_pressure <= sim.lower_bound * BOUND_TOL:
        cause = "this is the lower bound: no placement does better on this case"
    elif hot.free_gb < 0.6 * mean_free:
        cause = "its weights leave little KV-cache memory: keep hot models off big ones"
    elif hot.load > 1.4 * mean_load:
        cause = "it carries too much rate/SLO load: spread the hot models"
    else:
        cause = "load and memory are both near average: fine-tune with moves or swaps"
    return (
        f"{case.instance['id']} (G={case.instance['num_gpus']}): {case.score:.2f}x greedy; "
        f"max pressure {sim.max_pressure:.3f} (greedy {case.reference:.3f}, bound "
        f"{sim.lower_bound:.3f}) on GPU {hot.index} [{held}]: load {hot.load:.2f} "
        f"(mean {mean_load:.2f}), free {hot.free_gb:.1f}GB (mean {mean_free:.1f}); {cause}"
    )


def _versus_baselines(cases: list[CaseResult]) -> list[str]:
    stored = stored_baseline_scores()
    lines = []
    for name, per_case in stored.items():
        known = [per_case[c.instance["id"]] for c in cases if c.instance["id"] in per_case]
        if len(known) != len(cases):
            continue  # cases the baselines were not stored for (hand-made ones)
        mean_score = sum(entry["score"] for entry in known) / len(known)
        mean_pressure = sum(entry["max_pressure"] for entry in known) / len(known)
        label = "main baseline " if name == MAIN_BASELINE else "baseline "
        lines.append(
            f"{label}{name} on these cases: score {mean_score:.3f}, mean max pressure "
            f"{mean_pressure:.3f}"
        )
    return lines


def _rank(case: CaseResult) -> tuple[float, str]:
    return case.score, case.instance["id"]


def describe(cases: list[CaseResult]) -> str:
    """The feedback for a full evaluation: summary, per-case scores, worst cases, context."""
    scores = [case.score for case in cases]
    better = sum(s > 1.0 + 1e-9 for s in scores)
    worse = sum(s < 1.0 - 1e-9 for s in scores)
    mean_pressure = sum(case.simulation.max_pressure for case in cases) / len(cases)
    lines = [
        f"score {sum(scores) / len(scores):.4f} = mean over {len(cases)} cases of greedy max "
        f"pressure / yours (greedy = 1.0); better than greedy on {better}, worse on {worse}; "
        f"your mean max pressure {mean_pressure:.3f}",
        *_versus_baselines(cases),
        "per case: " + " ".join(f"{c.instance['id']}={c.score:.2f}" for c in cases),
    ]
    # A case already at its lower bound teaches nothing, so the worst are picked among
    # the cases that still have room, falling back to the others only if needed.
    at_bound = [
        c for c in cases if c.simulation.max_pressure <= c.simulation.lower_bound * BOUND_TOL
    ]
    open_cases = [c for c in cases if c not in at_bound]
    ranked = sorted(open_cases, key=_rank) + sorted(at_bound, key=_rank)
    lines.append(
        f"{len(at_bound)} case(s) already at their lower bound; worst cases with room left:"
    )
    lines += [f"- {_why(case)}" for case in ranked[:WORST_SHOWN]]
    return "\n".join(lines)
