"""Baseline `greedy_sampling`: greedy least-makespan-increase orders from random starts.

From each of a few seeded random starting transactions, build an order by always
appending the transaction that raises the makespan least (ties: the one that finishes
earliest, then the lowest id), and keep the best order found. One greedy pass probes
every remaining transaction at every position, about N^2 / 2 oracle steps, so the
sample count is chosen to stay well inside the 4 * N^2 budget.
"""

import random
from typing import Any

SAMPLES = 4  # greedy passes; each costs about N^2 / 2 + N oracle steps
RNG_SEED = 0


def greedy_from(txns: list[dict], oracle: Any, first: int) -> tuple[list[int], float]:
    partial = oracle.new_schedule()
    partial.append(first)
    remaining = [t["id"] for t in txns if t["id"] != first]
    while remaining:
        current = partial.makespan
        best_key = None
        best_txn = -1
        for txn in remaining:
            finish = partial.finish_if_appended(txn)
            key = (max(current, finish), finish, txn)
            if best_key is None or key < best_key:
                best_key = key
                best_txn = txn
        partial.append(best_txn)
        remaining.remove(best_txn)
    return partial.order, partial.makespan


def schedule(txns: list[dict], oracle: Any) -> list[int]:
    rng = random.Random(RNG_SEED)
    ids = [t["id"] for t in txns]
    starts = rng.sample(ids, min(SAMPLES, len(ids)))
    best_order, best_makespan = None, float("inf")
    for first in starts:
        order, makespan = greedy_from(txns, oracle, first)
        if makespan < best_makespan:
            best_order, best_makespan = order, makespan
    return best_order
