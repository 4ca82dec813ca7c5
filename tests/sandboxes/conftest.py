"""Helpers for sandbox tests: small tasks written to a temporary folder."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from evoforge.jobs import EvaluationJob
from evoforge.protocols import Sandbox
from evoforge.sandboxes.process import ProcessSandbox
from evoforge.task import Resources

# Prepended to every evaluator written by `make_job`: import the candidate by path,
# the way OpenEvolve evaluators do.
LOAD_PROGRAM = """
import importlib.util


def load(path):
    spec = importlib.util.spec_from_file_location("candidate_program", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
"""

MakeJob = Callable[..., EvaluationJob]


@pytest.fixture
def sandbox() -> Iterator[ProcessSandbox]:
    made = ProcessSandbox()
    yield made
    made.close()


@pytest.fixture
def make_job(tmp_path: Path) -> MakeJob:
    """Build a job from evaluator source and program source (both dedented)."""
    counter = iter(range(1_000_000))
    # pytest makes its folders private (0700); the docker sandbox's non-root user must
    # read the evaluator, as it can in a task folder a user made.
    tmp_path.chmod(0o755)

    def build(
        evaluator: str,
        program: str = "VALUE = 0.5\n",
        *,
        function: str = "evaluate",
        resources: dict[str, Any] | None = None,
        **fields: Any,
    ) -> EvaluationJob:
        path = tmp_path / f"evaluator_{next(counter)}.py"
        path.write_text(LOAD_PROGRAM + textwrap.dedent(evaluator))
        fields.setdefault("files", {"program.py": textwrap.dedent(program)})
        fields.setdefault("primary", next(iter(fields["files"])))
        return EvaluationJob(
            run_id="test-run",
            candidate_id="c1",
            task_name="sandbox-test",
            evaluate=f"{path}:{function}",
            resources=Resources(**{"timeout_s": 20, **(resources or {})}),
            **fields,
        )

    return build


@pytest.fixture(params=["process", "process-cold", "docker"])
def any_sandbox(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    """Each sandbox in turn: the hostile suite must hold for both, the process sandbox
    with its warm servers (the default) and cold (`warm=false`)."""
    if request.param == "docker":
        yield request.getfixturevalue("docker_sandbox")
        return
    sandbox = ProcessSandbox(warm=request.param == "process")
    yield sandbox
    sandbox.close()
