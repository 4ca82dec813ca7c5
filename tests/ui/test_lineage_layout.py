"""The lineage chart's layout: where candidates sit, which line is the best one, what
stays visible when a run is too big to draw whole, and that big runs stay fast."""

from __future__ import annotations

import math
import random
import time
from typing import Any

import numpy as np
import pandas as pd
import pytest

from evoforge.ui.lineage_layout import layout


def node(
    cid: str,
    seq: int,
    parent: str | None,
    score: float | None = None,
    status: str = "ok",
    reason: str = "",
    island: int = 0,
    kind: str = "mutation",
) -> dict[str, Any]:
    return {
        "id": cid,
        "seq": seq,
        "parent_id": parent,
        "generation": 0,
        "island": island,
        "kind": kind,
        "proposer": "test",
        "note": "",
        "status": status,
        "score": score,
        "reason": reason,
        "created_at": "2026-01-01T00:00:00+00:00",
    }


def graph(nodes: list[dict[str, Any]], extra: list[tuple[str, str, str]] = ()) -> dict[str, Any]:
    edges = [
        {"child_id": n["id"], "parent_id": n["parent_id"], "kind": "parent"}
        for n in nodes
        if n["parent_id"]
    ]
    edges += [{"child_id": c, "parent_id": p, "kind": k} for c, p, k in extra]
    return {"run_id": "r", "nodes": nodes, "edges": edges}


def small_tree() -> list[dict[str, Any]]:
    """seed -> a -> (c, d, e); seed -> b -> f -> g. Listed out of order on purpose."""
    return [
        node("g", 7, "f", 5.0),
        node("e", 5, "a", 0.5, status="crashed", reason="killed by signal 9"),
        node("seed", 0, None, 1.0, kind="seed"),
        node("b", 2, "seed", 2.0),
        node("a", 1, "seed", 3.0),
        node("d", 4, "a", 9.0),
        node("c", 3, "a", 2.5),
        node("f", 6, "b", 4.0),
    ]


def by_id(frame: pd.DataFrame) -> dict[str, dict[str, Any]]:
    return {row["id"]: row for row in frame.to_dict("records")}


def random_run(n: int, seed: int = 3) -> list[dict[str, Any]]:
    """A branching run: parents drawn from recent candidates, a fifth of them failing."""
    rng = random.Random(seed)
    nodes = [node("n0", 0, None, 0.0, kind="seed")]
    for i in range(1, n):
        parent = nodes[max(0, i - 1 - int(rng.expovariate(1 / 20)))]["id"]
        if rng.random() < 0.2:
            nodes.append(node(f"n{i}", i, parent, status="invalid", reason=f"bad {i}"))
        else:
            nodes.append(node(f"n{i}", i, parent, rng.random() + i / n, island=i % 3))
    return nodes


def nearest_kept_ancestor(nodes: list[dict[str, Any]], cid: str, kept: set[str]) -> str | None:
    parents = {n["id"]: n["parent_id"] for n in nodes}
    up = parents[cid]
    while up is not None and up not in kept:
        up = parents[up]
    return up


def test_parents_sit_centred_over_their_children_and_no_two_candidates_share_a_spot() -> None:
    found = layout(graph(small_tree()), "maximize", "g")
    nodes = by_id(found.nodes)

    # Depth along primary parents is the x position.
    assert {cid: n["x"] for cid, n in nodes.items()} == {
        "seed": 0, "a": 1, "b": 1, "c": 2, "d": 2, "e": 2, "f": 2, "g": 3,
    }  # fmt: skip
    # Leaves take rows in depth-first order with children by seq: c, d, e, then g.
    assert [nodes[c]["y"] for c in ("c", "d", "e", "g")] == [0, 1, 2, 3]
    assert nodes["a"]["y"] == (nodes["c"]["y"] + nodes["e"]["y"]) / 2
    assert nodes["f"]["y"] == nodes["g"]["y"] and nodes["b"]["y"] == nodes["f"]["y"]
    assert nodes["seed"]["y"] == (nodes["a"]["y"] + nodes["b"]["y"]) / 2
    assert not found.nodes.duplicated(["x", "y"]).any()
    # Each parent edge runs from the parent's spot to the child's.
    assert (nodes["d"]["px"], nodes["d"]["py"], nodes["d"]["x"], nodes["d"]["y"]) == (
        1, nodes["a"]["y"], 2, 1,
    )  # fmt: skip


def test_rows_never_collide_within_a_depth_in_a_bushy_run() -> None:
    found = layout(graph(random_run(2_000)), "maximize")

    assert not found.nodes.duplicated(["x", "y"]).any()
    # Parents are centred between their first and last shown child.
    nodes = found.nodes.set_index("id")
    spans = found.nodes.groupby("shown_parent_id")["y"].agg(["min", "max"])
    centres = (spans["min"] + spans["max"]) / 2
    assert (nodes.loc[centres.index, "y"] == centres).all()


def test_the_best_path_is_exactly_the_ancestry_of_the_best() -> None:
    found = layout(graph(small_tree()), "maximize", "g")

    on_path = set(found.nodes.loc[found.nodes["best_path"], "id"])
    assert on_path == {"seed", "b", "f", "g"}
    # The page draws a best-path edge into every best-path node that has a parent.
    best_edges = found.nodes[found.nodes["best_path"] & found.nodes["shown_parent_id"].notna()]
    assert set(zip(best_edges["shown_parent_id"], best_edges["id"], strict=True)) == {
        ("seed", "b"), ("b", "f"), ("f", "g"),
    }  # fmt: skip
    assert found.best_id == "g"


def test_without_a_named_best_the_best_score_in_the_tasks_direction_is_used() -> None:
    nodes = small_tree()
    highest = layout(graph(nodes), "maximize", None)
    lowest = layout(graph(nodes), "minimize", None)

    assert highest.best_id == "d"  # 9.0
    assert set(highest.nodes.loc[highest.nodes["best_path"], "id"]) == {"seed", "a", "d"}
    # e's 0.5 is lowest, but e crashed: its score does not count.
    assert lowest.best_id == "seed"
    assert set(lowest.nodes.loc[lowest.nodes["best_path"], "id"]) == {"seed"}


def test_failed_candidates_are_drawn_with_their_reason_and_counted() -> None:
    nodes = [
        node("seed", 0, None, 1.0, kind="seed"),
        node("i", 1, "seed", 7.0, status="invalid", reason="circles overlap"),
        node("f", 2, "seed", status="failed", reason="SyntaxError at line 3"),
        node("t", 3, "i", status="timeout", reason="took over 30 s"),
        node("p", 4, "seed", status="pending"),
    ]
    found = layout(graph(nodes), "maximize", "seed")
    shown = by_id(found.nodes)

    assert set(shown) == {"seed", "i", "f", "t", "p"}
    assert [shown[c]["outcome"] for c in ("seed", "i", "f", "t", "p")] == [
        "ok", "failed", "failed", "failed", "pending",
    ]  # fmt: skip
    assert shown["f"]["reason"] == "SyntaxError at line 3"
    assert pd.isna(shown["i"]["score"]) and pd.isna(shown["p"]["score"])
    assert list(found.failures["id"]) == ["i", "f", "t"]
    assert list(found.failures["reason"]) == [
        "circles overlap", "SyntaxError at line 3", "took over 30 s",
    ]  # fmt: skip
    assert found.failed == 3
    assert found.counts == {
        "ok": 1, "pending": 1, "invalid": 1, "failed": 1, "timeout": 1, "crashed": 0,
    }  # fmt: skip


def test_past_the_limit_the_seed_best_path_and_top_scorers_stay_and_relink() -> None:
    nodes = random_run(3_000)
    scored = [n for n in nodes if n["status"] == "ok"]
    best = max(scored, key=lambda n: n["score"])
    top = {n["id"] for n in sorted(scored, key=lambda n: -n["score"])[:40]}

    found = layout(graph(nodes), "maximize", best["id"], limit=500, top=40)

    kept = set(found.nodes["id"])
    assert len(kept) == 500 and found.hidden == 2_500 and found.shown == 500
    assert found.total == 3_000
    assert "n0" in kept
    path = set(found.nodes.loc[found.nodes["best_path"], "id"])
    parents = {n["id"]: n["parent_id"] for n in nodes}
    ancestry, up = set(), best["id"]
    while up is not None:
        ancestry.add(up)
        up = parents[up]
    assert path == ancestry and ancestry <= kept
    assert top <= kept
    assert found.kept_top == 40  # what the page reports as "the top 40 by score"
    # Each kept candidate hangs from its nearest kept ancestor, skipping the hidden.
    rows = by_id(found.nodes)
    for cid, row in rows.items():
        assert row["shown_parent_id"] == nearest_kept_ancestor(nodes, cid, kept)
        if row["shown_parent_id"] is not None:
            parent = rows[row["shown_parent_id"]]
            assert row["skipped"] == row["x"] - parent["x"] - 1
    assert found.nodes["shown_parent_id"].notna().sum() == 499  # edges drawn
    assert (found.nodes["skipped"] > 0).any()
    # Failures hidden from the chart still appear in the failures table.
    assert len(found.failures) == sum(n["status"] == "invalid" for n in nodes)


def test_the_sample_is_deterministic_and_spread_over_the_whole_run() -> None:
    nodes = random_run(5_000)
    first = layout(graph(nodes), "maximize", limit=1_000)
    again = layout(graph(list(reversed(nodes))), "maximize", limit=1_000)

    pd.testing.assert_frame_equal(first.nodes, again.nodes)
    seqs = sorted(first.nodes["seq"])
    assert max(b - a for a, b in zip(seqs, seqs[1:], strict=False)) <= 10
    # Every status keeps roughly its share: failures are not sampled away.
    share = (first.nodes["outcome"] == "failed").mean()
    assert 0.12 < share < 0.28


def test_inspiration_and_crossover_links_join_shown_candidates_only() -> None:
    nodes = small_tree()
    extra = [("g", "d", "inspiration"), ("f", "c", "crossover"), ("d", "a", "inspiration")]

    plain = layout(graph(nodes, extra), "maximize", "g")
    linked = layout(graph(nodes, extra), "maximize", "g", secondary=True)

    assert plain.links.empty
    links = linked.links
    # d -> a repeats d's parent edge and is drawn once.
    assert set(zip(links["parent_id"], links["child_id"], links["kind"], strict=True)) == {
        ("d", "g", "inspiration"), ("c", "f", "crossover"),
    }  # fmt: skip


def test_a_parent_outside_the_run_makes_its_child_a_root() -> None:
    nodes = [node("seed", 0, None, 1.0), node("x", 1, "elsewhere", 2.0), node("y", 2, "x", 3.0)]
    found = layout(graph(nodes), "maximize", "y")
    rows = by_id(found.nodes)

    assert rows["x"]["x"] == 0 and rows["y"]["x"] == 1
    assert rows["x"]["shown_parent_id"] is None
    assert set(found.nodes.loc[found.nodes["best_path"], "id"]) == {"x", "y"}


def test_a_20000_deep_chain_lays_out_without_recursion() -> None:
    depth = 20_000
    nodes = [node(f"c{i}", i, f"c{i - 1}" if i else None, float(i)) for i in range(depth)]

    found = layout(graph(nodes), "maximize", f"c{depth - 1}")

    assert found.nodes["x"].max() == depth - 1
    assert found.nodes["best_path"].all()
    assert (found.nodes["y"] == 0).all()


@pytest.mark.parametrize("candidates", [5_000])
def test_5000_candidates_lay_out_in_under_a_second(candidates: int) -> None:
    run = graph(random_run(candidates))
    started = time.perf_counter()
    found = layout(run, "maximize")
    elapsed = time.perf_counter() - started

    assert found.shown == candidates
    assert elapsed < 1.0, f"{candidates:,} candidates took {elapsed:.2f} s"


def test_rank_colouring_separates_the_top_of_a_2000_node_lineage() -> None:
    """A long run climbs fast and then refines: on a score scale its top tenth is one
    shade; ranked, the top tenth spans a tenth of the scale and the best stands out."""
    rng = random.Random(5)
    nodes = [node("n0", 0, None, 0.0, kind="seed")]
    for i in range(1, 2_000):
        parent = nodes[max(0, i - 1 - int(rng.expovariate(1 / 20)))]["id"]
        score = 1.0 - math.exp(-i / 100) + rng.random() * 1e-6
        nodes.append(node(f"n{i}", i, parent, score))
    lucky = node("screen", 2_000, "n1999", 50.0)  # a minibatch screen: never ranked
    lucky["stage"] = "minibatch"
    nodes.append(lucky)

    found = layout(graph(nodes), "maximize").nodes.set_index("id")

    results = found[found["score"].notna()]
    top = results["score"].nlargest(len(results) // 10).index
    shade = (results["score"] - results["score"].min()) / np.ptp(results["score"])
    assert np.ptp(shade[top]) < 0.01  # the score scale: one colour for the top tenth
    assert np.ptp(results.loc[top, "rank"]) >= 0.09
    best = results["score"].idxmax()
    runner_up = results["score"].drop(best).idxmax()
    assert results.loc[best, "rank"] == 1.0
    assert results.loc[best, "rank"] - results.loc[runner_up, "rank"] >= 1 / len(results) - 1e-9
    assert np.isnan(found.loc["screen", "rank"])
    assert found.loc["n0", "rank"] == results["rank"].min()


def test_a_minimising_runs_best_has_the_top_rank() -> None:
    found = by_id(layout(graph(small_tree()), "minimize").nodes)
    assert found["a"]["rank"] < found["seed"]["rank"] == 1.0
    assert np.isnan(found["e"]["rank"])  # crashed: no result, no rank
