"""Altair charts for the run page. Each takes a frame from `frames.py`; none query.

Score colours follow the task's direction, so "better" is always the same end of the
scale whether the task maximises or minimises.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from evoforge.ui import frames

SCORE_SCHEME = "viridis"


def _score_scale(direction: str) -> alt.Scale:
    # viridis is dark-to-bright; put the bright end on the better scores.
    return alt.Scale(scheme=SCORE_SCHEME, reverse=direction != "maximize")


EVALUATION_AXIS = alt.Axis(format="d", tickMinStep=1)
"""Evaluations are counted: whole-number ticks, never "2.5", however small the run."""
MIGRATION = "#7f7f7f"
GRID_PANEL = 160
"""Pixels per side of one island's MAP-Elites panel: two panels and the y axis fit the
run page's half-width column on a 1280-pixel screen."""
GRID_COLUMNS = 2


def _evaluation_axis(field: str = "evaluation_seq") -> alt.X:
    return alt.X(f"{field}:Q", title="evaluation", axis=EVALUATION_AXIS)


def best_over_time(
    points: pd.DataFrame,
    best: pd.DataFrame,
    seed_score: float | None,
    reference_score: float | None,
    metric: str,
    by_time: bool = False,
) -> alt.LayerChart:
    """Every result as a dot, the best so far as a step line, and the seed's and
    the published reference's scores as labelled horizontal lines. The x axis is the
    evaluation number, or wall-clock time (UTC) with `by_time`. Screened evaluations
    are left out (`frames.is_result`): their minibatch score is not a result."""
    columns = ["evaluation_seq", "created_at", "score", "candidate_id", "island"]
    ok = frames.results(points)[columns]
    x = alt.X("created_at:T", title="time (UTC)") if by_time else _evaluation_axis()
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
    """The spread of results per island; screened scores are not results."""
    ok = frames.results(points)[["island", "score"]]
    return (
        alt.Chart(ok)
        .mark_boxplot(extent="min-max", size=28)
        .encode(
            x=alt.X("island:O", title="island"),
            y=alt.Y("score:Q", title=metric, scale=alt.Scale(zero=False)),
        )
        .properties(height=280)
    )


def _bins(column: pd.Series) -> list[int]:
    """Every bin of a grid axis, empty ones included (the frame's categories)."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        return [int(b) for b in column.cat.categories]
    return sorted(int(b) for b in column.dropna().unique())


def elite_grid(grid: pd.DataFrame, features: list[str], direction: str) -> alt.Chart:
    """One feature: islands by feature bin. Two: the two features' bins, one panel per
    island, two panels a row, so the figure and its legend fit a half-width column
    however many islands there are. Each cell is coloured by its elite's score; every
    bin stays on the axes, filled or not, so a gap shows where the search has not been."""
    tooltip = ["island", "x_range", "y_range", "score", "candidate_id", "count"]
    colour = alt.Color(
        "score:Q",
        scale=_score_scale(direction),
        title="elite score",
        legend=alt.Legend(orient="bottom", direction="horizontal", gradientLength=200),
    )
    x = alt.X(
        "x_bin:O",
        title=f"{features[0]} bin",
        scale=alt.Scale(domain=_bins(grid["x_bin"])),
        axis=alt.Axis(labelAngle=0),
    )
    if len(features) == 1:
        chart = (
            alt.Chart(grid)
            .mark_rect()
            .encode(x=x, y=alt.Y("island:O"), color=colour, tooltip=tooltip)
        )
        return chart.properties(height=max(120, 36 * grid["island"].nunique()))
    y_bins = _bins(grid["y_bin"])
    chart = (
        alt.Chart(grid)
        .mark_rect()
        .encode(
            x=x,
            # Bin 0 at the bottom, as on any plot of two quantities.
            y=alt.Y("y_bin:O", title=f"{features[1]} bin", scale=alt.Scale(domain=y_bins[::-1])),
            color=colour,
            tooltip=tooltip,
        )
    )
    columns = min(GRID_COLUMNS, max(1, int(grid["island"].nunique())))
    return chart.properties(width=GRID_PANEL, height=GRID_PANEL).facet(
        facet=alt.Facet("island:O", title="island"), columns=columns
    )


def island_best_over_time(
    points: pd.DataFrame, direction: str, metric: str, migration_interval: int | None
) -> alt.LayerChart:
    """Each island's best result so far, as a step line per island, with the ring
    migrations as dashed vertical rules (when each island's best joined the next), so
    a user sees which island leads, which stalled, and whether a migration lifted it.
    Screened scores are not results and are left out."""
    best = frames.island_best_so_far(points, direction)
    moved = frames.migrations(points, migration_interval)
    lines = (
        alt.Chart(best)
        .mark_line(interpolate="step-after", strokeWidth=2)
        .encode(
            x=_evaluation_axis(),
            y=alt.Y("best:Q", title=f"best {metric}", scale=alt.Scale(zero=False)),
            color=alt.Color("island:N", title="island", scale=alt.Scale(scheme="tableau10")),
            tooltip=["island", "evaluation_seq", "best", "candidate_id"],
        )
    )
    layers: list[alt.Chart] = [lines]
    title = alt.TitleParams("Best score per island", anchor="start", fontSize=14)
    if len(moved):
        rules = (
            alt.Chart(moved)
            .mark_rule(strokeDash=[4, 3], color=MIGRATION, opacity=0.7)
            .encode(
                x=_evaluation_axis(),
                tooltip=[
                    alt.Tooltip("migration:Q", title="migration"),
                    alt.Tooltip("evaluation_seq:Q", title="after evaluation"),
                ],
            )
        )
        layers.insert(0, rules)
        title = alt.TitleParams(
            "Best score per island",
            subtitle=f"dashed: ring migrations, every {migration_interval} valid evaluations",
            anchor="start",
            fontSize=14,
        )
    return alt.layer(*layers).properties(height=260, title=title)


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
