"""Candidate: the artifact, its diffs, what the evaluator said and what the model was
asked, with links up to its parent and down to its children."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from evoforge.export import flags
from evoforge.store import Repository
from evoforge.store.runs import failure_reason
from evoforge.ui import artifacts, connection, formatting, frames, links, picking
from evoforge.ui.redact import redact


def standing(evaluation: dict[str, Any] | None, summary: dict[str, Any], seed: bool) -> str:
    """The score against the seed and the reference, as the Run page measures the best:
    a bare number says little without them. Only a result is measured (not a screen)."""
    if evaluation is None or not frames.is_result(
        evaluation["status"], evaluation["score"], evaluation["stage"]
    ):
        return ""
    score, direction = evaluation["score"], summary["direction"]
    parts = [
        None if seed else formatting.against_seed(score, summary["seed_score"], direction),
        formatting.against_reference(score, summary["reference_score"], direction),
    ]
    return ", ".join(part for part in parts if part)


def show_files(files: dict[str, str]) -> None:
    for name in sorted(files):
        st.markdown(f"**{formatting.literal(name)}**")
        st.code(files[name], language=artifacts.language(name), line_numbers=True)


def show_diff(title: str, text: str, empty: str) -> None:
    if not text:
        st.caption(empty)
        return
    added, removed = artifacts.changed_lines(text)
    st.caption(f"{title}: +{added} −{removed} lines")
    st.code(text, language="diff")


def _score(evaluation: dict[str, Any]) -> str:
    """The score, named as a screen when the minibatch stopped it (not a result)."""
    return frames.score_text(evaluation["status"], evaluation["score"], evaluation["stage"])


def show_evaluation(evaluation: dict[str, Any] | None) -> None:
    if evaluation is None:
        st.info("Not evaluated yet.")
        return
    cols = st.columns(4)
    cols[0].metric("status", evaluation["status"])
    cols[1].metric("score", _score(evaluation))
    cols[2].metric("duration", formatting.duration(evaluation["duration_s"]))
    # Markdown in a metric's value is rendered (images included): the stage is text.
    cols[3].metric("stage", formatting.literal(evaluation["stage"] or "–"))
    if evaluation["reason"]:
        st.error(f"reason: {formatting.literal(evaluation['reason'])}")
    flagged = flags(evaluation["metrics"])
    if flagged:
        named = ", ".join(formatting.literal(name) for name in flagged)
        st.warning(f"FLAGGED for review: {named}")
    sandbox = formatting.literal(evaluation["sandbox"] or "–")
    st.caption(f"sandbox {sandbox} on {formatting.literal(evaluation['host'] or '–')}")
    if evaluation["metrics"]:
        st.markdown("**Metrics**")
        st.dataframe(
            pd.DataFrame(
                [
                    {"metric": k, "value": formatting.value(v)}
                    for k, v in sorted(evaluation["metrics"].items())
                ]
            ),
            hide_index=True,
        )
    instances = evaluation["instance_scores"]
    if instances:
        st.markdown(f"**Per-instance scores** ({len(instances):,})")
        frame = pd.DataFrame(
            [{"instance": str(k), "score": v} for k, v in instances.items()]
        ).sort_values("score")
        st.dataframe(frame, hide_index=True)
    if evaluation["feedback"]:
        st.markdown("**Feedback**")
        st.code(evaluation["feedback"], language=None, wrap_lines=True)
    for stream in ("stdout", "stderr"):
        if evaluation[stream]:
            with st.expander(f"{stream} ({len(evaluation[stream]):,} characters)"):
                st.code(evaluation[stream], language=None)
    if evaluation["artifacts"]:
        with st.expander("Evaluator artifacts"):
            st.json(redact(evaluation["artifacts"]), expanded=True)


def show_proposer(detail: dict[str, Any]) -> None:
    proposal = detail["proposal"]
    calls = detail["proposer_calls"]
    candidate = detail["candidate"]
    proposer = formatting.literal(candidate["proposer"] or "–")
    st.caption(f"proposer {proposer} · kind {candidate['kind']}")
    if candidate["note"]:
        st.markdown(f"**Proposer's note:** {formatting.literal(candidate['note'])}")
    if proposal is not None:
        cols = st.columns(4)
        cols[0].metric("tokens in", f"{proposal['tokens_in']:,}")
        cols[1].metric("tokens out", f"{proposal['tokens_out']:,}")
        cols[2].metric("cost", formatting.money(proposal["cost_usd"]))
        cols[3].metric("model calls", f"{len(calls):,}")
    if not calls:
        st.caption("No model call made this candidate (a seed, or an offline proposer).")
    for number, call in enumerate(calls, start=1):
        title = (
            f"call {number}: {formatting.literal(call['model'])} · {call['tokens_in']:,} in / "
            f"{call['tokens_out']:,} out · {formatting.money(call['cost_usd'])} · "
            f"{call['latency_s']:.2f} s"
        )
        with st.expander(title, expanded=len(calls) == 1):
            if call["error"]:
                st.error(formatting.literal(call["error"]))
            st.markdown("**Prompt**")
            st.code(redact(call["prompt"]), language="markdown", wrap_lines=True)
            st.markdown("**Response**")
            st.code(redact(call["response"]), language="markdown", wrap_lines=True)


def show_family(repo: Repository, run_id: str, detail: dict[str, Any]) -> None:
    st.markdown("**Parents**")
    if not detail["parents"]:
        st.caption("None: this is a seed.")
    for parent in detail["parents"]:
        links.candidate_link(run_id, parent["id"], f"{parent['id']} ({parent['kind']})")
    st.markdown(f"**Children** ({len(detail['children']):,})")
    if not detail["children"]:
        st.caption("No children yet.")
    for child in detail["children"][:200]:
        links.candidate_link(run_id, child["id"], f"{child['id']} ({child['kind']})")
    if len(detail["children"]) > 200:
        st.caption(f"… and {len(detail['children']) - 200:,} more")
    ancestry = repo.ancestry(detail["candidate"]["id"])
    if ancestry:
        st.markdown(f"**Ancestry** ({len(ancestry):,} generations back to the seed)")
        st.dataframe(pd.DataFrame(ancestry), hide_index=True)


repo = connection.repository()
summary = links.choose_run(repo)
run_id = summary["run_id"]
navigation = st.empty()  # the links, redrawn once the candidate is known
seed = repo.seed_candidate(run_id)
best_id = summary["best_candidate_id"]
first = best_id or (seed.id if seed else None)
if links.param("candidate") == links.BEST:
    default = first
    if best_id is None:
        st.info("This run has no valid candidate yet; here is its seed.")
else:  # from the sidebar (no ?candidate=) the page keeps the candidate it last showed
    default = links.remembered_candidate(run_id) or first
with navigation.container():
    links.run_links(run_id, has_best=best_id is not None)
candidate_id = picking.pick(repo, summary, "Candidate", "candidate", default, "candidate_picker")
if candidate_id is None:
    st.info("This run has no candidates yet.")
    st.stop()
links.remember_candidate(run_id, candidate_id)

detail = repo.candidate_detail(candidate_id)
candidate = detail["candidate"]
evaluation = detail["evaluation"]
if evaluation is None:
    score = "not evaluated"
elif evaluation["status"] != "ok":
    score = evaluation["status"]  # not "–": a failure is named, its reason shown below
else:
    score = _score(evaluation)
is_best = candidate_id == best_id
best = " · best of the run" if is_best else ""
with navigation.container():
    links.run_links(
        run_id,
        candidate_id,
        "Best candidate" if is_best else f"Candidate #{candidate['seq']}",
        has_best=best_id is not None,
    )
st.title(f"Candidate #{candidate['seq']} · {score}")
st.caption(
    f"{candidate_id} · {summary['task']} run {run_id} · generation {candidate['generation']} · "
    f"island {candidate['island']} · {candidate['kind']} by "
    f"{formatting.literal(candidate['proposer'] or '–')}{best}"
)
if evaluation is not None and evaluation["status"] != "ok":
    st.markdown(
        f"**{evaluation['status']}**: "
        + formatting.literal(failure_reason(evaluation["reason"] or ""))
        + " (the Evaluation tab has the whole reason and the output)"
    )
worth = standing(evaluation, summary, candidate["kind"] == "seed")
if worth:
    st.markdown(formatting.literal(worth))
if candidate["parent_id"]:
    links.candidate_link(run_id, candidate["parent_id"], f"Parent: {candidate['parent_id']}")
if best_id and not is_best:
    links.candidate_link(run_id, best_id, f"The run's best: {best_id}")

parent_files = repo.candidate_view(candidate["parent_id"]).files if candidate["parent_id"] else None
tabs = st.tabs(["Artifact", "Diff vs parent", "Diff vs seed", "Evaluation", "Proposer", "Family"])
with tabs[0]:
    show_files(candidate["files"])
with tabs[1]:
    if parent_files is None:
        st.caption("The seed has no parent.")
    else:
        show_diff(
            "against its parent",
            artifacts.diff(parent_files, candidate["files"], "parent", "candidate"),
            "Identical to its parent.",
        )
with tabs[2]:
    if seed is None or seed.id == candidate_id:
        st.caption("This is the seed.")
    else:
        show_diff(
            "against the seed",
            artifacts.diff(seed.files, candidate["files"], "seed", "candidate"),
            "Identical to the seed.",
        )
with tabs[3]:
    show_evaluation(evaluation)
with tabs[4]:
    show_proposer(detail)
with tabs[5]:
    show_family(repo, run_id, detail)
