"""Score a system prompt by the task model's accuracy on labelled support messages.

Runs inside the sandbox, which keeps the network for this task because the evaluator
(not the candidate, which is plain text) calls the model. No candidate code runs here:
the prompt is only read, checked and sent, so unlike the program tasks this one needs
no separate process (evoforge.candidate_process) to keep the scoring out of reach.

`smoke` is the cheap stage: it checks the prompt's structure without any model call,
so a prompt that could not work never costs a request. `evaluate` re-checks the same
rules, because a direct call (a script, a test) skips the stages.
"""

from __future__ import annotations

import os
from typing import Any

from evoforge.evaluators.prompt_classify import dataset, feedback, model, rules
from evoforge.evaluators.prompt_classify.answers import normalise
from evoforge.result import EvaluationResult

ARTIFACT = "prompt.txt"


def prompt_text(candidate: str | dict[str, str]) -> str:
    """The prompt from the harness's `candidate`: the text, or name -> text for many files."""
    if isinstance(candidate, dict):
        return candidate.get(ARTIFACT, "")
    return candidate


def smoke(candidate: str | dict[str, str]) -> EvaluationResult:
    """The prompt's structural check alone: no model call, no instances."""
    prompt = prompt_text(candidate)
    fault = rules.prompt_fault(prompt, dataset.labels())
    if fault is not None:
        return _invalid(fault)
    return EvaluationResult(score=1.0, metrics={"prompt_chars": len(prompt)})


def evaluate(candidate: str | dict[str, str], instances: list[dict[str, Any]]) -> EvaluationResult:
    """Ask the task model for every instance's label; the score is the accuracy."""
    prompt = prompt_text(candidate)
    labels = dataset.labels()
    fault = rules.prompt_fault(prompt, labels)
    if fault is not None:
        return _invalid(fault)
    if not instances:
        return _invalid("the evaluation was given no instances")
    try:
        config = model.config_from_env(os.environ)
    except model.ConfigError as exc:
        return _invalid(str(exc))
    answers = model.ask_all(config, prompt, [str(item["text"]) for item in instances])
    graded = [
        feedback.Graded(
            id=str(item["id"]),
            text=str(item["text"]),
            label=str(item["label"]),
            got=None if answer.reply is None else normalise(answer.reply),
            error=answer.error,
        )
        for item, answer in zip(instances, answers, strict=True)
    ]
    failed = [g for g in graded if g.got is None]
    if len(failed) == len(graded):
        where = f" at {config.api_base}" if config.api_base else ""
        return _invalid(
            f"every call to the task model {config.model}{where} failed; "
            f"the first ({failed[0].id}): {failed[0].error}"
        )
    return _result(graded, labels, answers, config.model, len(prompt))


def _result(
    graded: list[feedback.Graded],
    labels: tuple[str, ...],
    answers: list[model.Answer],
    model_name: str,
    prompt_chars: int,
) -> EvaluationResult:
    scores = {g.id: 1.0 if g.correct else 0.0 for g in graded}
    accuracy = sum(scores.values()) / len(scores)
    metrics: dict[str, float] = {
        "accuracy": accuracy,
        "failed_calls": float(sum(g.got is None for g in graded)),
        "off_label_replies": float(sum(g.got is not None and g.got not in labels for g in graded)),
        "latency_s": sum(a.latency_s for a in answers) / len(answers),
        "prompt_chars": float(prompt_chars),
    }
    for label, (right, total) in feedback.per_label(graded, labels).items():
        metrics[f"accuracy_{label}"] = right / total
    return EvaluationResult(
        score=accuracy,
        metrics=metrics,
        feedback=feedback.build(graded, labels, model_name),
        instance_scores=scores,
    )


def _invalid(reason: str) -> EvaluationResult:
    return EvaluationResult(score=None, valid=False, reason=reason, feedback=reason)
