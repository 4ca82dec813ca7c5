"""What a run came to, in the few lines at the top of its page: the best against the
seed and the reference, the cost, the time, why it stopped; what failed and why.

Pure functions of store summaries, so the page, its tests and `evoforge show` agree
on the same counts (proposals by outcome and their reasons come from the store's
`proposal_counts` and `rejection_reasons`). Every string from a candidate (a
failure's reason, a stop reason) is returned as written: the page decides how to show
it as text.
"""

from __future__ import annotations

from typing import Any

from evoforge.run_text import failure_lines as failure_lines  # the run page's, too
from evoforge.ui import formatting


def achievement(summary: dict[str, Any]) -> str:
    """The result against what a reader measures it by, e.g. `best 2.36 (+14.9% over
    the seed 2.06, 89.6% of the reference 2.635)`; a run with no valid score says so."""
    best = summary["best_score"]
    if best is None:
        return "no valid result"
    direction = summary["direction"]
    seed, reference = summary["seed_score"], summary["reference_score"]
    parts = []
    over_seed = formatting.against_seed(best, seed, direction)
    if over_seed:
        parts.append(f"{over_seed} {formatting.score(seed)}")
    elif seed is None:
        parts.append("the seed has no valid score")
    of_reference = formatting.against_reference(best, reference, direction)
    if of_reference:
        parts.append(f"{of_reference} {formatting.score(reference)}")
    # Some tasks' reference is their weakest documented baseline (model_placement: 1
    # against a baseline of 2.14): the strongest one is the bar a result must clear.
    baseline, baseline_score = (
        summary.get("strongest_baseline"),
        summary.get("strongest_baseline_score"),
    )
    if baseline_score is not None and baseline_score != reference:
        name = f"the strongest documented baseline ({baseline})"
        parts.append(
            f"{formatting.against_reference(best, baseline_score, direction, name)} "
            f"{formatting.score(baseline_score)}"
        )
    shown = f"best {formatting.score(best)}"
    trained = summary.get("trained_on", "own")
    if trained != "own":  # every score here is that public protocol's
        shown += f" on the {trained} protocol"
    return f"{shown} ({', '.join(parts)})" if parts else shown


def cost(summary: dict[str, Any]) -> str:
    """Spend next to the calls it paid for (`$0.0123 over 439 model calls`): a cost
    alone hides whether it bought one answer or hundreds."""
    calls = summary["proposer_calls"]
    if not calls:
        return "no model calls"
    return f"{formatting.money(summary['spend_usd'])} over {calls:,} model call{_s(calls)}"


def effort(summary: dict[str, Any]) -> str:
    """How much work the run did and how long it took: `40 evaluations in 3 min 02 s`."""
    total = summary["evaluations"]["total"]
    return f"{total:,} evaluation{_s(total)} in {formatting.duration(summary['duration_s'])}"


def ending(summary: dict[str, Any]) -> str:
    """Why the run stopped (`finished: max evaluations reached`), or that it has not."""
    reason = summary.get("stop_reason") or ""
    return f"{summary['status']}: {reason}" if reason else summary["status"]


def all_failed(summary: dict[str, Any]) -> bool:
    """Evaluated, and not one evaluation gave a usable score."""
    counts = summary["evaluations"]
    return counts["total"] > 0 and not counts.get("ok", 0)


def _s(count: int) -> str:
    return "" if count == 1 else "s"
