"""Lineage: where a run's candidates came from, which line led to the best, what failed.

The layout is worked out once per state of the run (`lineage_layout`, cached on the
run's `updated_at` and counts) and drawn as one Vega-Lite chart on a canvas, so a
5,000-candidate run appears within the issue's 3 s (`benchmarks/ui_lineage.py`);
bigger runs are sampled, and the page says so. Clicking a node shows its score,
code, diff and prompt in a panel beside the graph (and in the URL, `?node=`), without
leaving it; the candidate's full page is one click further.
"""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from evoforge.store import Repository
from evoforge.ui import connection, failed_candidates, formatting, links, node_panel, picking
from evoforge.ui.frames import FAILED_STATUSES
from evoforge.ui.lineage_layout import DEFAULT_LIMIT, LineageLayout, layout, score_labels

SELECTION = "node"
FAILED = "#d62728"
PENDING = "#b5b5b5"
NEUTRAL = "#6b6b6b"
EDGE = "#c9c9c9"
LINK = "#8da0cb"
CROSSOVER = "#7b3294"
# The best path's colour: orange is not in viridis, black is not in tableau10.
BEST = {"score": "#ff7f0e", "island": "#111111"}
SHAPES = {"ok": "circle", "failed": "cross", "pending": "diamond"}
# How nodes may be coloured (a comment, not a string: a page script would show that).
# Rank spreads the colours evenly over the run's results, so the good candidates of a
# long run are not all one yellow.
COLOURINGS = {"score": "score", "rank": "score rank", "island": "island"}


@st.cache_data(show_spinner=False, max_entries=4)
def _lineage(
    _repo: Repository, store: str | None, run_id: str, version: tuple[Any, ...]
) -> dict[str, Any]:
    return _repo.lineage(run_id)


@st.cache_data(show_spinner=False, max_entries=16)
def _layout(
    _repo: Repository,
    store: str | None,
    run_id: str,
    version: tuple[Any, ...],
    direction: str,
    best_id: str | None,
    limit: int,
    secondary: bool,
) -> LineageLayout:
    graph = _lineage(_repo, store, run_id, version)
    return layout(graph, direction, best_id, limit=limit, secondary=secondary)


def counts_line(found: LineageLayout) -> str:
    counts = found.counts
    noun = "candidate" if found.total == 1 else "candidates"
    parts = [f"{found.total:,} {noun}", f"{counts.get('ok', 0):,} ok"]
    if found.failed:
        kinds = [f"{counts[s]:,} {s}" for s in FAILED_STATUSES if counts.get(s)]
        detail = f" ({', '.join(kinds)})" if len(kinds) > 1 else ""
        parts.append(f"{found.failed:,} failed{detail}")
    if counts.get("pending"):
        parts.append(f"{counts['pending']:,} pending")
    return " · ".join(parts)


def sampled_note(found: LineageLayout) -> str:
    return (
        f"Showing {found.shown:,} of {found.total:,} candidates: the seed, the best path, "
        f"the top {found.kept_top:,} by score and an even sample of the rest. Each shown "
        "candidate hangs from its nearest shown ancestor (dotted edges skip hidden ones). "
        "Raise the node limit to see more."
    )


def plot_frame(found: LineageLayout, colour_by: str = "score") -> pd.DataFrame:
    """The nodes as the browser gets them: only what is drawn or shown on hover, in
    small types (the chart's data dominates the page's load time). `shade` is the
    score, or its percentile rank when colouring by rank."""
    nodes = found.nodes
    shades = nodes["rank"] if colour_by == "rank" else nodes["score"]
    low = shades.min()
    return pd.DataFrame(
        {
            "id": nodes["id"].astype(object),
            "seq": nodes["seq"].astype("int32"),
            "generation": nodes["generation"].astype("int32"),
            "island": nodes["island"].astype("int32"),
            "kind": nodes["kind"].astype("category"),
            "status": nodes["status"].astype("category"),
            "outcome": nodes["outcome"].astype("category"),
            "score": score_labels(nodes),
            "reason": nodes["reason"].astype("category"),
            "x": nodes["x"].astype("int32"),
            "y": nodes["y"].astype("float32"),
            "px": nodes["px"].astype("int32"),
            "py": nodes["py"].astype("float32"),
            "skipped": nodes["skipped"].astype("int32"),
            "best": nodes["best_path"].astype(bool),
            # Never null: Vega-Lite drops marks whose colour field is invalid, and
            # failed or pending candidates must stay visible (conditions colour them).
            "shade": shades.fillna(0.0 if pd.isna(low) else low).astype("float32"),
        }
    )


def chart(found: LineageLayout, colour_by: str, direction: str) -> alt.LayerChart:
    """Edges and nodes as two layers over one dataset (one row per shown candidate,
    carrying its parent's place), plus the optional inspiration and crossover links."""
    palette = "island" if colour_by == "island" else "score"
    if colour_by in ("score", "rank"):
        better = "lower" if direction == "minimize" else "higher"
        title = f"score ({better} is better)"
        # Ranks already run from worst to best: 1 is the best whatever the direction.
        reverse = direction == "minimize"
        if colour_by == "rank":
            title, reverse = "score percentile (1 = best)", False
        colour: Any = alt.Color(
            "shade:Q",
            title=title,
            scale=alt.Scale(scheme="viridis", reverse=reverse),
            condition=[
                {"test": "datum.outcome === 'failed'", "value": FAILED},
                {"test": "datum.outcome === 'pending'", "value": PENDING},
            ],
        )
        legend = _outcome_legend(ok="#21918c", failed=FAILED)
    else:
        colour = alt.Color(
            "island:N",
            title="island",
            scale=alt.Scale(scheme="tableau10"),
            condition=[{"test": "datum.outcome === 'pending'", "value": PENDING}],
        )
        legend = _outcome_legend(ok=NEUTRAL, failed=NEUTRAL)
    depth_axis = alt.Axis(grid=False, tickMinStep=1, format="d")
    title = "depth (parent steps from the seed)"
    rows = alt.Scale(reverse=True, nice=False, padding=8)
    depths = alt.Scale(nice=False, padding=12)
    x = alt.X("x:Q", title=title, axis=depth_axis, scale=depths)
    y = alt.Y("y:Q", axis=None, scale=rows)
    best = "datum.best"
    edges = (
        alt.Chart()
        .mark_rule()
        .encode(
            x=alt.X("px:Q", title=title, axis=depth_axis, scale=depths),
            y=alt.Y("py:Q", axis=None, scale=rows),
            x2="x:Q",
            y2="y:Q",
            tooltip=alt.value(None),  # edges say nothing on hover; the nodes do
            color=alt.ColorValue(EDGE, condition={"test": best, "value": BEST[palette]}),
            strokeWidth=alt.StrokeWidthValue(0.7, condition={"test": best, "value": 3}),
            strokeDash=alt.StrokeDashValue(
                [1, 0], condition={"test": "datum.skipped > 0", "value": [1, 2]}
            ),
        )
    )
    pick = alt.selection_point(name=SELECTION, fields=["id"], on="click", toggle=False)
    points = (
        alt.Chart()
        .mark_point(filled=True, opacity=1)
        .encode(
            x=x,
            y=y,
            color=colour,
            shape=_outcome_shape(),
            size=alt.SizeValue(30, condition={"test": best, "value": 110}),
            stroke=alt.StrokeValue(None, condition={"test": best, "value": "#111111"}),
            strokeWidth=alt.StrokeWidthValue(0, condition={"test": best, "value": 1.5}),
            # Nominal: shown as stored, with no per-mark number formatting.
            tooltip=[
                alt.Tooltip(f"{name}:N")
                for name in ("id", "seq", "generation", "island", "kind", "status", "score")
            ]
            + [alt.Tooltip("reason:N")],
        )
        .add_params(pick)
    )
    layers: list[alt.Chart] = [edges, points, legend]
    if len(found.links):
        layers.insert(0, _links(found.links, x, y))
    height = int(min(900, max(360, found.rows * 4)))
    return (
        alt.layer(*layers, data=plot_frame(found, colour_by))
        .properties(height=height, usermeta={"embedOptions": {"renderer": "canvas"}})
        .interactive()
        .configure(aria=False)
        .configure_view(strokeWidth=0)
    )


def _links(edges: pd.DataFrame, x: alt.X, y: alt.Y) -> alt.Chart:
    """Inspiration and crossover links: dashed and faint, under everything else."""
    frame = pd.DataFrame(
        {
            "x": edges["x"].astype("int32"),
            "y": edges["y"].astype("float32"),
            "x2": edges["x2"].astype("int32"),
            "y2": edges["y2"].astype("float32"),
            "kind": edges["kind"].astype("category"),
        }
    )
    return (
        alt.Chart(frame)
        .mark_rule(strokeDash=[4, 3], opacity=0.45, strokeWidth=0.8)
        .encode(
            x=x,
            y=y,
            x2="x2:Q",
            y2="y2:Q",
            tooltip=alt.value(None),
            color=alt.ColorValue(
                LINK, condition={"test": "datum.kind === 'crossover'", "value": CROSSOVER}
            ),
        )
    )


def _outcome_shape() -> alt.Shape:
    return alt.Shape(
        "outcome:N",
        title="outcome",
        scale=alt.Scale(domain=list(SHAPES), range=list(SHAPES.values())),
    )


def _outcome_legend(ok: str, failed: str) -> alt.Chart:
    """A layer with no data whose only use is the outcome legend: its fill and the
    nodes' shape share a field, so Vega-Lite draws one legend with the symbols
    coloured as the nodes are (the nodes' own colour is the score or island)."""
    return (
        alt.Chart(pd.DataFrame({"outcome": pd.Series([], dtype=object)}))
        .mark_point(filled=True)
        .encode(
            fill=alt.Fill(
                "outcome:N",
                title="outcome",
                scale=alt.Scale(domain=list(SHAPES), range=[ok, failed, PENDING]),
            ),
            shape=_outcome_shape(),
        )
    )


def key_line(colour_by: str) -> str:
    best, failed = ("Black", "Crosses") if colour_by == "island" else ("Orange", "Red crosses")
    return (
        f"{best}: the path from the seed to the best candidate. {failed}: failed "
        "(hover for the reason); grey diamonds: not evaluated yet. Click a node to see it "
        "beside the graph; scroll to zoom, drag to pan, double-click to reset."
    )


def chosen_node(event: Any, run_id: str) -> str | None:
    """The node clicked last, else the one the URL names (`?node=`), else the candidate
    this run's pages last showed: the sidebar's link carries no `?node=`, and coming
    back to the graph should not close the panel. The choice is written to the URL, so
    the panel survives a reload and can be shared."""
    for point in selected(event, SELECTION):
        if isinstance(point, dict) and point.get("id"):
            clicked = str(point["id"])
            st.query_params["node"] = clicked
            return clicked
    named = links.param("node")
    if named is None:
        named = links.remembered_candidate(run_id)
        if named is not None:
            st.query_params["node"] = named
    return named


def selected(event: Any, name: str) -> list[Any]:
    try:
        # Item access: a selection event is a dict (attribute access too, on a server).
        return list(event["selection"][name])
    except (AttributeError, KeyError, TypeError):
        return []


repo = connection.repository()
summary = links.choose_run(repo)
run_id = summary["run_id"]
direction = summary["direction"]

st.title(f"Lineage · {summary['task']}")
best = formatting.score(summary["best_score"])
st.caption(f"run `{run_id}` · {summary['status']} · {direction} · best {best}")
navigation = st.empty()  # the links, redrawn once the panel's candidate is known
with navigation.container():
    links.run_links(run_id)

left, middle, right = st.columns([2, 2, 3])
with left:
    colour_by = st.radio(
        "Colour by",
        list(COLOURINGS),
        format_func=COLOURINGS.__getitem__,
        horizontal=True,
        help="Score rank colours by percentile: on a long run whose good candidates are "
        "close in score, it tells the very best from the merely good.",
    )
with middle:
    limit = int(
        st.number_input(
            "Node limit",
            min_value=100,
            max_value=100_000,
            value=DEFAULT_LIMIT,
            step=500,
            help="Past this many candidates the chart shows a sample: the seed, the best "
            "path, the top scorers and an even spread of the rest.",
        )
    )
with right:
    secondary = st.checkbox(
        "Inspiration and crossover links",
        help="Dashed, fainter edges from the other candidates a proposal drew on.",
    )

found = _layout(
    repo,
    connection.database_url(),
    run_id,
    picking.version(summary),
    direction,
    summary.get("best_candidate_id"),
    limit,
    secondary,
)
if not found.total:
    st.info("This run has no candidates yet; the lineage appears once the seed is stored.")
    st.stop()

st.caption(counts_line(found))
if found.hidden:
    st.info(sampled_note(found))

graph, panel = st.columns([3, 2], gap="medium")
with graph:
    event = st.altair_chart(
        chart(found, colour_by, direction),
        on_select="rerun",
        selection_mode=SELECTION,
        key=f"lineage-chart-{run_id}",
        width="stretch",
    )
    st.caption(key_line(colour_by))
with panel:
    node = node_panel.show(repo, summary, chosen_node(event, run_id))
if node is not None:
    # Kept for the sidebar's Candidate page, and carried by the links above: Candidate
    # opens it, Compare sets it against the seed, Export starts with it.
    links.remember_candidate(run_id, node["id"])
    with navigation.container():
        links.run_links(
            run_id,
            node["id"],
            "Best candidate"
            if node["id"] == summary["best_candidate_id"]
            else f"Candidate #{node['seq']}",
        )

with st.expander(f"Failed candidates ({found.failed:,})", expanded=False):
    if found.failed:
        failed_candidates.show(run_id, found.failures)
    else:
        st.write("No candidate of this run failed.")
