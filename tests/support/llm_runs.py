"""Helpers for running the toy task with the llm proposer against a loopback model.

The toy task's score is -|X - 3|: a diff moving X towards 3 improves it. Its
evaluator returns GEPA-style side information, which must reach the model's prompt.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from evoforge.api import run_task
from support.model_server import Reply, SeenRequest

PROGRAM = """\
def helper():
    return 0


# EVOLVE-BLOCK-START
X = 1.0
# EVOLVE-BLOCK-END
"""

EVALUATE = """\
def evaluate(program_path):
    scope = {}
    exec(open(program_path).read(), scope)
    x = float(scope["X"])
    return -abs(x - 3.0), {"x": x, "hint": "X should move towards the target"}
"""

TASK_TOML = """\
files = ["program.py"]
objective = "Move X to the hidden target."
background = "X is a float constant."
"""


def write_toy_task(root: Path) -> Path:
    folder = root / "toy"
    folder.mkdir()
    (folder / "program.py").write_text(PROGRAM)
    (folder / "evaluate.py").write_text(EVALUATE)
    (folder / "task.toml").write_text(TASK_TOML)
    return folder


def current_x(request: SeenRequest) -> str:
    """The X written in the parent shown to the model (the first program in the prompt)."""
    found = re.search(r"^X = (\S+)$", request.body["messages"][-1]["content"], re.M)
    assert found, "the prompt does not show the parent's X"
    return found.group(1)


def diff_to(new: str, old: str = "1.0") -> str:
    return textwrap.dedent(
        f"""\
        Moving X closer to the target.

        <<<<<<< SEARCH program.py
        X = {old}
        =======
        X = {new}
        >>>>>>> REPLACE
        """
    )


def good_diff(request: SeenRequest) -> Reply:
    """A diff that moves whatever X the parent has half way towards 3."""
    old = current_x(request)
    return Reply(diff_to(repr((float(old) + 3.0) / 2), old))


def rewrite_to(new: str) -> str:
    body = PROGRAM.replace("X = 1.0", f"X = {new}")
    return f"A bolder version.\n\n### program.py\n```python\n{body}```\n"


def run_llm(
    task: Path,
    db_url: str,
    api_base: str,
    *,
    evaluations: int = 2,
    models: list[Any] | None = None,
    **options: Any,
) -> Any:
    """A greedy run with one proposal and one evaluation in flight: order is the script's."""
    budget = {k: options.pop(k) for k in ("max_cost_usd",) if k in options}
    proposer_options = {
        "models": models or [{"model": "openai/test-model", "api_base": api_base}],
        "backoff_s": 0.01,
        "mode_weights": {"diff": 1.0},
        **options,
    }
    return run_task(
        task,
        db=db_url,
        max_evaluations=evaluations,
        seed=1,
        strategy="greedy",
        evaluation_slots=1,
        proposal_slots=1,
        proposer="llm",
        proposer_options=proposer_options,
        max_fruitless_proposals=20,
        **budget,
    )


def stored_calls(db_url: str, run_id: str) -> list[dict[str, Any]]:
    engine = create_engine(db_url)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "select proposal_id, candidate_id, model, error, tokens_in, tokens_out, cost_usd, "
                "prompt, response from proposer_calls where run_id = :run order by id"
            ),
            {"run": run_id},
        ).mappings()
        found = [dict(row) for row in rows]
    engine.dispose()
    return found
