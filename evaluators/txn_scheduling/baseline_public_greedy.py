"""Baseline `public_greedy`: the public benchmark's greedy cost sampling, as a policy.

The public starting program (`get_greedy_cost_sampled(10, 1.0)`) starts from one
random transaction, then at each position draws 10 random waiting transactions and
appends the one whose addition gives the smallest makespan (the first drawn wins a
tie). It draws from one random stream across the three workloads, so RNG is made once,
at import, and shared by every call: with RNG_SEED = s and the workloads in the public
order, this makes the same draws as the public program after `random.seed(s)`.

Here each probe is one oracle step (the public code re-simulates the whole prefix per
probe), about 11 * N steps per workload.
"""

import random
from typing import Any

SAMPLES = 10  # waiting transactions drawn per position
RNG_SEED = 0
RNG = random.Random(RNG_SEED)


def schedule(txns: list[dict], oracle: Any) -> list[int]:
    rng = RNG
    n = len(txns)
    partial = oracle.new_schedule()
    partial.append(rng.randint(0, n - 1))
    remaining = [i for i in range(n) if not partial.is_placed(i)]
    for _ in range(n - 1):
        rng.random()  # the public code draws here to pick a random step (never, at rate 1.0)
        drawn: list[int] = []
        best_txn, best_cost = -1, None
        for _ in range(SAMPLES):
            last = len(remaining) <= 1
            txn = remaining.pop(0 if last else rng.randint(0, len(remaining) - 1))
            drawn.append(txn)
            cost = max(partial.makespan, partial.finish_if_appended(txn))
            if best_cost is None or cost < best_cost:
                best_txn, best_cost = txn, cost
            if last:
                break
        partial.append(best_txn)
        drawn.remove(best_txn)
        remaining.extend(drawn)
    return partial.order
