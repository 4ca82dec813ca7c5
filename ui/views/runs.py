"""Runs: every run in the store, filterable, each linking to its own page."""

from __future__ import annotations

import streamlit as st

from evoforge.ui import connection, formatting, frames

repo = connection.repository()
summaries = repo.list_runs()
if not summaries:
    connection.first_run_page(connection.database_url())
    st.stop()
st.title("Runs")

tasks = sorted({run["task"] for run in summaries})
statuses = sorted({run["status"] for run in summaries})
left, middle, right = st.columns([2, 2, 3])
chosen_tasks = left.multiselect("Task", tasks, placeholder="all tasks")
chosen_statuses = middle.multiselect("Status", statuses, placeholder="all statuses")
text = right.text_input("Run id contains", "")
shown = [
    run
    for run in summaries
    if (not chosen_tasks or run["task"] in chosen_tasks)
    and (not chosen_statuses or run["status"] in chosen_statuses)
    and text.strip().lower() in run["run_id"].lower()
]
running = sum(run["status"] == "running" for run in summaries)
st.caption(
    f"{len(shown)} of {len(summaries)} runs"
    + (f" · {running} running" if running else "")
    + f" · store `{connection.shown_url(connection.database_url())}`"
)
table = frames.runs_frame(shown)
# What each best is worth, in words a reader checks it by (the Run page says the same).
table.insert(
    table.columns.get_loc("best score") + 1,
    "vs seed",
    [formatting.against_seed(r["best_score"], r["seed_score"], r["direction"]) for r in shown],
)
table.insert(
    table.columns.get_loc("vs seed") + 1,
    "vs reference",
    [
        formatting.against_reference(r["best_score"], r["reference_score"], r["direction"])
        for r in shown
    ],
)
st.dataframe(
    table,
    hide_index=True,
    column_config={
        "run": st.column_config.LinkColumn("run", display_text=r"run=(\w+)"),
        "seed score": st.column_config.NumberColumn(format="%.6g"),
        "best score": st.column_config.NumberColumn(format="%.6g"),
        "spend": st.column_config.NumberColumn(format=formatting.MONEY_FORMAT),
    },
)
