"""Export: the best or chosen artifacts as a zip, laid out as `evoforge export` writes
them (rank folders, metadata.json, lineage.json)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from evoforge.export import ExportError, export_zip
from evoforge.store import Database, Repository
from evoforge.ui import connection, formatting, links, picking


@st.cache_data(show_spinner=False, max_entries=8)
def archive(
    _database: Database, run_id: str, chosen: tuple[str, ...], top: int, version: tuple[Any, ...]
) -> bytes:
    """The zip, rebuilt only when the choice or the run changes."""
    return export_zip(_database, run_id, list(chosen) or None, top)


database = connection.database()
repo = Repository(database)
summary = links.choose_run(repo)
run_id = summary["run_id"]
links.run_links(run_id, has_best=summary["best_candidate_id"] is not None)
st.title(f"Export · {summary['task']} · run {run_id}")
st.write(
    "A zip with one folder per candidate (its files), `metadata.json` (the run summary and "
    "each candidate's score, metrics, flags and ancestry) and `lineage.json` (every "
    "candidate and edge), the same layout as `evoforge export`."
)
# From a candidate's page (`?candidate=`) the export starts with that candidate.
asked = links.param("candidate")
nodes = picking.candidate_nodes(repo, run_id, summary["direction"], picking.version(summary))
labels = {n["id"]: picking.label(n) for n in nodes}
if asked is not None and asked not in labels:
    st.error(f"Run {run_id} has no candidate {formatting.literal(repr(asked))}.")
    st.stop()
mode = st.radio(
    "What to export",
    ["The best candidates", "Candidates I choose"],
    index=1 if asked else 0,
    horizontal=True,
)
chosen: tuple[str, ...] = ()
top = 1
if mode == "The best candidates":
    valid = summary["evaluations"]["ok"]
    if not valid:
        st.warning(f"Run {run_id} has no successfully evaluated candidate to export yet.")
        st.stop()
    top = int(st.number_input("How many", min_value=1, max_value=max(1, valid), value=1))
else:
    best = summary["best_candidate_id"]
    default = [asked] if asked else [best] if best else []
    chosen = tuple(
        st.multiselect(
            "Candidates (exported in this order)",
            list(labels),
            default=default,
            format_func=labels.__getitem__,
        )
    )
    if not chosen:
        st.info("Choose at least one candidate.")
        st.stop()
try:
    data = archive(database, run_id, chosen, top, picking.version(summary))
except ExportError as exc:
    st.error(formatting.literal(str(exc)))
    st.stop()
what = f"{len(chosen)} chosen" if chosen else f"best {top}"
st.download_button(
    f"Download the {what} ({len(data) / 1024:,.1f} KiB zip)",
    data=data,
    file_name=f"evoforge-{run_id}.zip",
    mime="application/zip",
    type="primary",
)
