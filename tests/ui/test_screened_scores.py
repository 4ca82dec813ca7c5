"""A `pareto` child's minibatch screen is never shown as a result (issue 20, item 1).

The run is real; one screened child is recorded with a screen score above the run's
true best, as a lucky three-instance screen gets. Every place that shows or ranks a
score as a result (the CLI's progress bar, the best-over-time chart, the island box
plot, the MAP-Elites grid, the Pareto front, the lineage and the candidate picker)
must keep to the true best.
"""

from __future__ import annotations

import io

from conftest import ScreenedStore
from page_text import page_text
from rich.console import Console

from evoforge.cli.progress import ProgressDisplay
from evoforge.ui import charts, formatting, frames, lineage_layout, picking


def _points(store: ScreenedStore):
    return frames.points_frame(store.repo().evaluation_points(store.summary["run_id"]))


def test_the_cli_progress_bar_shows_the_true_best(screened_store: ScreenedStore) -> None:
    repo = screened_store.repo()
    run_id = screened_store.summary["run_id"]
    display = ProgressDisplay(Console(file=io.StringIO()), total=None, direction="maximize")
    views = sorted(repo.evaluated_candidates(run_id), key=lambda view: view.seq)
    assert screened_store.screened_id in {view.id for view in views}
    for view in views:
        display.evoforge_candidate_evaluated(
            run_id=run_id, candidate=view, outcome=repo.stored_outcome(view.id)
        )
    assert display.best == screened_store.summary["best_score"]


def test_charts_rank_only_results(screened_store: ScreenedStore) -> None:
    points = _points(screened_store)
    best = screened_store.summary["best_score"]
    screened = points[points["candidate_id"] == screened_store.screened_id]
    assert len(screened) == 1 and not screened["result"].iloc[0]
    assert points["score"].max() == screened_store.screened_score  # it is in the data

    line = frames.best_so_far(points, "maximize")
    assert line["best"].max() == best
    spec = charts.best_over_time(points, line, None, None, "score").to_dict()
    drawn = [row for rows in spec["datasets"].values() for row in rows]
    assert max(row.get("score", row.get("best", 0.0)) for row in drawn) == best
    assert screened_store.screened_id not in {row.get("candidate_id") for row in drawn}

    boxes = charts.island_distribution(points, "score").to_dict()
    assert max(row["score"] for rows in boxes["datasets"].values() for row in rows) == best

    grid = frames.elite_grid(points, ["spread"], bins=4, direction="maximize")
    assert grid["score"].max() == best
    assert screened_store.screened_id not in set(grid["candidate_id"])

    front = frames.pareto_front(points, "score", "spread", "maximize", "minimize")
    assert screened_store.screened_id not in set(front["candidate_id"])
    assert len(front) == int(points["result"].sum())
    assert frames.screened_count(points) >= 1


def test_the_lineage_neither_ranks_nor_colours_by_a_screen(
    screened_store: ScreenedStore,
) -> None:
    graph = screened_store.repo().lineage(screened_store.summary["run_id"])
    found = lineage_layout.layout(graph, "maximize")
    assert found.best_id == screened_store.summary["best_candidate_id"]
    assert found.nodes["score"].max() == screened_store.summary["best_score"]
    screened = found.nodes.set_index("id").loc[screened_store.screened_id]
    assert screened["screen"] == screened_store.screened_score
    tooltips = lineage_layout.score_labels(found.nodes.set_index("id"))
    screen = f"screened (minibatch) {formatting.score(screened_store.screened_score)}"
    assert tooltips[screened_store.screened_id] == screen
    assert tooltips[found.best_id] == formatting.score(screened_store.summary["best_score"])


def test_the_picker_ranks_results_first_and_labels_the_screen(
    screened_store: ScreenedStore,
) -> None:
    repo = screened_store.repo()
    summary = screened_store.summary
    nodes = picking.candidate_nodes.__wrapped__(
        repo, summary["run_id"], "maximize", picking.version(summary)
    )
    assert nodes[0]["id"] == summary["best_candidate_id"]
    ranked = [n for n in nodes if frames.is_result(n["status"], n["score"], n["stage"])]
    assert nodes[: len(ranked)] == ranked  # every result before anything else
    screened = next(n for n in nodes if n["id"] == screened_store.screened_id)
    assert nodes.index(screened) >= len(ranked)
    text = picking.label(screened)
    assert f"screened (minibatch) {formatting.score(screened_store.screened_score)}" in text


def test_the_run_page_says_screens_are_left_out(screened_store: ScreenedStore, open_page) -> None:
    summary = screened_store.summary
    app = open_page(screened_store.url, "views/run.py", run=summary["run_id"])
    assert not app.exception
    shown = {metric.label: metric.value for metric in app.metric}
    assert shown["best score"] == formatting.score(summary["best_score"])
    text = page_text(app)
    assert "screened (minibatch) scores are not results" in text
    results = int(_points(screened_store)["result"].sum())
    assert f"of {results:,} candidates on the front." in text


def test_the_candidate_picker_on_its_page_labels_the_screen(
    screened_store: ScreenedStore, open_page
) -> None:
    summary = screened_store.summary
    app = open_page(
        screened_store.url,
        "views/candidate.py",
        run=summary["run_id"],
        candidate=screened_store.screened_id,
    )
    assert not app.exception
    picker = app.selectbox[0]
    assert (
        picker.options[0].startswith("#")
        and formatting.score(summary["best_score"]) in picker.options[0]
    )
    assert "screened (minibatch)" in picker.format_func(screened_store.screened_id)


def test_the_candidate_and_compare_pages_name_the_screen(
    screened_store: ScreenedStore, open_page
) -> None:
    summary = screened_store.summary
    screen = f"screened (minibatch) {formatting.score(screened_store.screened_score)}"
    app = open_page(
        screened_store.url,
        "views/candidate.py",
        run=summary["run_id"],
        candidate=screened_store.screened_id,
    )
    assert not app.exception
    assert app.title[0].value.endswith(screen)
    assert {metric.label: metric.value for metric in app.metric}["score"] == screen

    app = open_page(
        screened_store.url, "views/compare.py", run=summary["run_id"], a=screened_store.screened_id
    )
    assert not app.exception
    table = app.dataframe[0].value.set_index("metric")
    # The screen and the best's result are separate rows: nothing subtracts one from the other.
    assert table.loc["score, screened (minibatch)", "B"] == "–"
    assert table.loc["score", "B"] == formatting.score(summary["best_score"])
    assert table.loc["score", "B − A"] == ""
    assert screen in page_text(app)


def test_the_lineage_page_draws_a_run_with_a_screen(
    screened_store: ScreenedStore, open_page
) -> None:
    summary = screened_store.summary
    app = open_page(screened_store.url, "views/lineage.py", run=summary["run_id"])
    assert not app.exception
    assert formatting.score(summary["best_score"]) in page_text(app)
