"""The `cloudcast` task on the public ADRS protocol: its 5 configurations, its simulator's
rules, the leaderboard's score, and what a candidate on that path can and cannot do."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from support.public_data import require_public

from evoforge.evaluators.cloudcast import HERE, evoforge_tasks
from evoforge.evaluators.cloudcast.evaluate import evaluate
from evoforge.evaluators.cloudcast.public_protocol import CONFIGS, public_instances
from evoforge.evaluators.cloudcast.public_simulator import (
    public_dijkstra,
    public_score,
    simulate,
)
from evoforge.evaluators.cloudcast.workload import SPLITS

PUBLISHED_BASELINE_SCORE = 26.737131608352556
"""UCB-ADRS/ADRS-Leaderboard `results/cloudcast/baseline/results.json`."""


@pytest.fixture(scope="module")
def instances() -> list[dict[str, Any]]:
    require_public("adrs_public/cloudcast")
    return public_instances()


def write(tmp_path: Path, body: str) -> str:
    path = tmp_path / "policy.py"
    path.write_text(body, "utf-8")
    return str(path)


def returning(tmp_path: Path, expression: str, prelude: str = "") -> str:
    """A policy returning `expression`, every argument of broadcast() at hand."""
    return write(
        tmp_path,
        "def broadcast(source, destinations, regions, price_per_gb, throughput_gbps,\n"
        "              volume_gb, required_gbps):\n"
        f"{prelude}"
        f"    return {expression}\n",
    )


def one_path_each(instance: dict[str, Any], paths: dict[str, list[str]]) -> dict[str, Any]:
    return {d: [paths[d]] * instance["num_partitions"] for d in instance["destinations"]}


def test_the_instances_carry_every_price_and_limit_as_plain_data(
    instances: list[dict[str, Any]],
) -> None:
    assert [i["id"] for i in instances] == list(CONFIGS)
    assert all(i["protocol"] == "public" for i in instances)
    assert json.loads(json.dumps(instances)) == instances
    first = instances[0]
    names = [r["name"] for r in first["regions"]]
    assert len(names) == 71 and all(r["continent"] for r in first["regions"])
    assert all(len(first["price_per_gb"][u]) == 70 for u in names)
    assert all(len(first["throughput_gbps"][u]) == 70 for u in names)
    for instance in instances:
        assert instance["volume_gb"] == 300 and instance["num_partitions"] == 10
        assert set(instance["destinations"]) <= set(names) and instance["source"] in names
        # the leaderboard runs 2 VMs per region and scales the providers' limits by them
        assert instance["egress_limit_gbps"] == {"aws": 10, "gcp": 14, "azure": 32}
        assert instance["ingress_limit_gbps"] == {"aws": 20, "gcp": 32, "azure": 32}


def test_the_public_dijkstra_baseline_scores_as_published(instances: list[dict[str, Any]]) -> None:
    costs, egress = [], []
    for instance in instances:
        paths = public_dijkstra(instance)
        costs.append(simulate(instance, one_path_each(instance, paths)).cost_usd)
        # every partition follows one tree, so egress is 300 GB x the distinct edges' prices
        edges = {(u, v) for p in paths.values() for u, v in zip(p[:-1], p[1:], strict=True)}
        egress.append(300 * sum(instance["price_per_gb"][u][v] for u, v in edges))
    total = sum(costs)
    assert round(total, 2) == 1045.86
    assert round(public_score(total), 2) == 26.74
    assert public_score(total) == pytest.approx(PUBLISHED_BASELINE_SCORE, abs=1e-9)
    assert round(sum(egress), 2) == 1035.00  # the rest, $10.86, is VM time


def test_the_task_baseline_run_as_a_candidate_scores_the_public_figure(
    instances: list[dict[str, Any]],
) -> None:
    result = evaluate(str(HERE / "baseline_shortest_paths.py"), instances)
    assert result.valid, result.reason
    assert round(result.score, 2) == 26.74
    assert round(result.metrics["public_cost_usd"], 2) == 1045.86
    assert result.metrics["public_score"] == result.score
    parts = result.metrics["public_egress_usd"] + result.metrics["public_instance_usd"]
    assert parts == pytest.approx(result.metrics["public_cost_usd"])
    assert set(result.instance_scores or {}) == set(CONFIGS)
    assert "$1,045.86" in result.feedback and "inter_gaz2: $305.57" in result.feedback


def toy(partitions: int = 4) -> dict[str, Any]:
    """Source aws:s feeding gcp:x and gcp:y; figures small enough to follow by hand."""
    names = ["aws:s", "gcp:x", "gcp:y"]
    gbps = {u: {v: 8.0 for v in names if v != u} for u in names}
    gbps["gcp:x"]["gcp:y"] = 30.0
    price = {u: {v: 0.09 if u == "aws:s" else 0.02 for v in names if v != u} for u in names}
    return {
        "protocol": "public",
        "id": "toy",
        "source": "aws:s",
        "destinations": ["gcp:x", "gcp:y"],
        "price_per_gb": price,
        "throughput_gbps": gbps,
        "volume_gb": 100.0,
        "num_partitions": partitions,
        "num_vms": 2,
        "ingress_limit_gbps": {"aws": 20, "gcp": 32},
        "egress_limit_gbps": {"aws": 10, "gcp": 14},
        "instance_usd_per_hour": 0.54,
    }


def test_limits_cap_flows_and_each_edge_pays_for_the_partitions_it_carries() -> None:
    instance = toy()
    direct = simulate(
        instance, {"gcp:x": [["aws:s", "gcp:x"]] * 4, "gcp:y": [["aws:s", "gcp:y"]] * 4}
    )
    # aws:s sends 8 + 8 Gbps over an egress limit of 10: each edge gets 10 / 2 = 5 Gbps,
    # so 4 partitions of 25 GB take 100 x 8 / 5 = 160 s; 3 regions x 2 VMs x $0.54/h
    assert direct.transfer_s == pytest.approx(160.0)
    assert direct.egress_usd == pytest.approx(2 * 100 * 0.09)
    assert direct.instance_usd == pytest.approx(3 * 2 * 0.54 * 160 / 3600)
    relay = ["aws:s", "gcp:x", "gcp:y"]
    split = simulate(
        instance,
        {"gcp:x": [["aws:s", "gcp:x"]] * 4, "gcp:y": [relay, relay, ["aws:s", "gcp:y"]] + [relay]},
    )
    # aws:s -> gcp:x carries 4 partitions, gcp:x -> gcp:y 3 (capped to gcp's 14 Gbps), the
    # direct edge 1; the slowest edge is still aws:s -> gcp:x at 5 Gbps
    assert split.egress_usd == pytest.approx(4 * 25 * 0.09 + 3 * 25 * 0.02 + 25 * 0.09)
    assert split.transfer_s == pytest.approx(160.0)
    assert split.edges == 3 and split.regions == 3


def test_the_score_is_linear_between_the_leaderboard_bounds_and_clamped() -> None:
    assert public_score(1199.0) == 0.0 and public_score(5000.0) == 0.0
    assert public_score(626.24) == 100.0 and public_score(1.0) == 100.0
    assert public_score((1199.0 + 626.24) / 2) == pytest.approx(50.0)


def test_per_partition_paths_are_accepted_and_priced_per_partition(
    tmp_path: Path, instances: list[dict[str, Any]]
) -> None:
    sample = instances[:1]
    single = evaluate(str(HERE / "baseline_shortest_paths.py"), sample)
    prelude = (
        "    from evoforge.evaluators.cloudcast.baseline_shortest_paths import cheapest_paths\n"
        "    paths = cheapest_paths(source, price_per_gb, throughput_gbps, required_gbps)\n"
    )
    path = returning(tmp_path, "{d: [paths[d]] * 10 for d in destinations}", prelude)
    split = evaluate(path, sample)
    assert split.valid, split.reason
    assert split.metrics["public_cost_usd"] == single.metrics["public_cost_usd"]
    # one sampled configuration is read on the 5-configuration scale
    assert split.score == pytest.approx(public_score(5 * split.metrics["public_cost_usd"]))


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("{'cost_usd': 0.0}", "intra_aws: a path is given for 'cost_usd'"),
        ("[[source, d] for d in destinations]", "intra_aws: broadcast() returned list"),
        ("{d: [[source, d]] * 3 for d in destinations}", "3 partition paths; give one path"),
        ("{d: [[source, d, 0.0]] * 10 for d in destinations}", "is not a list of region names"),
        ("{d: 7 for d in destinations}", "is not a list of region names"),
        ("{d: [d] for d in destinations}", "not at the source"),
        ("{d: [source, 'aws:mars-1', d] for d in destinations}", "unknown region"),
    ],
)
def test_a_garbage_plan_is_rejected_with_the_configuration_named(
    tmp_path: Path, instances: list[dict[str, Any]], expression: str, reason: str
) -> None:
    result = evaluate(returning(tmp_path, expression), instances[:1])
    assert not result.valid and result.score is None
    assert reason in result.reason


def test_a_plan_cannot_bring_its_own_prices_or_throughputs(
    tmp_path: Path, instances: list[dict[str, Any]]
) -> None:
    # zeroing its copy of the prices and inflating the throughputs changes nothing: the
    # evaluator prices and times the paths from its own instance
    prelude = (
        "    for row in price_per_gb.values():\n"
        "        for v in row: row[v] = 0.0\n"
        "    for row in throughput_gbps.values():\n"
        "        for v in row: row[v] = 1e9\n"
    )
    path = returning(tmp_path, "{d: [source, d] for d in destinations}", prelude)
    result = evaluate(path, instances[:2])
    expected = sum(
        simulate(i, one_path_each(i, {d: [i["source"], d] for d in i["destinations"]})).cost_usd
        for i in instances[:2]
    )
    assert result.metrics["public_cost_usd"] == pytest.approx(expected)
    assert result.metrics["public_cost_usd"] > 100


def test_public_and_task_instances_are_not_mixed(instances: list[dict[str, Any]]) -> None:
    result = evaluate(str(HERE / "seed_program.py"), [*instances[:1], *SPLITS["train"][:1]])
    assert not result.valid and "public and task instances in one evaluation" in result.reason


def test_the_task_names_its_public_protocol(instances: list[dict[str, Any]]) -> None:
    module, _, function = evoforge_tasks()[0].public_protocol.partition(":")
    loader = getattr(__import__(module, fromlist=[function]), function)
    assert [i["id"] for i in loader()] == [i["id"] for i in instances]
