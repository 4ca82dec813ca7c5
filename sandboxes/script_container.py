"""A container-protocol evaluation under the docker sandbox: the task's image runs evaluate.sh.

The image is the one `evoforge sandbox build FOLDER` built from the folder's
`evaluator/Dockerfile`; as in SkyDiscover, the script is `/benchmark/evaluate.sh`.
Nothing of evoforge runs in the container (the image needs no Python of ours, so an
evaluator in any language works): evaluate.sh is the container's only command, with
the candidate at `/sandbox/candidate/<file>` and MODE as its arguments, under the
docker sandbox's usual locks (no network, read-only root, private /tmp, memory, CPU
and pids limits, every capability dropped, a non-root user, SIGKILL at the deadline).

The host reads the container's stdout from the attach socket, where the daemon keeps
it apart from stderr, up to `STDOUT_LIMIT`, and judges it with the same
`read_report` as the process sandbox, together with the container's exit code.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from evoforge.jobs import EvaluationJob, EvaluationOutcome
from evoforge.sandboxes.environment import child_environment
from evoforge.sandboxes.output import DEFAULT_CAP
from evoforge.sandboxes.process import last_line
from evoforge.sandboxes.script_protocol import (
    SCRIPT_ENV,
    STDOUT_LIMIT,
    ScriptProtocolError,
    mode_for,
    read_report,
)

if TYPE_CHECKING:
    from evoforge.sandboxes.container import DockerSandbox

BENCHMARK = "/benchmark"  # SkyDiscover's fixed place for the evaluator in its image
SCRIPT_IN_IMAGE = f"{BENCHMARK}/evaluate.sh"
SHOWN_STDOUT = 2 * DEFAULT_CAP  # what the store keeps of stdout for a person to read


def run_script(
    sandbox: DockerSandbox, job: EvaluationJob, workdir: Path, program: str
) -> EvaluationOutcome:
    """Run `/benchmark/evaluate.sh PROGRAM MODE` in a fresh container of the task's image."""
    from evoforge.sandboxes.container import INSIDE, hand_over

    hand_over(workdir, sandbox.user)
    env = child_environment(INSIDE, job.resources, job.env, None)
    env.pop(SCRIPT_ENV, None)  # a host path, meaningless in the image
    env.pop("PATH", None)  # the image's own PATH (its ENV) finds its tools
    env["CUDA_VISIBLE_DEVICES"] = "0" if job.gpu_slot is not None else ""
    volumes = [f"{workdir}:{INSIDE}:rw"] + [f"{f}:{f}:ro" for f in sandbox.mounts]
    return sandbox._contain(
        job,
        [program, mode_for(job.instances)],
        env,
        volumes,
        lambda api, container: supervise(api, container, job),
        working_dir=BENCHMARK,
        entrypoint=[SCRIPT_IN_IMAGE],
    )


def shown(text: str) -> str:
    """stdout as the store keeps it: the start, enough to see what was printed."""
    if len(text) <= SHOWN_STDOUT:
        return text
    return f"{text[:SHOWN_STDOUT]}\n[... {len(text) - SHOWN_STDOUT} more characters ...]"


def supervise(api: Any, container: str, job: EvaluationJob) -> EvaluationOutcome:
    """Start the container, wait for evaluate.sh (or kill it at the deadline), judge its answer."""
    from evoforge.sandboxes.container import exit_code_to_returncode, run_attached

    timeout_s = job.resources.timeout_s
    ran = run_attached(api, container, timeout_s, "", stdout_cap=STDOUT_LIMIT)
    if isinstance(ran, EvaluationOutcome):
        return ran
    stdio, status, timed_out = ran
    stdout, stderr = shown(stdio.stdout.text()), stdio.stderr.text()
    if timed_out:
        return EvaluationOutcome(
            status="timeout",
            reason=f"timed out after {timeout_s:g} s (wall-clock limit)",
            stdout=stdout,
            stderr=stderr,
        )
    state = api.inspect_container(container).get("State", {})
    if state.get("OOMKilled"):
        return EvaluationOutcome(
            status="crashed",
            reason=(
                f"killed by the out-of-memory killer (the limit is {job.resources.memory_mb} MB)"
            ),
            stdout=stdout,
            stderr=stderr,
        )
    code = exit_code_to_returncode(int(status.get("StatusCode", -1)))
    captured = stdio.stdout
    try:
        result = read_report(
            bytes(captured.head), code, last_line(stderr), truncated=captured.total > STDOUT_LIMIT
        )
    except ScriptProtocolError as error:
        return EvaluationOutcome(status="failed", reason=str(error), stdout=stdout, stderr=stderr)
    return EvaluationOutcome(
        status="ok" if result.valid else "invalid",
        score=result.score,
        metrics=result.metrics,
        feedback=result.feedback,
        artifacts=result.artifacts,
        reason=result.reason,
        stdout=stdout,
        stderr=stderr,
    )
