"""Runs whose pages used to hide the truth (issue 20): one where every evaluation
failed, and one where most of the model's answers were rejected. Both are made the way
a user makes them, through `run_task`; the page tests and the browser test share them.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from support.llm_runs import current_x, good_diff, run_llm, write_toy_task
from support.model_server import Reply, ScriptedModelServer, SeenRequest

from evoforge.api import run_task
from evoforge.store import Repository, open_read_only

TORCH_REASON = "evaluate raised ModuleNotFoundError: No module named 'torch'"
FAILED_EVALUATIONS = 4

STALE_SEARCH = "X = 42.0"
"""A SEARCH text no program holds: the answer is rejected, the call still paid for."""
NO_EDIT = "I would rather not change anything here."
"""An answer with no edit at all: rejected for another reason."""


@dataclass(frozen=True)
class TruthRuns:
    url: str
    failed: dict[str, Any]
    """Summary of the run whose every evaluation failed on a missing module."""
    rejected: dict[str, Any]
    """Summary of the llm run whose model mostly answered with unusable edits."""

    def repo(self) -> Repository:
        return Repository(open_read_only(self.url))


def write_torchless_task(root: Path) -> Path:
    folder = root / "torchless"
    folder.mkdir()
    (folder / "task.toml").write_text('files = ["program.py"]\n')
    (folder / "program.py").write_text(
        "# EVOLVE-BLOCK-START\nFACTOR = 0.5\n# EVOLVE-BLOCK-END\n\ndef run():\n    return FACTOR\n"
    )
    (folder / "evaluate.py").write_text(
        textwrap.dedent(
            """\
            def evaluate(program_path):
                raise ModuleNotFoundError("No module named 'torch'")
            """
        )
    )
    return folder


def _mostly_rejected() -> Any:
    """Three unusable answers (a stale SEARCH twice, then no edit) before each good
    one, so the two reasons have different counts."""
    calls = {"n": 0}

    def answer(request: SeenRequest) -> Reply:
        calls["n"] += 1
        step = calls["n"] % 4
        if step in (1, 2):
            old = current_x(request)
            reply = Reply(
                f"Trying a bold move.\n\n<<<<<<< SEARCH program.py\n{STALE_SEARCH}\n=======\n"
                f"X = {old}\n>>>>>>> REPLACE\n"
            )
        elif step == 3:
            reply = Reply(NO_EDIT)
        else:
            reply = good_diff(request)
        reply.prompt_tokens, reply.completion_tokens = 500, 100
        return reply

    return answer


def make_truth_runs(root: Path) -> TruthRuns:
    url = f"sqlite:///{root / 'truth.db'}"
    failed = run_task(
        write_torchless_task(root),
        db=url,
        max_evaluations=FAILED_EVALUATIONS,
        seed=1,
        keep_going=True,
    )
    with ScriptedModelServer(default=_mostly_rejected()) as server:
        rejected = run_llm(
            write_toy_task(root),
            url,
            server.api_base,
            evaluations=4,
            models=[{"model": "openai/gpt-4o-mini", "api_base": server.api_base}],
            max_cost_usd=1.0,  # a cap far off, so the page shows spend against it
        )
    repo = Repository(open_read_only(url))
    return TruthRuns(
        url=url,
        failed=repo.run_summary(failed.run_id),
        rejected=repo.run_summary(rejected.run_id),
    )
