"""The docker sandbox on a real (private) daemon: what a container may and may not do."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from evoforge.jobs import EvaluationJob
from evoforge.plugin_manager import registry
from evoforge.protocols import Sandbox, SandboxUnavailable
from evoforge.sandboxes.container import DockerSandbox, package_mounts
from evoforge.sandboxes.images import assemble_context, dockerfile
from evoforge.task import ArtifactFile, Resources, Task

MakeJob = Callable[..., EvaluationJob]


def evoforge_containers(sandbox: DockerSandbox) -> list[str]:
    found = sandbox.client().api.containers(all=True, filters={"label": "evoforge"})
    return [c["Id"] for c in found]


def test_docker_sandbox_is_a_registered_sandbox(docker_sandbox: DockerSandbox) -> None:
    assert isinstance(docker_sandbox, Sandbox)
    assert registry().lookup("sandboxes", "docker") is DockerSandbox
    docker_sandbox.check()


def test_ordinary_evaluator_runs_as_non_root_in_a_read_only_container(
    docker_sandbox: DockerSandbox, make_job: MakeJob
) -> None:
    job = make_job(
        """
        import os

        def evaluate(program_path):
            try:
                open("/usr/evoforge-probe", "w")
                root = "writable"
            except OSError as error:
                root = type(error).__name__
            with open("/tmp/scratch", "w") as handle:  # its private tmpfs
                handle.write("ok")
            print("candidate says hello")
            return load(program_path).VALUE * 2, {"uid": os.getuid(), "root": root}
        """
    )
    outcome = docker_sandbox.run(job)
    assert (outcome.status, outcome.score) == ("ok", 1.0), (outcome.reason, outcome.stderr)
    assert outcome.metrics["uid"] == 65534
    assert "root: OSError" in outcome.feedback or "root: PermissionError" in outcome.feedback
    assert "candidate says hello" in outcome.stdout
    assert outcome.sandbox == "docker" and outcome.duration_s > 0
    assert evoforge_containers(docker_sandbox) == []  # removed after the evaluation


def test_memory_limit_comes_from_the_task(docker_sandbox: DockerSandbox, make_job: MakeJob) -> None:
    job = make_job(
        """
        import os

        def evaluate(program_path):
            v1 = "/sys/fs/cgroup/memory/memory.limit_in_bytes"  # cgroup v1, else v2
            path = v1 if os.path.exists(v1) else "/sys/fs/cgroup/memory.max"
            with open(path) as handle:
                return 1.0, {"limit_mb": int(handle.read()) >> 20}
        """,
        resources={"memory_mb": 300},
    )
    outcome = docker_sandbox.run(job)
    assert outcome.status == "ok", outcome.reason
    assert outcome.metrics["limit_mb"] == 300


def test_gpu_slot_becomes_a_device_request(
    docker_sandbox: DockerSandbox, make_job: MakeJob
) -> None:
    """This daemon has no NVIDIA runtime, so a device request is refused: by the daemon."""
    job = make_job("def evaluate(path):\n    return 1.0\n", resources={"gpus": 1})
    job = job.model_copy(update={"gpu_slot": 0})
    outcome = docker_sandbox.run(job)
    assert outcome.status == "crashed"
    assert "gpu" in outcome.reason.lower()
    assert evoforge_containers(docker_sandbox) == []


def test_missing_image_is_one_clear_error_before_the_run(docker_sandbox: DockerSandbox) -> None:
    task = Task(
        name="needs-image",
        files=[ArtifactFile(name="p.py", seed="x = 1\n")],
        evaluate="evaluate.py:evaluate",
        resources=Resources(image="evoforge-sandbox:cpu"),
    )
    with pytest.raises(SandboxUnavailable, match="evoforge sandbox build cpu"):
        docker_sandbox.check_task(task)


def test_unreachable_daemon_is_one_clear_error(tmp_path: Path) -> None:
    sandbox = DockerSandbox(base_url=f"unix://{tmp_path / 'none.sock'}")
    with pytest.raises(SandboxUnavailable, match="start dockerd"):
        sandbox.check()


def test_cancel_all_kills_running_containers(
    docker_sandbox: DockerSandbox, make_job: MakeJob
) -> None:
    job = make_job("import time\n\ndef evaluate(path):\n    time.sleep(60)\n")
    results: list = []
    worker = threading.Thread(target=lambda: results.append(docker_sandbox.run(job)))
    started = time.monotonic()
    worker.start()
    while not docker_sandbox._live and time.monotonic() - started < 10:
        time.sleep(0.05)
    time.sleep(0.5)
    docker_sandbox.cancel_all()
    worker.join(20)
    assert not worker.is_alive()
    assert results[0].status == "crashed" and "SIGKILL" in results[0].reason
    assert time.monotonic() - started < 20
    assert evoforge_containers(docker_sandbox) == []


def test_package_mounts_cover_nested_and_spread_packages() -> None:
    wheel = {"evoforge": "/site/evoforge", "evoforge.sandboxes": "/site/evoforge/sandboxes"}
    mounts, inside = package_mounts(wheel)
    assert list(mounts) == ["/site/evoforge"]
    assert inside["evoforge.sandboxes"].endswith("/0/sandboxes")
    editable = {"evoforge": "/repo/platform/evoforge", "evoforge.sandboxes": "/repo/sandboxes"}
    mounts, inside = package_mounts(editable)
    assert len(mounts) == 2 and inside["evoforge.sandboxes"] != inside["evoforge"]


@pytest.mark.parametrize("kind", ["cpu", "cuda"])
def test_shipped_dockerfiles_build_a_non_root_image_with_the_harness(
    kind: str, tmp_path: Path
) -> None:
    """A lint of what a user builds: base image, pinned extras, harness copied, non-root."""
    text = dockerfile(kind).read_text()
    instructions = [
        line.split()[0]
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert instructions[0] == "ARG" and "FROM" in instructions
    assert "ADD" not in instructions  # COPY only: no remote URLs in the build
    assert [line for line in text.splitlines() if line.startswith("USER")] == ["USER 65534:65534"]
    assert "numpy scipy" in text
    assembled = assemble_context(kind, tmp_path)
    assert assembled.read_text() == text
    assert (tmp_path / "evoforge" / "sandboxes" / "harness.py").is_file()
    assert (tmp_path / "evoforge" / "result.py").is_file()
    assert not list(tmp_path.rglob("__pycache__"))


def test_private_task_folder_is_named_with_the_fix(
    docker_sandbox: DockerSandbox, make_job: MakeJob, tmp_path: Path
) -> None:
    job = make_job("def evaluate(path):\n    return 1.0\n")
    tmp_path.chmod(0o700)
    outcome = docker_sandbox.run(job)
    assert outcome.status == "crashed"
    assert str(tmp_path) in outcome.reason and "chmod o+rX" in outcome.reason


def test_a_container_created_after_ctrl_c_never_starts(
    docker_sandbox: DockerSandbox, make_job: MakeJob
) -> None:
    """Ctrl-C may come while a container is being created: that candidate must neither
    run nor make the user wait out its timeout, and its container is removed."""
    job = make_job(
        """
        import time

        def evaluate(program_path):
            time.sleep(30)
            return 1.0
        """,
        resources={"timeout_s": 60},
    )
    mine = set(evoforge_containers(docker_sandbox))
    docker_sandbox.cancel_all()
    started = time.monotonic()
    outcome = docker_sandbox.run(job)
    assert time.monotonic() - started < 10
    assert outcome.status == "crashed" and "Ctrl-C" in outcome.reason
    assert set(evoforge_containers(docker_sandbox)) <= mine
