"""The pages' addresses and how a page learns which run and candidate to show.

State lives in the URL's query parameters (`?run=…&candidate=…`) so every view can
be bookmarked, reloaded and opened in a second tab. Page paths are relative to the
entry script, as `st.Page`, `st.page_link` and `st.switch_page` expect them.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from evoforge.store import Repository, StoreError

RUNS = "views/runs.py"
RUN = "views/run.py"
LINEAGE = "views/lineage.py"
CANDIDATE = "views/candidate.py"
COMPARE = "views/compare.py"
EXPORT = "views/export.py"


def param(name: str) -> str | None:
    value = st.query_params.get(name)
    return value or None


def choose_run(repo: Repository) -> dict[str, Any]:
    """The run named by `?run=` (an id, a unique prefix or `latest`), else a picker
    defaulting to the newest run. Returns its summary; stops with a message when the
    store has no runs or the id matches none."""
    wanted = param("run")
    if wanted is not None:
        try:
            return repo.run_summary(repo.resolve_run_id(wanted))
        except StoreError as exc:
            st.error(str(exc))
            st.stop()
    runs = repo.list_runs()
    if not runs:
        st.info("The store has no runs yet. Start one with `evoforge run TASK`.")
        st.stop()
    labels = {r["run_id"]: f"{r['run_id']}  {r['task']}  ({r['status']})" for r in runs}
    run_id = st.selectbox("Run", list(labels), format_func=labels.__getitem__, key="run_picker")
    st.query_params["run"] = run_id
    return next(r for r in runs if r["run_id"] == run_id)


def run_links(run_id: str) -> None:
    """The row of links every run-scoped page carries."""
    columns = st.columns(5)
    for column, (page, label) in zip(
        columns,
        [
            (RUN, "Progress"),
            (LINEAGE, "Lineage"),
            (CANDIDATE, "Best candidate"),
            (COMPARE, "Compare"),
            (EXPORT, "Export"),
        ],
        strict=True,
    ):
        with column:
            st.page_link(page, label=label, query_params={"run": run_id})


def candidate_link(run_id: str, candidate_id: str, label: str | None = None) -> None:
    st.page_link(
        CANDIDATE,
        label=label or candidate_id,
        query_params={"run": run_id, "candidate": candidate_id},
    )
