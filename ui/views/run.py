"""Run: what the run achieved (against the seed and the reference, at what cost, in
how long, why it stopped), what failed and why, what the model's answers became; then
live progress, best score over time, islands, the MAP-Elites grid, train / validation
/ test scores, Pareto front.

While the run is still going the body refreshes itself every few seconds (a
Streamlit fragment), so the user watches it without reloading; once the run has
ended the page stops polling.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from evoforge.store import Repository
from evoforge.ui import charts, connection, formatting, frames, headline, links
from evoforge.ui.redact import redact

REFRESH_S = 2.0
DEFAULT_BINS = 10


@st.cache_data(show_spinner=False, max_entries=8)
def load_points(_repo: Repository, run_id: str, version: tuple[Any, ...]) -> pd.DataFrame:
    """Evaluations of a run; `version` (last write, count) keys the cache."""
    return frames.points_frame(_repo.evaluation_points(run_id))


def header(summary: dict[str, Any]) -> None:
    # Why it stopped is said once, in `summary_section`.
    line = f"**{summary['status']}** · started {formatting.moment(summary['created_at'])} UTC"
    line += f" · {formatting.duration(summary['duration_s'])}"
    st.markdown(line)
    isolation = summary.get("isolation") or {}
    if isolation:
        shown = ", ".join(f"{name} ×{n}" for name, n in sorted(isolation.items()))
        st.caption(f"isolation: {formatting.literal(shown)}")
        if any("weak" in name for name in isolation):
            st.warning(
                "Some evaluations ran with weak isolation (`--weak-isolation`): the host's "
                "files were visible to those candidates, read-only."
            )
    if summary.get("objective_note"):
        st.info(f"objective {summary['objective']}: {summary['objective_note']}")


def summary_section(summary: dict[str, Any]) -> None:
    """The run in one line a reader can check: result, cost, time, ending."""
    parts = [
        headline.achievement(summary),
        headline.cost(summary),
        headline.effort(summary),
        headline.ending(summary),
    ]
    # Built from a stop reason and numbers: shown as written, `$` never starting math.
    st.markdown(
        "**" + formatting.literal(parts[0]) + "** · " + formatting.literal(" · ".join(parts[1:]))
    )


def failures_section(summary: dict[str, Any]) -> None:
    """What failed and why, one line per reason with its count: a run where every
    evaluation failed otherwise shows only empty charts."""
    lines = headline.failure_lines(summary)
    if not lines:
        return
    text = "  \n".join(formatting.literal(line) for line in lines)
    if headline.all_failed(summary):
        st.error("**Every evaluation failed.**  \n" + text)
    else:
        st.subheader("Failures")
        st.dataframe(
            pd.DataFrame(summary["failures"], columns=["count", "status", "reason"]),
            hide_index=True,
            column_config={"reason": st.column_config.TextColumn("reason", width="large")},
        )
        total = summary["evaluations"]["total"]
        failed = total - summary["evaluations"].get("ok", 0)
        rest = lines[len(summary["failures"]) :]  # reasons past the table's groups
        st.caption(
            f"{failed:,} of {total:,} evaluations failed, grouped by the first line of their "
            "reason." + "".join(f" {formatting.literal(line)}." for line in rest)
        )


@st.cache_data(show_spinner=False, max_entries=8)
def load_proposals(
    _repo: Repository, run_id: str, version: str
) -> tuple[dict[str, int], list[dict[str, Any]]]:
    """Proposals by outcome and the top reasons answers made no child; `version` (the
    run's last write, which every proposal moves) keys the cache, so a live page
    queries again only when a proposal arrived."""
    return _repo.proposal_counts(run_id), _repo.rejection_reasons(run_id, limit=5)


def proposals_section(repo: Repository, summary: dict[str, Any]) -> None:
    """Model answers by outcome: calls that produced no evaluation are spend too."""
    run_id = summary["run_id"]
    counts, groups = load_proposals(repo, run_id, summary["updated_at"])
    if not counts["total"]:
        return
    st.subheader("Proposals")
    cols = st.columns(5)
    cols[0].metric("proposals", f"{counts['total']:,}")
    for col, status in zip(cols[1:], ("accepted", "duplicate", "rejected", "failed"), strict=True):
        col.metric(f"{status} proposals", f"{counts[status]:,}")
    if groups:
        no_child = counts["rejected"] + counts["failed"]
        st.caption(
            f"{no_child:,} of {counts['total']:,} model answers became no candidate; "
            "the most frequent reasons:"
        )
        st.dataframe(
            pd.DataFrame(groups, columns=["count", "status", "reason"]),
            hide_index=True,
            column_config={"reason": st.column_config.TextColumn("reason", width="large")},
        )
    st.page_link(
        links.PROPOSALS,
        label="Open every proposal with its prompt, answer and reason",
        query_params={"run": run_id},
    )


def options(run: Any) -> None:
    with st.expander("Run options"):
        st.json(redact(run.config_json), expanded=True)


def progress(summary: dict[str, Any], points: pd.DataFrame) -> None:
    """Live figures. A budget goes in the label, not the value, and the figures that
    can be long sit three to a row: in the values' large type a sixth of the page cut
    "868 / 2,000" to "868 / 2,…", and a score such as -1.23457e-05 likewise."""
    counts = summary["evaluations"]
    budget = summary["budget"]
    limit = budget.get("max_evaluations")
    cols = [*st.columns(3), *st.columns(3)]
    cols[0].metric(f"evaluations of {limit:,}" if limit else "evaluations", f"{counts['total']:,}")
    cols[1].metric("evaluations/s", f"{frames.evaluation_rate(points):.2f}")
    spend_cap = budget.get("max_cost_usd")
    # Escaped: a label is Markdown, where a `$` may open math.
    cap = f" of {formatting.literal(formatting.money(spend_cap))}" if spend_cap else ""
    cols[2].metric(f"spend{cap}", formatting.money(summary["spend_usd"]))
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
    """Train, validation, test (and a public protocol) side by side: the gap between
    them is overfitting; a public score is where the run stands on the benchmark."""
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
    public = [
        {"candidate": row["candidate_id"], "role": ", ".join(row["roles"]),
         **row["public_metrics"]}
        for row in report["rows"]
        if row.get("public_metrics")
    ]  # fmt: skip
    if public:  # the benchmark's own units (dollars, makespan), as published tables give
        st.caption("The public protocol, in its own units")
        st.dataframe(pd.DataFrame(public), hide_index=True)
    note = f"The export selects on **{formatting.literal(report['select_on'])}**."
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
        shown = " and ".join(formatting.literal(name) for name in (x, y))
        box.caption(f"No valid candidate reports both {shown}.")
        return
    box.caption(f"{int(front['on_front'].sum()):,} of {len(front):,} candidates on the front.")
    box.altair_chart(charts.pareto(front, x, y))


repo = connection.repository()
chosen = links.choose_run(repo)
run_id = chosen["run_id"]
st.title(f"{chosen['task']} · run {run_id}")
links.run_links(run_id, has_best=chosen["best_candidate_id"] is not None)


@st.fragment(run_every=REFRESH_S if chosen["status"] == "running" else None)
def live() -> None:
    summary = repo.run_summary(run_id)
    if chosen["status"] == "running" and summary["status"] != "running":
        st.rerun()  # the run ended: redraw once without the refresh timer
    summary_section(summary)
    failures_section(summary)
    header(summary)
    run = repo.get_run(run_id)
    options(run)
    points = load_points(repo, run_id, (summary["updated_at"], summary["evaluations"]["total"]))
    progress(summary, points)
    proposals_section(repo, summary)
    if points.empty:
        st.info("No evaluation recorded yet; this page updates as they arrive.")
        return
    if frames.results(points).empty:
        st.info("No evaluation has a valid score yet, so there is nothing to chart.")
        return
    st.subheader("Best score over time")
    screened = frames.screened_count(points)
    if screened:
        st.caption(
            f"{screened:,} {frames.SCREENED_LABEL} scores are not results and are left out "
            "of the charts below; those children were judged on a few instances only."
        )
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
    st.altair_chart(
        charts.island_best_over_time(
            points,
            summary["direction"],
            summary["metric"],
            frames.migration_interval(run.config_json),
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
