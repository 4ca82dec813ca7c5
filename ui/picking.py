"""Choosing candidates of a run: the picker every candidate-scoped page shares.

Candidates are listed best first (then the rest in creation order), labelled with
their number, status and score, so the one a user wants is near the top. Only results
are ranked (`frames.is_result`): a child that only passed the minibatch screen comes
after them, labelled as screened, so its few-instance score never reads as the best.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from evoforge.store import Repository
from evoforge.ui import formatting, frames, links


@st.cache_data(show_spinner=False, max_entries=16)
def candidate_nodes(
    _repo: Repository, run_id: str, direction: str, version: tuple[Any, ...]
) -> list[dict[str, Any]]:
    """The run's candidates: results best first, then the others by number (screened
    ones among them, never ranked by their screen score)."""
    nodes = _repo.lineage(run_id)["nodes"]
    sign = -1.0 if direction == "maximize" else 1.0
    ranked = sorted(
        (n for n in nodes if _result(n)),
        key=lambda n: (sign * n["score"], n["seq"]),
    )
    rest = [n for n in nodes if not _result(n)]
    return ranked + rest


def _result(node: dict[str, Any]) -> bool:
    return frames.is_result(node["status"], node["score"], node.get("stage"))


def label(node: dict[str, Any]) -> str:
    """The picker's line for a candidate; a screen's score says it is one."""
    if node["status"] == "ok":
        score = frames.score_text(node["status"], node["score"], node.get("stage"))
    else:
        score = node["status"]
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
    """A candidate id chosen with a select box that starts at `?<param>=` (an id, a
    unique prefix, or `best`; else `default`) and writes the choice back to the URL.

    An id that names no candidate of the run stops the page with a message: showing
    another candidate in its place would pass that one off as the one asked for."""
    nodes = candidate_nodes(repo, summary["run_id"], summary["direction"], version(summary))
    if not nodes:
        return None
    ids = [n["id"] for n in nodes]
    labels = {n["id"]: label(n) for n in nodes}
    asked = st.query_params.get(param) or None
    wanted = default if asked in (None, links.BEST) else _match(ids, asked)
    if wanted is None and asked not in (None, links.BEST):
        st.error(
            f"Run {summary['run_id']} has no candidate {formatting.literal(repr(asked))}. "
            "The links above open the run's best candidate and its lineage."
        )
        st.stop()
    index = ids.index(wanted) if wanted in labels else 0
    written = f"{key}_written"
    if asked is not None and asked != st.session_state.get(written) and wanted in labels:
        # The URL changed under the page (a link, `best`): it wins over the box's
        # remembered choice, which would otherwise keep showing the previous candidate.
        st.session_state[key] = wanted
    chosen = st.selectbox(title, ids, index=index, format_func=labels.__getitem__, key=key)
    st.query_params[param] = chosen
    st.session_state[written] = chosen
    return chosen


def _match(ids: list[str], asked: str) -> str | None:
    """`asked` itself, or the one id it is a prefix of; None for none or several."""
    if asked in ids:
        return asked
    found = [i for i in ids if i.startswith(asked)]
    return found[0] if len(found) == 1 else None
