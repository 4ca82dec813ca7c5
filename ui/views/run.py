"""Run: live progress, best score over time, islands, the MAP-Elites grid, train /
validation / test scores, Pareto front.

While the run is still going the body refreshes itself every few seconds (a
Streamlit fragment), so the user watches it without reloading; once the run has
ended the page stops polling.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from evoforge.store import Repository
from evoforge.ui import charts, connection, formatting, frames, links
from evoforge.ui.redact import redact

REFRESH_S = 2.0
DEFAULT_BINS = 10


@st.cache_data(show_spinner=False, max_entries=8)
def load_points(_repo: Repository, run_id: str, version: tuple[Any, ...]) -> pd.DataFrame:
    """Evaluations of a run; `version` (last write, count) keys the cache."""
    return frames.points_frame(_repo.evaluation_points(run_id))


def header(summary: dict[str, Any]) -> None:
    status = summary["status"]
    line = f"**{status}**"
    if summary["stop_reason"]:
        line += f" · {formatting.literal(summary['stop_reason'])}"
    line += f" · started {formatting.moment(summary['created_at'])} UTC"
    line += f" · {formatting.duration(summary['duration_s'])}"
    st.markdown(line)
    if summary.get("objective_note"):
        st.info(f"objective {summary['objective']}: {summary['objective_note']}")


def options(run: Any) -> None:
    with st.expander("Run options"):
        st.json(redact(run.config_json), expanded=True)


def progress(summary: dict[str, Any], points: pd.DataFrame) -> None:
    counts = summary["evaluations"]
    budget = summary["budget"]
    limit = budget.get("max_evaluations")
    cols = st.columns(6)
    cols[0].metric("evaluations", f"{counts['total']:,}" + (f" / {limit:,}" if limit else ""))
    cols[1].metric("evaluations/s", f"{frames.evaluation_rate(points):.2f}")
    spend_cap = budget.get("max_cost_usd")
    cols[2].metric(
        "spend",
        formatting.money(summary["spend_usd"])
        + (f" / {formatting.money(spend_cap)}" if spend_cap else ""),
    )
    cols[3].metric("best score", formatting.score(summary["best_score"]))
    cols[4].metric("seed score", formatting.score(summary["seed_score"]))
    cols[5].metric("reference", formatting.score(summary["reference_score"]))
    if limit:
        st.progress(min(1.0, counts["total"] / limit))
    by_status = st.columns(6)
    for col, status in zip(by_status, ("ok", *frames.FAILED_STATUSES), strict=False):
        col.metric(status, f"{counts.get(status, 0):,}")
    by_status[5].metric("pending", f"{summary['pending']:,}")
    tokens = summary["tokens_in"] + summary["tokens_out"]
    if summary["proposer_calls"]:
        st.caption(
            f"{summary['proposer_calls']:,} model calls · {summary['tokens_in']:,} tokens in, "
            f"{summary['tokens_out']:,} out ({tokens:,} in all)"
        )


def grid_section(summary: dict[str, Any], points: pd.DataFrame, run: Any) -> None:
    features = list(run.task_json.get("features") or []) or ["code_length"]
    options = run.config_json.get("strategy_options") or {}
    bins = int(options.get("feature_bins", DEFAULT_BINS))
    grid = frames.elite_grid(points, features, bins, summary["direction"])
    st.subheader("MAP-Elites grid")
    if grid.empty:
        st.caption("No valid candidate yet.")
        return
    st.caption(
        f"The elite of each cell per island, over {', '.join(features[:2])} in {bins} bins "
        f"(rebuilt from the stored evaluations, with the ranges seen over the whole run; "
        f"strategy: {run.config_json.get('strategy', '?')}). {len(grid):,} cells filled."
    )
    st.altair_chart(charts.elite_grid(grid, features[:2], summary["direction"]))


def generalization_section(repo: Repository, run_id: str) -> None:
    """Train, validation and test side by side: the gap between them is overfitting."""
    report = repo.generalization(run_id)
    if not report["rows"] and not report["baselines"]:
        return
    st.subheader("Train, validation and test")
    rows = [
        {"candidate": row["candidate_id"], "role": ", ".join(row["roles"]),
         **{split: row[split] for split in report["splits"]}}
        for row in report["rows"]
    ] + [
        {"candidate": f"baseline {b['name']}", "role": "documented",
         **{split: b.get(split) for split in report["splits"]}}
        for b in report["baselines"]
    ]  # fmt: skip
    st.dataframe(pd.DataFrame(rows), hide_index=True)
    note = f"The export selects on **{report['select_on']}**."
    if len(report["splits"]) > 1 and not report["rows"]:
        note += " Validation and test are scored when the run ends."
    st.caption(note)


def pareto_section(summary: dict[str, Any], points: pd.DataFrame) -> None:
    metrics = [name for name in frames.numeric_metrics(points) if name != summary["metric"]]
    if not metrics:
        return
    objectives = ["score", *metrics]
    box = st.expander("Pareto front of two objectives", expanded=False)
    a, b, c, d = box.columns(4)
    x = a.selectbox("x objective", objectives, index=0, key="pareto_x")
    x_dir = b.selectbox(
        "x is better when",
        ["maximize", "minimize"],
        index=0 if x != "score" or summary["direction"] == "maximize" else 1,
        key="pareto_x_dir",
    )
    y_choices = [name for name in objectives if name != x]
    y = c.selectbox("y objective", y_choices, index=0, key="pareto_y")
    y_dir = d.selectbox("y is better when", ["minimize", "maximize"], key="pareto_y_dir")
    front = frames.pareto_front(points, x, y, x_dir, y_dir)
    if front.empty:
        box.caption(f"No valid candidate reports both {x} and {y}.")
        return
    box.caption(f"{int(front['on_front'].sum()):,} of {len(front):,} candidates on the front.")
    box.altair_chart(charts.pareto(front, x, y))


repo = connection.repository()
chosen = links.choose_run(repo)
run_id = chosen["run_id"]
st.title(f"{chosen['task']} · run {run_id}")
links.run_links(run_id)


@st.fragment(run_every=REFRESH_S if chosen["status"] == "running" else None)
def live() -> None:
    summary = repo.run_summary(run_id)
    if chosen["status"] == "running" and summary["status"] != "running":
        st.rerun()  # the run ended: redraw once without the refresh timer
    header(summary)
    run = repo.get_run(run_id)
    options(run)
    points = load_points(repo, run_id, (summary["updated_at"], summary["evaluations"]["total"]))
    progress(summary, points)
    if points.empty:
        st.info("No evaluation recorded yet; this page updates as they arrive.")
        return
    st.subheader("Best score over time")
    axis = st.radio("x axis", ["evaluation", "time"], horizontal=True, key="best_axis")
    best = frames.best_so_far(points, summary["direction"])
    st.altair_chart(
        charts.best_over_time(
            points,
            best,
            summary["seed_score"],
            summary["reference_score"],
            summary["metric"],
            by_time=axis == "time",
        )
    )
    left, right = st.columns(2)
    with left:
        st.subheader("Scores per island")
        st.altair_chart(charts.island_distribution(points, summary["metric"]))
    with right:
        grid_section(summary, points, run)
    generalization_section(repo, run_id)
    pareto_section(summary, points)
    if summary["best_candidate_id"]:
        links.candidate_link(
            run_id,
            summary["best_candidate_id"],
            f"Open the best candidate ({formatting.score(summary['best_score'])})",
        )


live()
