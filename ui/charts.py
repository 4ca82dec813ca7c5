"""Altair charts for the run page. Each takes a frame from `frames.py`; none query.

Score colours follow the task's direction, so "better" is always the same end of the
scale whether the task maximises or minimises.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

SCORE_SCHEME = "viridis"


def _score_scale(direction: str) -> alt.Scale:
    # viridis is dark-to-bright; put the bright end on the better scores.
    return alt.Scale(scheme=SCORE_SCHEME, reverse=direction != "maximize")


def best_over_time(
    points: pd.DataFrame,
    best: pd.DataFrame,
    seed_score: float | None,
    reference_score: float | None,
    metric: str,
    by_time: bool = False,
) -> alt.LayerChart:
    """Every valid score as a dot, the best so far as a step line, and the seed's and
    the published reference's scores as labelled horizontal lines. The x axis is the
    evaluation number, or wall-clock time (UTC) with `by_time`."""
    columns = ["evaluation_seq", "created_at", "score", "candidate_id", "island"]
    ok = points[points["status"] == "ok"][columns]
    x = (
        alt.X("created_at:T", title="time (UTC)")
        if by_time
        else alt.X("evaluation_seq:Q", title="evaluation")
    )
    layers: list[alt.Chart] = [
        alt.Chart(ok)
        .mark_circle(size=18, opacity=0.35, color="#7f7f7f")
        .encode(
            x=x,
            y=alt.Y("score:Q", title=metric, scale=alt.Scale(zero=False)),
            tooltip=["candidate_id", "score", "island"],
        ),
        alt.Chart(best)
        .mark_line(interpolate="step-after", strokeWidth=2.5, color="#1f77b4")
        .encode(x=x, y="best:Q", tooltip=["evaluation_seq", "best", "candidate_id"]),
    ]
    marks = [("seed", seed_score, "#ff7f0e"), ("reference", reference_score, "#2ca02c")]
    for label, value, colour in marks:
        if value is None:
            continue
        line = pd.DataFrame({"score": [value], "label": [f"{label} {value:.6g}"]})
        layers.append(
            alt.Chart(line).mark_rule(strokeDash=[6, 4], color=colour).encode(y="score:Q")
        )
        layers.append(
            alt.Chart(line)
            .mark_text(align="left", dx=4, dy=-6, color=colour)
            .encode(y="score:Q", text="label:N", x=alt.value(0))
        )
    return alt.layer(*layers).properties(height=320)


def island_distribution(points: pd.DataFrame, metric: str) -> alt.Chart:
    ok = points[points["status"] == "ok"][["island", "score"]]
    return (
        alt.Chart(ok)
        .mark_boxplot(extent="min-max", size=28)
        .encode(
            x=alt.X("island:O", title="island"),
            y=alt.Y("score:Q", title=metric, scale=alt.Scale(zero=False)),
        )
        .properties(height=280)
    )


def elite_grid(grid: pd.DataFrame, features: list[str], direction: str) -> alt.Chart:
    """One feature: islands by feature bin. Two: the two features' bins, one panel per
    island. Each cell is coloured by its elite's score."""
    tooltip = ["island", "x_range", "y_range", "score", "candidate_id", "count"]
    colour = alt.Color("score:Q", scale=_score_scale(direction), title="elite score")
    x = alt.X("x_bin:O", title=f"{features[0]} bin")
    if len(features) == 1:
        chart = (
            alt.Chart(grid)
            .mark_rect()
            .encode(x=x, y=alt.Y("island:O"), color=colour, tooltip=tooltip)
        )
        return chart.properties(height=max(120, 36 * grid["island"].nunique()))
    chart = (
        alt.Chart(grid)
        .mark_rect()
        .encode(
            x=x,
            y=alt.Y("y_bin:O", title=f"{features[1]} bin", sort="descending"),
            color=colour,
            tooltip=tooltip,
        )
    )
    return chart.properties(width=220, height=220).facet(column=alt.Column("island:O"))


def pareto(front: pd.DataFrame, x: str, y: str) -> alt.LayerChart:
    dots = (
        alt.Chart(front)
        .mark_circle(size=40)
        .encode(
            x=alt.X("x:Q", title=x, scale=alt.Scale(zero=False)),
            y=alt.Y("y:Q", title=y, scale=alt.Scale(zero=False)),
            color=alt.Color(
                "on_front:N",
                title="on the front",
                scale=alt.Scale(domain=[True, False], range=["#d62728", "#bdbdbd"]),
            ),
            tooltip=["candidate_id", "x", "y", "on_front"],
        )
    )
    line = (
        alt.Chart(front[front["on_front"]].sort_values("x"))
        .mark_line(color="#d62728", strokeWidth=1.5)
        .encode(x="x:Q", y="y:Q")
    )
    return alt.layer(line, dots).properties(height=320)
