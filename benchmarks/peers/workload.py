"""The one piece of work every tool does: move a single constant towards a target.

Standard library only: the evoforge driver imports it from evoforge's environment
and the OpenEvolve and GEPA drivers from the peers' environment. Keeping the
program, the score and the model's replies in one place is what makes the work
equal: every tool evolves the same text, is scored by the same formula, and is
answered by the same loopback server with the same kind of edit.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Callable

TARGET = 3.0
START = 1.0
STEP = 0.0001  # 2,000 steps from START stay short of TARGET: no tool stops early

PROGRAM = f"""# EVOLVE-BLOCK-START
X = {START}
# EVOLVE-BLOCK-END
"""

# The evaluator's body, formatted with its sleep (0 for the instant evaluator). It is
# written into each tool's task folder as a file, because evoforge's sandbox and
# OpenEvolve's worker processes load it from there, not from this module.
_SCORE = """
import time

def _score(program_path):
    scope = {{}}
    with open(program_path) as handle:
        exec(handle.read(), scope)
    if {eval_time}:
        time.sleep({eval_time})
    return 1.0 / (1.0 + abs(float(scope["X"]) - {target}))
"""

EVALUATORS = {
    # evoforge's folder tasks take a number (or a dict with "score").
    "evoforge": _SCORE + "\n\ndef evaluate(program_path):\n    return _score(program_path)\n",
    # OpenEvolve reads a metrics dict and ranks by "combined_score".
    "openevolve": _SCORE
    + "\n\ndef evaluate(program_path):\n"
    + "    value = _score(program_path)\n"
    + '    return {{"combined_score": value, "score": value}}\n',
}


def evaluator_source(tool: str, eval_time: float) -> str:
    return EVALUATORS[tool].format(eval_time=eval_time, target=TARGET)


def score_text(program: str) -> float:
    """GEPA evaluates the candidate text in-process: the same formula, no file."""
    scope: dict[str, object] = {}
    exec(program, scope)
    return 1.0 / (1.0 + abs(float(scope["X"]) - TARGET))  # type: ignore[arg-type]


_CONSTANT = re.compile(r"^X = (\S+)$", re.M)


def parent_value(tool: str, prompt: str) -> str:
    """The constant of the program the tool asked to change, as it appears in its prompt.

    Each tool lays its prompt out differently (OpenEvolve and evoforge show other
    programs too), so the parent is found after the heading that introduces it.
    """
    marker = {"openevolve": "# Current Program", "evoforge": "", "gepa": ""}[tool]
    start = prompt.rfind(marker) if marker else 0
    found = _CONSTANT.search(prompt, max(start, 0))
    if found is None:
        raise ValueError(f"no 'X = …' line in the {tool} prompt")
    return found.group(1)


def reply_maker(tool: str) -> Callable[[str], str]:
    """A function from a prompt to a unique, valid edit of the parent it shows.

    evoforge and OpenEvolve are answered with a SEARCH/REPLACE block (their default
    mode); GEPA rewrites the whole candidate inside a code fence (its only mode).
    """
    counter = itertools.count(1)
    lock = threading.Lock()

    def reply(prompt: str) -> str:
        with lock:
            step = next(counter)
        old = parent_value(tool, prompt)
        new = f"{START + step * STEP:.4f}"
        if tool == "gepa":
            body = PROGRAM.replace(f"X = {START}", f"X = {new}")
            return f"```python\n{body}```\n"
        return f"<<<<<<< SEARCH\nX = {old}\n=======\nX = {new}\n>>>>>>> REPLACE\n"

    return reply
