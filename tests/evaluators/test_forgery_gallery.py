"""A forgery gallery per built-in task: patching what scores changes no score.

Each candidate is the task's seed (a valid, mediocre policy) with a forgery appended:
at import it patches the task's simulator, its scoring function, `json`, `builtins`
(`sum`, `min`, `max`, only when an evaluator calls them) or evoforge's result writer,
each to inflate the score. It prints `FORGERY <kind> applied` once a patch is in
place, so the test knows the patch ran. Every candidate goes through the real process
sandbox and harness, and must get exactly the score, and the per-instance scores, of
the same seed without the forgery: the evaluators run the candidate in a separate
process (evoforge.candidate_process), so whatever it patches is its own copy.

Before the built-in tasks used the helper, 23 of these 30 candidates changed the
outcome: 21 inflated their score, two broke their evaluation (the json patch only bit
where an evaluator parses JSON after loading the candidate, the builtins patch only
where an evaluator sums with `sum`, `min` or `max`).

Two neighbours of the gallery check what the candidate's process can still do to the
scorer's, which runs as the same user: read its memory or environment (refused: the
scorer is not dumpable), or kill it (then there is no result at all, never a forged
one).

prompt_classify's candidate is a prompt, never run: the gallery puts each forgery's
code into the prompt and checks the score is exactly what the (fake) task model's
answers to that prompt give.
"""

from __future__ import annotations

import textwrap
from typing import Any

import pytest

from evoforge.jobs import EvaluationJob, EvaluationOutcome
from evoforge.plugin_manager import registry
from evoforge.sandboxes.process import ProcessSandbox
from evoforge.task import Task

pytestmark = pytest.mark.slow

TASKS = (
    "circle_packing",
    "model_placement",
    "spot_scheduling",
    "moe_eplb",
    "txn_scheduling",
    "cloudcast",
)
KINDS = ("simulator", "scoring", "json", "builtins", "result_writer")
INSTANCES = 2  # the first training instances: enough to score, quick to run

# What each task's "simulator" is, and the forgery of it that inflates the score.
SIMULATOR = {
    "circle_packing": """
        import evoforge.evaluators.circle_packing.evaluate as ev
        from evoforge.result import EvaluationResult

        def check_packing(centers, radii):
            return EvaluationResult(score=1e9, metrics={"sum_radii": 1e9})

        ev.check_packing = check_packing
    """,
    "model_placement": """
        import dataclasses
        import evoforge.evaluators.model_placement.simulator as sim
        import evoforge.evaluators.model_placement.evaluate as ev
        original = sim.simulate

        def simulate(instance, returned):
            real = original(instance, returned)
            return dataclasses.replace(real, max_pressure=real.max_pressure / 1000)

        sim.simulate = ev.simulate = simulate
    """,
    "spot_scheduling": """
        import dataclasses
        import evoforge.evaluators.spot_scheduling.simulator as sim
        import evoforge.evaluators.spot_scheduling.evaluate as ev
        original = sim.simulate

        def simulate(instance, decide):
            return dataclasses.replace(original(instance, decide), score=1.0, cost=0.0)

        sim.simulate = ev.simulate = simulate
    """,
    "moe_eplb": """
        import numpy as np
        import evoforge.evaluators.moe_eplb.simulator as sim
        import evoforge.evaluators.moe_eplb.evaluate as ev
        original = sim.serve

        def serve(plan, window):
            return original(plan, np.ones_like(window))  # perfectly even traffic

        sim.serve = ev.serve = serve
    """,
    "txn_scheduling": """
        import dataclasses
        import evoforge.evaluators.txn_scheduling.simulator as sim
        import evoforge.evaluators.txn_scheduling.runner as runner
        original = sim.simulate

        def simulate(txns, order):
            real = original(txns, order)
            return dataclasses.replace(real, makespan=real.makespan / 10)

        sim.simulate = runner.simulate = simulate
    """,
    "cloudcast": """
        import evoforge.evaluators.cloudcast.simulator as sim
        import evoforge.evaluators.cloudcast.evaluate as ev
        original = sim.describe
        calls = [0]

        def describe(instance, edges):
            stats = dict(original(instance, edges))
            calls[0] += 1
            if calls[0] % 2:  # the candidate's overlay is described before the baseline's
                stats["cost_usd"] /= 1000
            return stats

        sim.describe = ev.describe = describe
    """,
}

# The task's own scoring step, forged, on top of `EvaluationResult` and `normalize`.
TASK_SCORING = {
    "circle_packing": """
        import evoforge.evaluators.circle_packing.evaluate as ev
        original_score = ev._score

        def _score(c, r):
            result = original_score(c, r)
            result.score = 1e9
            return result

        ev._score = _score
    """,
    "model_placement": """
        from evoforge.evaluators.model_placement.feedback import CaseResult
        CaseResult.score = property(lambda self: 1000.0)
    """,
    "spot_scheduling": """
        import evoforge.evaluators.spot_scheduling.simulator as sim
        sim.normalised_score = lambda cost, work_h: 1.0
    """,
    "moe_eplb": """
        import evoforge.evaluators.moe_eplb.evaluate as ev
        ev._mean = lambda values: 1.0
    """,
    "txn_scheduling": """
        import evoforge.evaluators.txn_scheduling.evaluate as ev
        ev.entry = lambda spec, txns: {"makespan": 1e9, "score": 1.0}
    """,
    "cloudcast": """
        import evoforge.evaluators.cloudcast.evaluate as ev
        original_run = ev.run_policy

        def run_policy(policy, specs):
            result = original_run(policy, specs)
            result.score = 1e9
            return result

        ev.run_policy = run_policy
    """,
}

SCORING = """
    import sys
    import evoforge.result as result
    original_init = result.EvaluationResult.__init__

    def __init__(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        if self.valid and self.score is not None:
            self.score = 1e9

    result.EvaluationResult.__init__ = __init__
    original_normalize = result.normalize

    def normalize(value, metric):
        normalized = original_normalize(value, metric)
        if normalized.valid:
            normalized.score = 1e9
        return normalized

    result.normalize = normalize
    harness = sys.modules.get("__main__")
    if harness is not None and hasattr(harness, "normalize"):
        harness.normalize = normalize  # the harness's own global
"""

JSON = """
    import json

    def _inflate(value):
        if isinstance(value, dict):
            return {
                key: item * 10 if key in ("makespan", "score") and isinstance(item, float)
                else _inflate(item)
                for key, item in value.items()
            }
        if isinstance(value, list):
            return [_inflate(item) for item in value]
        return value

    original_decode, original_dumps = json.JSONDecoder.decode, json.dumps
    # `json.load` and `json.loads` both end here.
    json.JSONDecoder.decode = lambda self, text, *a: _inflate(original_decode(self, text, *a))

    def dumps(value, *a, **k):
        if isinstance(value, dict) and "score" in value:
            value = dict(value, score=1e9)
        return original_dumps(value, *a, **k)

    json.dumps = dumps
"""

BUILTINS = """
    import builtins
    import sys

    def _evaluators_call():
        caller = sys._getframe(2).f_globals.get("__name__", "")
        return caller.startswith("evoforge.evaluators") or caller == "__main__"

    originals = {name: getattr(builtins, name) for name in ("sum", "min", "max")}

    def sum(iterable, /, start=0):
        total = originals["sum"](iterable, start)
        return total * 10 if _evaluators_call() and isinstance(total, float) else total

    def min(*args, **kwargs):
        least = originals["min"](*args, **kwargs)
        return least * 10 if _evaluators_call() and isinstance(least, float) else least

    def max(*args, **kwargs):
        most = originals["max"](*args, **kwargs)
        return most * 10 if _evaluators_call() and isinstance(most, float) else most

    builtins.sum, builtins.min, builtins.max = sum, min, max
"""

RESULT_WRITER = """
    import evoforge.sandboxes.result_file as result_file

    forged = '''
    def write_result(path, payload):
        if payload.get("status") == "ok":
            payload["score"] = 1e9
        temporary = f"{path}.{os.getpid()}.tmp"
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.write(to_json(plain(payload)))
        os.replace(temporary, path)
    '''
    scope = {}
    exec(textwrap.dedent(forged), scope)
    # In place, so the harness's own reference to the function runs the forgery; its
    # names (`os`, `to_json`, `plain`) resolve in result_file's globals.
    result_file.write_result.__code__ = scope["write_result"].__code__
"""


def forgery(kind: str, task: str) -> str:
    """Source appended to the seed: the patch, run at import, announcing itself."""
    body = {
        "simulator": SIMULATOR[task],
        "scoring": SCORING + TASK_SCORING[task],
        "json": JSON,
        "builtins": BUILTINS,
        "result_writer": RESULT_WRITER,
    }[kind]
    code = textwrap.indent(textwrap.dedent(body), "    ")
    return (
        "\n\ndef _forge():\n    import textwrap\n"
        f"{code}\n"
        "try:\n"
        "    _forge()\n"
        f"    print('FORGERY {kind} applied', flush=True)\n"
        "except Exception as error:\n"
        f"    print('FORGERY {kind} failed:', repr(error), flush=True)\n"
    )


def tasks() -> dict[str, Task]:
    return registry().tasks()


def evaluate(task: Task, files: dict[str, str]) -> EvaluationOutcome:
    job = EvaluationJob.for_candidate(task, "forgery-gallery", "c", files, "process")
    if job.instances is not None:
        job = job.model_copy(update={"instances": job.instances[:INSTANCES]})
    return ProcessSandbox().run(job)


_honest: dict[str, EvaluationOutcome] = {}


def honest(task: Task) -> EvaluationOutcome:
    """The seed's outcome without any forgery (once per task)."""
    if task.name not in _honest:
        outcome = evaluate(task, task.seed_files())
        assert outcome.status == "ok", (outcome.reason, outcome.stderr[-2000:])
        _honest[task.name] = outcome
    return _honest[task.name]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("task_name", TASKS)
def test_a_forgery_changes_no_score(task_name: str, kind: str) -> None:
    task = tasks()[task_name]
    expected = honest(task)
    files = task.seed_files()
    files[task.primary] += forgery(kind, task_name)
    outcome = evaluate(task, files)
    assert f"FORGERY {kind} applied" in outcome.stdout, (outcome.stdout[-2000:], outcome.reason)
    assert "failed:" not in outcome.stdout, outcome.stdout[-2000:]
    assert outcome.status == "ok", (outcome.reason, outcome.stderr[-2000:])
    assert outcome.score == expected.score
    assert outcome.instance_scores == expected.instance_scores


PROBE = """

import os as _os


def _probe_the_scorer():
    found = []
    for name in ("mem", "environ", "fd"):
        try:
            path = f"/proc/{_os.getppid()}/{name}"
            _os.listdir(path) if name == "fd" else open(path, "rb").read(1)
            found.append(f"{name}:read")
        except OSError as error:
            found.append(f"{name}:{type(error).__name__}")
    print("PROBE", " ".join(found), flush=True)


_probe_the_scorer()
"""


def test_the_candidates_process_cannot_read_the_scorers_memory() -> None:
    task = tasks()["spot_scheduling"]
    expected = honest(task)
    files = task.seed_files()
    files[task.primary] += PROBE
    outcome = evaluate(task, files)
    assert outcome.status == "ok", (outcome.reason, outcome.stderr[-2000:])
    probes = [line for line in outcome.stdout.splitlines() if line.startswith("PROBE")]
    assert probes, outcome.stdout[-2000:]
    assert all(":read" not in line for line in probes), probes
    assert outcome.score == expected.score


def test_a_candidate_that_kills_the_scorer_gets_no_score() -> None:
    task = tasks()["spot_scheduling"]
    files = task.seed_files()
    files[task.primary] += "\nimport os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n"
    outcome = evaluate(task, files)
    assert outcome.status in ("crashed", "failed"), (outcome.status, outcome.reason)
    assert outcome.score is None


# --- prompt_classify: the candidate is text --------------------------------------------


@pytest.fixture(scope="module")
def task_model() -> Any:
    from support.model_server import ScriptedModelServer
    from test_task_prompt_classify import task_model as answer

    with ScriptedModelServer(models={"task-model": answer}) as running:
        yield running


@pytest.mark.parametrize(
    "kinds", [KINDS[:3], KINDS[3:]], ids=["+".join(KINDS[:3]), "+".join(KINDS[3:])]
)
def test_a_prompt_holding_forgeries_gets_what_the_model_answers(
    kinds: tuple[str, ...], task_model: Any
) -> None:
    """No candidate code runs in prompt_classify's evaluation: a prompt is only sent.

    Two prompts, each holding several forgeries (the prompt limit is 4,000 characters).
    """
    from test_task_prompt_classify import expected_accuracy

    task = tasks()["prompt_classify"]
    prompt = task.seed_files()["prompt.txt"]
    prompt += "".join(forgery(kind, "circle_packing") for kind in kinds)
    files = {"prompt.txt": prompt}
    job = EvaluationJob.for_candidate(task, "forgery-gallery", "c", files, "process")
    env = {
        "EVOFORGE_TASK_MODEL": "openai/task-model",
        "EVOFORGE_TASK_API_BASE": task_model.api_base,
    }
    job = job.model_copy(update={"instances": job.instances[:6], "env": env})
    outcome = ProcessSandbox().run(job)
    assert outcome.status == "ok", (outcome.reason, outcome.stderr[-2000:])
    assert "FORGERY" not in outcome.stdout
    assert outcome.score == expected_accuracy(prompt, job.instances)
