"""Compare: two candidates of a run side by side, their diff and their metrics."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from evoforge.store.runs import failure_reason
from evoforge.ui import artifacts, connection, formatting, frames, links, picking


def metrics_table(a: dict[str, Any] | None, b: dict[str, Any] | None) -> pd.DataFrame:
    """Score and every metric of both, with b − a where both are numbers. A screen's
    score gets its own row, so it is never subtracted from a result. Numbers read as
    on every page (six digits), so float noise does not pass for a difference."""
    first = {_score_name(a): a["score"], **a["metrics"]} if a else {}
    second = {_score_name(b): b["score"], **b["metrics"]} if b else {}
    rows = []
    for name in dict.fromkeys([*first, *second]):
        x, y = first.get(name), second.get(name)
        numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (x, y))
        rows.append(
            {
                "metric": name,
                "A": formatting.value(x),
                "B": formatting.value(y),
                "B − A": formatting.difference(y, x) if numbers else "",
            }
        )
    return pd.DataFrame(rows, columns=["metric", "A", "B", "B − A"])


def _score_name(evaluation: dict[str, Any]) -> str:
    screened = frames.is_screened(evaluation["status"], evaluation["score"], evaluation["stage"])
    return f"score, {frames.SCREENED_LABEL}" if screened else "score"


repo = connection.repository()
summary = links.choose_run(repo)
run_id = summary["run_id"]
links.run_links(run_id, has_best=summary["best_candidate_id"] is not None)
st.title(f"Compare two candidates · {summary['task']} · run {run_id}")
seed = repo.seed_candidate(run_id)
left, right = st.columns(2)
with left:
    first = picking.pick(repo, summary, "A", "a", seed.id if seed else None, "compare_a")
with right:
    # B: the best, else the candidate last shown, else any candidate but the seed.
    others = [
        n["id"]
        for n in picking.candidate_nodes(
            repo, run_id, summary["direction"], picking.version(summary)
        )
        if not seed or n["id"] != seed.id
    ]
    b_default = (
        summary["best_candidate_id"]
        or links.remembered_candidate(run_id)
        or (others[0] if others else None)
    )
    second = picking.pick(repo, summary, "B", "b", b_default, "compare_b")
if first is None or second is None:
    st.info("This run has no candidates yet.")
    st.stop()

a = repo.candidate_detail(first)
b = repo.candidate_detail(second)
for column, detail, name in ((left, a, "A"), (right, b, "B")):
    evaluation = detail["evaluation"]
    with column:
        status = evaluation["status"] if evaluation else "pending"
        score = (
            frames.score_text(evaluation["status"], evaluation["score"], evaluation["stage"])
            if evaluation
            else "–"
        )
        if evaluation and status != "ok":  # no score to give: its reason instead
            reason = formatting.literal(failure_reason(evaluation["reason"] or ""))
            st.markdown(f"**{name}: #{detail['candidate']['seq']}** · {status}: {reason}")
        else:
            st.markdown(f"**{name}: #{detail['candidate']['seq']}** · {status} · score {score}")
        links.candidate_link(run_id, detail["candidate"]["id"], "open")

st.subheader("Metrics")
st.dataframe(metrics_table(a["evaluation"], b["evaluation"]), hide_index=True)
st.subheader("Diff A → B")
text = artifacts.diff(a["candidate"]["files"], b["candidate"]["files"], "A", "B")
if text:
    added, removed = artifacts.changed_lines(text)
    st.caption(f"+{added} −{removed} lines")
    st.code(text, language="diff")
else:
    st.caption("The two artifacts are identical.")
st.subheader("Side by side")
names = sorted(set(a["candidate"]["files"]) | set(b["candidate"]["files"]))
for name in names:
    one, two = st.columns(2)
    for column, detail in ((one, a), (two, b)):
        with column:
            st.markdown(f"**{formatting.literal(name)}**")
            content = detail["candidate"]["files"].get(name)
            if content is None:
                st.caption("(no such file)")
            else:
                st.code(content, language=artifacts.language(name), line_numbers=True)
