"""Where each candidate of a run sits in the lineage chart, computed once per run.

The page only plots what this module returns, so the layout can be tested without a
browser and cached. Runs are trees along the primary `parent_id` (inspiration and
crossover links are extra edges), often thousands of generations deep, so every walk
here is an explicit loop over lists: no recursion, and linear in the candidates.

A browser chart stays responsive up to a few thousand marks. Past `limit` candidates
the chart shows a sample that keeps what a user looks for (the seed, the best path,
the top scorers) plus an even spread of the rest, each shown candidate linked to its
nearest shown ancestor; the number hidden is reported so the page can say so.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from evoforge.ui import formatting
from evoforge.ui.frames import FAILED_STATUSES, SCREENED_LABEL, is_result, is_screened

DEFAULT_LIMIT = 5_000

NODE_COLUMNS = [
    "id", "seq", "parent_id", "shown_parent_id", "generation", "island", "kind",
    "proposer", "status", "outcome", "score", "reason", "x", "y", "px", "py", "skipped",
    "best_path", "screen", "rank",
]  # fmt: skip
LINK_COLUMNS = ["child_id", "parent_id", "kind", "x", "y", "x2", "y2"]
FAILURE_COLUMNS = ["id", "seq", "generation", "island", "kind", "status", "reason"]


@dataclass(frozen=True)
class LineageLayout:
    """A run's lineage ready to plot.

    `nodes`: one row per shown candidate (`NODE_COLUMNS`); `x` is the depth along the
    primary parents, `y` the row, (`px`, `py`) where its shown parent sits (its own
    place for a root), `skipped` the hidden ancestors in between, `outcome` one of ok,
    failed, pending, `score` NaN unless a result (`frames.is_result`), `screen` the
    minibatch screen's score of a child it stopped (NaN otherwise, shown but never
    ranked), `rank` the score's percentile among all the run's results, shown or not
    (1 the best, NaN unless a result); a node row is also its parent edge, so the
    chart draws both from one dataset. `links`: inspiration and crossover segments
    from the other candidate (`x`, `y`) to the child (`x2`, `y2`), only when asked
    for. `failures`: every failed candidate of the run, shown or not. `counts`: the
    run's candidates by status (every status, zero if none).
    """

    nodes: pd.DataFrame
    links: pd.DataFrame
    failures: pd.DataFrame
    total: int
    hidden: int
    best_id: str | None
    kept_top: int = 0
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def shown(self) -> int:
        return self.total - self.hidden

    @property
    def failed(self) -> int:
        return len(self.failures)

    @property
    def rows(self) -> int:
        """Rows the chart needs (its leaves), at least 1."""
        return int(self.nodes["y"].max()) + 1 if len(self.nodes) else 1


def score_labels(nodes: pd.DataFrame) -> pd.Series:
    """Each node's score as its tooltip shows it; a minibatch screen's is named as one
    (it is neither ranked nor coloured, so the tooltip is the only place it shows)."""
    labels = [
        f"{SCREENED_LABEL} {formatting.score(float(screen))}"
        if not np.isnan(screen)
        else formatting.score(None if np.isnan(score) else float(score))
        for score, screen in zip(nodes["score"], nodes["screen"], strict=True)
    ]
    return pd.Series(labels, index=nodes.index, dtype=object)


def outcome_of(status: str) -> str:
    if status == "ok":
        return "ok"
    if status == "pending":
        return "pending"
    return "failed"


def layout(
    lineage: dict[str, Any],
    direction: str = "maximize",
    best_candidate_id: str | None = None,
    *,
    limit: int = DEFAULT_LIMIT,
    top: int | None = None,
    secondary: bool = False,
) -> LineageLayout:
    """Lay out `Repository.lineage(run_id)`; see `LineageLayout`.

    Past `limit` candidates the seed, the best path and the `top` best scorers
    (default: a twentieth of the limit) are kept, even beyond the limit, and an even
    spread of the rest fills what room is left.
    `secondary` adds the inspiration and crossover links between shown candidates.
    """
    raw = sorted(lineage.get("nodes", []), key=lambda node: node["seq"])
    n = len(raw)
    ids = [node["id"] for node in raw]
    index = {cid: i for i, cid in enumerate(ids)}
    statuses = [str(node["status"]) for node in raw]
    scores = np.array(
        [
            # Only results rank or colour a node: a minibatch screen's score is not one.
            float(node["score"]) if is_result(status, node["score"], node.get("stage")) else np.nan
            for node, status in zip(raw, statuses, strict=True)
        ],
        dtype=float,
    )
    screens = np.array(
        [
            float(node["score"])
            if is_screened(status, node["score"], node.get("stage"))
            else np.nan
            for node, status in zip(raw, statuses, strict=True)
        ],
        dtype=float,
    )
    ranks = _percentiles(scores, direction)
    parent = [index.get(node["parent_id"], -1) if node["parent_id"] else -1 for node in raw]
    preorder, parent = _preorder(parent)
    depth = _depths(preorder, parent)
    best = _best(best_candidate_id, index, scores, direction)
    on_best = np.zeros(n, dtype=bool)
    if best is not None:
        for i in _ancestry(best, parent):
            on_best[i] = True

    kept, kept_top = _keep(raw, parent, scores, on_best, direction, limit, top)
    shown_parent = _nearest_kept(preorder, parent, kept)
    kept_order = [i for i in preorder if kept[i]]
    y = _rows(kept_order, shown_parent)

    keep_idx = np.array(kept_order, dtype=np.int64)
    up = np.array([shown_parent[i] for i in kept_order], dtype=np.int64)
    up = np.where(up >= 0, up, keep_idx)  # a root's edge is itself: nothing is drawn
    outcomes = [outcome_of(status) for status in statuses]
    nodes = pd.DataFrame(
        {
            "id": [ids[i] for i in kept_order],
            "seq": [int(raw[i]["seq"]) for i in kept_order],
            # Object columns, so a root's parent reads None rather than NaN.
            "parent_id": pd.Series([raw[i]["parent_id"] for i in kept_order], dtype=object),
            "shown_parent_id": pd.Series(
                [ids[p] if (p := shown_parent[i]) >= 0 else None for i in kept_order],
                dtype=object,
            ),
            "generation": [int(raw[i]["generation"] or 0) for i in kept_order],
            "island": [int(raw[i]["island"] or 0) for i in kept_order],
            "kind": [raw[i]["kind"] for i in kept_order],
            "proposer": [raw[i].get("proposer") or "" for i in kept_order],
            "status": [statuses[i] for i in kept_order],
            "outcome": [outcomes[i] for i in kept_order],
            "score": scores[keep_idx],
            "reason": [raw[i].get("reason") or "" for i in kept_order],
            "x": depth[keep_idx],
            "y": y[keep_idx],
            "px": depth[up],
            "py": y[up],
            "skipped": np.maximum(depth[keep_idx] - depth[up] - 1, 0),
            "best_path": on_best[keep_idx],
            "screen": screens[keep_idx],
            "rank": ranks[keep_idx],
        },
        columns=NODE_COLUMNS,
    )
    links = (
        _secondary(lineage.get("edges", []), index, kept, shown_parent, depth, y)
        if secondary
        else pd.DataFrame(columns=LINK_COLUMNS)
    )
    failed = [i for i in range(n) if outcomes[i] == "failed"]
    failures = pd.DataFrame(
        {
            "id": [ids[i] for i in failed],
            "seq": [int(raw[i]["seq"]) for i in failed],
            "generation": [int(raw[i]["generation"] or 0) for i in failed],
            "island": [int(raw[i]["island"] or 0) for i in failed],
            "kind": [raw[i]["kind"] for i in failed],
            "status": [statuses[i] for i in failed],
            "reason": [raw[i].get("reason") or "" for i in failed],
        },
        columns=FAILURE_COLUMNS,
    )
    counts = dict.fromkeys(("ok", "pending", *FAILED_STATUSES), 0)
    for status in statuses:
        counts[status] = counts.get(status, 0) + 1
    return LineageLayout(
        nodes=nodes,
        links=links,
        failures=failures,
        total=n,
        hidden=n - len(kept_order),
        best_id=ids[best] if best is not None else None,
        kept_top=kept_top,
        counts=counts,
    )


# -- the tree -------------------------------------------------------------------------


def _preorder(parent: list[int]) -> tuple[list[int], list[int]]:
    """Depth-first order, children by seq (their index), and the parents actually used:
    a parent link that would close a cycle is cut, making that candidate a root."""
    n = len(parent)
    children: list[list[int]] = [[] for _ in range(n)]
    roots: list[int] = []
    for i, p in enumerate(parent):
        if p < 0 or p == i:
            roots.append(i)
        else:
            children[p].append(i)
    parent = [p if p != i else -1 for i, p in enumerate(parent)]
    seen = [False] * n
    order: list[int] = []

    def walk(root: int) -> None:
        stack = [root]
        while stack:
            i = stack.pop()
            if seen[i]:
                continue
            seen[i] = True
            order.append(i)
            stack.extend(reversed(children[i]))

    for root in roots:
        walk(root)
    if len(order) < n:  # only cycles are left: cut each at its first unseen member
        for i in range(n):
            if not seen[i]:
                parent[i] = -1
                walk(i)
    return order, parent


def _depths(preorder: list[int], parent: list[int]) -> np.ndarray:
    depth = np.zeros(len(parent), dtype=np.int64)
    values = [0] * len(parent)
    for i in preorder:  # parents come before their children
        p = parent[i]
        values[i] = values[p] + 1 if p >= 0 else 0
    depth[:] = values
    return depth


def _ancestry(i: int, parent: list[int]) -> Iterable[int]:
    while i >= 0:
        yield i
        i = parent[i]


def _best(
    wanted: str | None, index: dict[str, int], scores: np.ndarray, direction: str
) -> int | None:
    """The run's best candidate; worked out from the scores if the run names none."""
    if wanted is not None and wanted in index:
        return index[wanted]
    if not len(scores) or np.isnan(scores).all():
        return None
    return int(np.nanargmin(scores) if direction == "minimize" else np.nanargmax(scores))


def _percentiles(scores: np.ndarray, direction: str) -> np.ndarray:
    """Each result's percentile rank in the task's direction (1 the best, ties share
    their mean rank), NaN for the rest. A colour scale over scores spends its range on
    the early, poor candidates of a long run, leaving the good ones one shade; over
    ranks every tenth of the run gets a tenth of the scale."""
    ranks = np.full(len(scores), np.nan)
    valid = ~np.isnan(scores)
    if valid.any():
        better = pd.Series(scores[valid] if direction != "minimize" else -scores[valid])
        ranks[valid] = better.rank(method="average", pct=True).to_numpy()
    return ranks


def _keep(
    raw: list[dict[str, Any]],
    parent: list[int],
    scores: np.ndarray,
    on_best: np.ndarray,
    direction: str,
    limit: int,
    top: int | None,
) -> tuple[np.ndarray, int]:
    """Which candidates to show, and how many were kept for their score."""
    n = len(raw)
    if n <= limit:
        return np.ones(n, dtype=bool), 0
    kept = on_best.copy()
    for i, node in enumerate(raw):
        if parent[i] < 0 or node["kind"] == "seed":
            kept[i] = True
    top = max(1, limit // 20) if top is None else top
    valid = np.flatnonzero(~np.isnan(scores))
    # Stable sorts on seq order: ties go to the earlier candidate.
    key = scores[valid] if direction == "minimize" else -scores[valid]
    best_first = valid[np.argsort(key, kind="stable")]
    chosen_top = best_first[: min(top, limit)]
    kept[chosen_top] = True
    rest = np.flatnonzero(~kept)
    room = max(0, limit - int(kept.sum()))
    if room and len(rest):
        picks = (np.arange(room, dtype=np.int64) * len(rest)) // room
        kept[rest[np.unique(picks)]] = True
    return kept, len(chosen_top)


def _nearest_kept(preorder: list[int], parent: list[int], kept: np.ndarray) -> list[int]:
    """For each candidate, its nearest kept proper ancestor (-1 if none)."""
    nearest = [-1] * len(parent)
    for i in preorder:
        p = parent[i]
        if p >= 0:
            nearest[i] = p if kept[p] else nearest[p]
    return nearest


def _rows(kept_order: list[int], shown_parent: list[int]) -> np.ndarray:
    """Tidy rows: leaves numbered in depth-first order, each parent centred between its
    first and last child, so no two candidates at one depth share a row."""
    y = np.zeros(len(shown_parent), dtype=float)
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    for i in kept_order:
        p = shown_parent[i]
        if p >= 0:
            first.setdefault(p, i)
            last[p] = i
    leaf = 0
    values: dict[int, float] = {}
    for i in kept_order:
        if i not in first:
            values[i] = float(leaf)
            leaf += 1
    for i in reversed(kept_order):  # children before their parents
        if i in first:
            values[i] = (values[first[i]] + values[last[i]]) / 2
    for i, value in values.items():
        y[i] = value
    return y


def _secondary(
    raw_edges: list[dict[str, Any]],
    index: dict[str, int],
    kept: np.ndarray,
    shown_parent: list[int],
    depth: np.ndarray,
    y: np.ndarray,
) -> pd.DataFrame:
    """Inspiration and crossover links between shown candidates, less any that repeat a
    drawn parent edge."""
    pairs: list[tuple[int, int, str]] = []
    for edge in raw_edges:
        if edge["kind"] == "parent":
            continue
        child, other = index.get(edge["child_id"], -1), index.get(edge["parent_id"], -1)
        if child < 0 or other < 0 or not (kept[child] and kept[other]):
            continue
        if shown_parent[child] == other:
            continue
        pairs.append((child, other, edge["kind"]))
    children = np.array([c for c, _, _ in pairs], dtype=np.int64)
    others = np.array([o for _, o, _ in pairs], dtype=np.int64)
    ids = {i: cid for cid, i in index.items()}
    return pd.DataFrame(
        {
            "child_id": [ids[i] for i in children],
            "parent_id": [ids[i] for i in others],
            "kind": [k for _, _, k in pairs],
            "x": depth[others],
            "y": y[others],
            "x2": depth[children],
            "y2": y[children],
        },
        columns=LINK_COLUMNS,
    )
