"""Choosing candidates of a run: the picker every candidate-scoped page shares.

Candidates are listed best first (then the rest in creation order), labelled with
their number, status and score, so the one a user wants is near the top.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from evoforge.store import Repository
from evoforge.ui import formatting


@st.cache_data(show_spinner=False, max_entries=16)
def candidate_nodes(
    _repo: Repository, run_id: str, direction: str, version: tuple[Any, ...]
) -> list[dict[str, Any]]:
    """The run's candidates, valid ones best first, then the others by number."""
    nodes = _repo.lineage(run_id)["nodes"]
    sign = -1.0 if direction == "maximize" else 1.0
    valid = sorted(
        (n for n in nodes if n["status"] == "ok" and n["score"] is not None),
        key=lambda n: (sign * n["score"], n["seq"]),
    )
    rest = [n for n in nodes if not (n["status"] == "ok" and n["score"] is not None)]
    return valid + rest


def label(node: dict[str, Any]) -> str:
    score = formatting.score(node["score"]) if node["status"] == "ok" else node["status"]
    return f"#{node['seq']}  {node['id']}  {score}  ({node['kind']}, gen {node['generation']})"


def version(summary: dict[str, Any]) -> tuple[Any, ...]:
    return (summary["updated_at"], summary["candidates"], summary["evaluations"]["total"])


def pick(
    repo: Repository,
    summary: dict[str, Any],
    title: str,
    param: str,
    default: str | None,
    key: str,
) -> str | None:
    """A candidate id chosen with a select box that starts at `?<param>=` (else
    `default`) and writes the choice back to the URL."""
    nodes = candidate_nodes(repo, summary["run_id"], summary["direction"], version(summary))
    if not nodes:
        return None
    ids = [n["id"] for n in nodes]
    labels = {n["id"]: label(n) for n in nodes}
    wanted = st.query_params.get(param) or default
    index = ids.index(wanted) if wanted in labels else 0
    chosen = st.selectbox(title, ids, index=index, format_func=labels.__getitem__, key=key)
    st.query_params[param] = chosen
    return chosen
