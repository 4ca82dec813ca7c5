"""Baseline `fifo`: run the transactions in arrival (id) order, no oracle calls.

What a system without a scheduler does; it shows how much ordering matters at all.
"""


def schedule(txns: list[dict], oracle: object) -> list[int]:
    return [t["id"] for t in txns]
