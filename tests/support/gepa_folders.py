"""Task folders written the way GEPA users write evaluators, and readers for their runs.

Each prompt holds a word limit the score wants near twelve, so both the offline
proposer (it nudges the number) and a scripted model (a diff) can improve it.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from cli_helpers import cli_json, write_folder_task

from evoforge.proposals import CandidateView
from evoforge.store.database import open_database
from evoforge.store.repository import Repository

PROMPT = "Answer in at most 40 words.\n"
LIMIT = 'float(re.search(r"at most ([0-9.eE+-]+) words", {}).group(1))'

# A first parameter named `x`, single-task search (no dataset), and oa.log.
FIRST_PARAMETER_X = {
    "task.toml": """
        files = ["prompt.txt"]
        objective = "Make the word limit twelve."
    """,
    "prompt.txt": PROMPT,
    "evaluate.py": f"""
        import re

        import gepa.optimize_anything as oa


        def evaluate(x):
            limit = {LIMIT.format("x")}
            oa.log(f"the limit read from the prompt was {{limit}}")
            return -abs(limit - 12.0), {{"Feedback": "the limit should be near twelve"}}
    """,
}

# GEPA's per-example signature with opt_state injected.
EXAMPLE_AND_OPT_STATE = {
    "task.toml": """
        files = ["prompt.txt"]
        instances = [{id = "a", n = 2}, {id = "b", n = 3}]
    """,
    "prompt.txt": PROMPT,
    "evaluate.py": f"""
        import re


        def evaluate(x, example, opt_state):
            limit = {LIMIT.format("x")}
            earlier = len(opt_state.best_example_evals)
            return -abs(limit - 4 * example["n"]), {{
                "Feedback": f"{{type(opt_state).__name__}} with {{earlier}} earlier evaluations",
                "example": example["id"],
            }}
    """,
}

# Several components, a .txt and a .md, indexed by component name as GEPA users do.
COMPONENTS = {
    "task.toml": """
        files = ["system_prompt.txt", "examples.md"]
    """,
    "system_prompt.txt": PROMPT,
    "examples.md": "- one example\n- another example\n",
    "evaluate.py": f"""
        import re


        def evaluate(candidate, example=None, **kwargs):
            limit = {LIMIT.format('candidate["system_prompt"]')}
            shots = candidate["examples"].count("- ")
            same = candidate["system_prompt.txt"] == candidate["system_prompt"]
            return -abs(limit - 12.0) + shots, {{
                "components": ",".join(sorted(candidate)),
                "full file names": "work" if same else "differ",
                "example given": str(example is not None or "example" in kwargs),
                "scores": {{"shots": shots}},
            }}
    """,
}


def write(root: Path, name: str, files: dict[str, str]) -> Path:
    return write_folder_task(root, name, files)


def run_offline(folder: Path, db_url: str, evaluations: int = 6) -> dict[str, Any]:
    """`evoforge run FOLDER` with the offline proposer; the summary it prints."""
    return cli_json(
        "run", str(folder), "--max-evaluations", str(evaluations), "--seed", "3", "--db", db_url
    )


def run_with_model(folder: Path, db_url: str, api_base: str, evaluations: int = 2) -> Any:
    """`evoforge run FOLDER --model ...` against the loopback server, one step at a time."""
    return cli_json(
        "run",
        str(folder),
        "--model",
        "openai/test-model",
        "--api-base",
        api_base,
        "--mode-weights",
        "diff=1",
        "--strategy",
        "greedy",
        "-E",
        "1",
        "-P",
        "1",
        "--max-evaluations",
        str(evaluations),
        "--seed",
        "1",
        "--db",
        db_url,
    )


def evaluated(db_url: str, run_id: str) -> list[CandidateView]:
    """Every evaluated candidate of the run, as the UI and the proposer see them."""
    return Repository(open_database(db_url)).evaluated_candidates(run_id)


def seed_of(db_url: str, run_id: str) -> CandidateView:
    seed = Repository(open_database(db_url)).seed_candidate(run_id)
    assert seed is not None
    return seed


def diff(file: str, old: str, new: str) -> str:
    return textwrap.dedent(
        f"""\
        Tightening the limit.

        <<<<<<< SEARCH {file}
        {old}
        =======
        {new}
        >>>>>>> REPLACE
        """
    )
