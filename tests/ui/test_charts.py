"""The run page's figures as a user reads them: every MAP-Elites bin on the axes, a
grid that fits its column, whole-number evaluation ticks, and each island's best
line with the ring migrations marked where the strategy made them."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from conftest import SeededStore
from frame_points import point
from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df
from streamlit.testing.v1 import AppTest

from evoforge.ui import charts, frames


def spec_of(chart: Any) -> dict[str, Any]:
    return chart.to_dict()


def encodings(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """Every encoding block of a (possibly layered or faceted) spec."""
    found = []
    for part in [spec, spec.get("spec", {}), *spec.get("layer", [])]:
        if "encoding" in part:
            found.append(part["encoding"])
    return found


def test_the_map_elites_grid_keeps_empty_bins_on_its_axes() -> None:
    # Code lengths 0 and 100 only: with 10 bins, bins 1 to 8 hold nobody.
    points = frames.points_frame(
        [
            point(1, score=1.0, code_length=0, metrics={"m": 0.0}),
            point(2, score=2.0, code_length=100, metrics={"m": 1.0}),
            point(3, score=3.0, code_length=100, metrics={"m": 1.0}, island=1),
        ]
    )
    for features in (["code_length"], ["code_length", "m"]):
        grid = frames.elite_grid(points, features, bins=10, direction="maximize")
        assert sorted(set(grid["x_bin"])) == [0, 9]
        encoding = encodings(spec_of(charts.elite_grid(grid, features, "maximize")))[0]
        assert encoding["x"]["scale"]["domain"] == list(range(10))
        if len(features) == 2:
            # Bin 0 at the bottom: the domain runs top to bottom.
            assert encoding["y"]["scale"]["domain"] == list(range(9, -1, -1))


def test_the_map_elites_panels_wrap_two_a_row_to_fit_a_half_width_column() -> None:
    points = frames.points_frame(
        [
            point(n, score=float(n), code_length=n * 10, metrics={"m": float(n % 3)}, island=n % 8)
            for n in range(1, 41)
        ]
    )
    grid = frames.elite_grid(points, ["code_length", "m"], bins=10, direction="maximize")
    spec = spec_of(charts.elite_grid(grid, ["code_length", "m"], "maximize"))
    assert spec["columns"] == 2
    panels = spec["columns"] * spec["spec"]["width"]
    # Two panels, the y axis and the gap fit a half-width column on a 1280-px screen;
    # the legend sits below, not beside them.
    assert panels + 120 <= 480
    assert encodings(spec)[0]["color"]["legend"]["orient"] == "bottom"


def test_a_small_run_gets_whole_number_evaluation_ticks() -> None:
    points = frames.points_frame([point(1, score=1.0), point(2, score=2.0), point(3, score=1.5)])
    best = frames.best_so_far(points, "maximize")
    figures = [
        charts.best_over_time(points, best, 1.0, None, "score"),
        charts.island_best_over_time(points, "maximize", "score", None),
    ]
    for figure in figures:
        axes = [e["x"] for e in encodings(spec_of(figure)) if "field" in e.get("x", {})]
        assert axes
        for x in axes:
            assert x["axis"]["format"] == "d" and x["axis"]["tickMinStep"] == 1


def test_each_islands_best_line_reaches_the_last_evaluation() -> None:
    points = frames.points_frame(
        [
            point(1, score=1.0, island=0),
            point(2, score=5.0, island=1),
            point(3, score=2.0, island=0),
            point(4, score=9.0, island=0, stage="minibatch"),  # a screen: no result
            point(5, "failed", island=1),
        ]
    )
    best = frames.island_best_so_far(points, "maximize")
    by_island = {
        i: list(zip(g["evaluation_seq"], g["best"], strict=True)) for i, g in best.groupby("island")
    }
    assert by_island[0] == [(1, 1.0), (3, 2.0), (5, 2.0)]
    assert by_island[1] == [(2, 5.0), (5, 5.0)]


def test_the_island_chart_marks_a_migration_after_every_interval_of_valid_children() -> None:
    # The seed is placed before the strategy counts; failures are never admitted.
    rows = [point(0, score=1.0, kind="seed")]
    rows += [
        point(n, "failed" if n % 5 == 0 else "ok", None if n % 5 == 0 else float(n), island=n % 2)
        for n in range(1, 13)
    ]
    points = frames.points_frame(rows)
    moved = frames.migrations(points, 3)
    # Valid children: 1 2 3 4 6 7 8 9 11 12 -> a migration after the 3rd, 6th and 9th.
    assert list(moved["evaluation_seq"]) == [3, 7, 11]
    spec = spec_of(charts.island_best_over_time(points, "maximize", "score", 3))
    rules = [layer for layer in spec["layer"] if layer["mark"]["type"] == "rule"]
    assert len(rules) == 1
    marked = spec["datasets"][rules[0]["data"]["name"]]
    assert [row["evaluation_seq"] for row in marked] == [3, 7, 11]
    assert "migrations" in spec["title"]["subtitle"]


def test_only_a_multi_island_run_of_the_island_strategy_migrates() -> None:
    assert frames.migration_interval({}) == 20  # the island strategy's defaults
    assert frames.migration_interval({"strategy_options": {"migration_interval": 7}}) == 7
    assert frames.migration_interval({"strategy_options": {"islands": 1}}) is None
    assert frames.migration_interval({"strategy": "pareto"}) is None
    assert frames.migration_interval({"strategy_options": {"migration_interval": 0}}) is None
    points = frames.points_frame([point(n, score=float(n)) for n in range(1, 5)])
    spec = spec_of(charts.island_best_over_time(points, "maximize", "score", None))
    assert all(layer["mark"]["type"] != "rule" for layer in spec["layer"])


def test_the_run_page_draws_each_islands_best_with_its_migrations(
    seeded_store: SeededStore, open_page: Callable[..., AppTest]
) -> None:
    summary = seeded_store.packing  # the island strategy's defaults: 4 islands, every 20
    app = open_page(seeded_store.url, "views/run.py", run=summary["run_id"])
    assert not app.exception
    charts_shown = [
        element.proto
        for element in app.get("vega_lite_chart")
        if "Best score per island" in element.proto.spec
    ]
    assert len(charts_shown) == 1
    spec = json.loads(charts_shown[0].spec)
    data = {
        found.name: convert_arrow_bytes_to_pandas_df(found.data.data)
        for found in charts_shown[0].datasets
    }
    points = frames.points_frame(seeded_store.repo().evaluation_points(summary["run_id"]))
    expected = list(frames.migrations(points, 20)["evaluation_seq"])
    assert expected  # 40 evaluations, nearly all valid: at least one migration
    assert spec["title"]["subtitle"] == "dashed: ring migrations, every 20 valid evaluations"
    rules = [layer for layer in spec["layer"] if layer["mark"]["type"] == "rule"]
    assert len(rules) == 1
    assert list(data[rules[0]["data"]["name"]]["evaluation_seq"]) == expected
