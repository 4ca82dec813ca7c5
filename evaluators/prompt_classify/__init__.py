"""Built-in task `prompt_classify`: evolve the system prompt of a support-ticket classifier.

The artifact is a prompt, not a program: the evaluator sends each labelled customer
message to a task model with the candidate as its system prompt and scores exact-match
accuracy over five labels. It shows prompt evolution end to end (a model proposer
rewriting text from the feedback of misclassified messages) and why the sandbox
must keep the network for some tasks: the evaluator, not the candidate, calls a model.

The task model is the user's choice per run (`--task-env EVOFORGE_TASK_MODEL=...`), so
no score can be fixed in advance; the plain seed prompt is the baseline to read a run
against. The package stays light: the task model (pydantic) loads only in the hook.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from evoforge.hookspecs import hookimpl

if TYPE_CHECKING:
    from evoforge.task import Task

HERE = Path(__file__).parent
NAME = "prompt_classify"
EVALUATE = f"evoforge.evaluators.{NAME}.evaluate"

OBJECTIVE = (
    "Write the system prompt that makes the task model label customer-support messages "
    "as billing, bug, feature_request, account or other with the highest accuracy."
)

BACKGROUND = """\
The artifact is prompt.txt, the SYSTEM prompt of a classifier. For each customer-support
message the evaluator calls the task model (chosen by the user for the run) with
messages [system: your prompt, user: the customer's message verbatim], temperature 0 and
max_tokens 20. Nothing else is sent: every instruction, label definition and example
must be in the prompt.

Labels: billing (charges, refunds, invoices, prices, payment methods), bug (the product
misbehaves: errors, crashes, wrong results), feature_request (asks for something the
product does not do yet), account (sign-in, passwords, profile, users and ownership,
deleting an account), other (everything else). Some messages are deliberately ambiguous
(a crash during checkout that left two charges is billing; a wish for two-factor login
with hardware keys is a feature_request; a broken link in a blog post is other).

Reading the reply: the first word of its first line, lower-cased, with punctuation
stripped; it must then equal the label exactly (feature_request with its underscore).
So the model must answer with the bare label and nothing before it.

Rules (checked before any model call): the prompt is not empty, has at most 4,000
characters, and names every label as a whole word; otherwise it is invalid and the
reason lists what is missing. The score is the accuracy on the training messages (1
per correct label, 0 otherwise, averaged). A model call that fails scores 0 and is
reported; if every call fails the evaluation is invalid with the first error.
"""


@hookimpl
def evoforge_tasks() -> list[Task]:
    """Provide the `prompt_classify` task."""
    from evoforge.evaluators.prompt_classify import dataset
    from evoforge.task import ArtifactFile, Baseline, Resources, Stage, Task

    seed = (HERE / "seed_prompt.txt").read_text("utf-8")
    return [
        Task(
            name=NAME,
            description="Evolve the system prompt of a 5-label support-ticket classifier.",
            objective=OBJECTIVE,
            background=BACKGROUND,
            files=[ArtifactFile(name="prompt.txt", seed=seed)],
            evaluate=f"{EVALUATE}:evaluate",
            stages=[Stage(name="smoke", function=f"{EVALUATE}:smoke")],
            instances=dataset.split("train"),
            validation_instances=dataset.split("validation"),
            test_instances=dataset.split("test"),
            baselines=[
                Baseline(
                    name="plain",
                    files={"prompt.txt": seed},
                    note=(
                        "The seed prompt: lists the labels and asks for the label only, "
                        "with no definitions or examples. Its accuracy depends on the task "
                        "model chosen for the run, so no score is stored; the run's seed "
                        "evaluation is its score for that model."
                    ),
                    scores={},
                )
            ],
            direction="maximize",
            metric="score",
            resources=Resources(timeout_s=120, memory_mb=2048, network=True),
            reference_score=None,
            reference_note=(
                "none: accuracy depends on the task model; compare with the seed (the "
                "'plain' baseline) evaluated on the same model"
            ),
            source=f"evoforge.evaluators.{NAME}",
        )
    ]
