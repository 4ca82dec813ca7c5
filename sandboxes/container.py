"""The `docker` sandbox: each evaluation in a fresh container, removed afterwards.

What a container gets, and nothing more:

* **Network**: `network_mode=none` (a loopback of its own, nothing else), unless the
  task's resources ask for the network (a prompt task calling its task model).
* **Filesystem**: the image's root read-only; a private tmpfs on /tmp; the
  evaluation's work folder (candidate files, spec, result) at `/sandbox`, writable;
  evoforge's own package folders (harness, evaluators) and the task's evaluator
  folders read-only. The host's evoforge is mounted rather than the image's copy so
  the harness always speaks the protocol of the orchestrator that started it.
* **Limits**: memory (swap included) and CPUs from the task's resources, a pids
  limit, file size and core rlimits, all capabilities dropped, `no-new-privileges`,
  a non-root user (65534 by default).
* **Wall deadline**: at `timeout_s` the container is SIGKILLed, which ends every
  process in it (a daemonized grandchild included), and removed.
* **GPU**: a device request for exactly the slot the executor assigned.

The result travels as in the process sandbox: a file with a per-evaluation nonce the
harness reads from stdin before any candidate code runs. stdout and stderr come over
the attach socket, capped, with the daemon's logging off.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import secrets
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from evoforge.hookspecs import hookimpl
from evoforge.jobs import EvaluationJob, EvaluationOutcome
from evoforge.protocols import SandboxUnavailable
from evoforge.sandboxes import supervision
from evoforge.sandboxes.attach import AttachedStdio, raw_socket
from evoforge.sandboxes.boot import PACKAGES
from evoforge.sandboxes.environment import child_environment
from evoforge.sandboxes.images import DEFAULT_IMAGES, missing_image_message
from evoforge.sandboxes.output import CappedStream
from evoforge.sandboxes.process import (
    encode_spec,
    harness_limits,
    last_line,
    outcome_from_result,
    run_in_workdir,
    write_candidate,
)
from evoforge.sandboxes.script_protocol import SCRIPT_EVALUATE
from evoforge.task import Resources, Task

INSIDE = "/sandbox"  # the work folder inside the container
PACKAGE_ROOT = "/opt/evoforge/host"  # where the host's evoforge packages are mounted
IMAGE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
NOBODY = 65534
ATTACH_GRACE_S = 5.0
CANCELLED = "cancelled before it started: the run was stopped (Ctrl-C)"


def host_packages() -> dict[str, str]:
    """evoforge's top-level package folders on this machine, by package name."""
    found = {}
    for name in PACKAGES:
        with contextlib.suppress(ImportError):
            found[name] = str(Path(list(importlib.import_module(name).__path__)[0]).resolve())
    return found


def package_mounts(packages: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """(host folder -> container folder, package -> container folder).

    A wheel install keeps every package under one `evoforge/` folder (one mount); an
    editable install spreads them over the checkout (one mount each).
    """
    mounts: dict[str, str] = {}
    inside: dict[str, str] = {}
    for name, folder in sorted(packages.items(), key=lambda item: len(item[1])):
        parent = next((h for h in mounts if Path(folder).is_relative_to(h)), None)
        if parent is None:
            mounts[folder] = f"{PACKAGE_ROOT}/{len(mounts)}"
            parent = folder
        inside[name] = str(Path(mounts[parent]) / Path(folder).relative_to(parent))
    return mounts, inside


TASK_ROOT = "/opt/evoforge/task"  # where the task's own evaluator folders are mounted


class TaskFolders:
    """The task's evaluator files and python_path, mounted read-only at fixed places.

    Not at their host paths: a task folder under /tmp would collide with the
    container's private /tmp, and one under /usr with the image's own.
    """

    def __init__(self, job: EvaluationJob) -> None:
        self.mounts: dict[str, str] = {}
        self.python_path = [self.inside(str(Path(p).absolute())) for p in job.python_path]
        self.evaluate = self.reference(job.evaluate)
        self.stages = [
            {**stage.model_dump(), "function": self.reference(stage.function)}
            for stage in job.stages
        ]

    def inside(self, folder: str) -> str:
        if folder not in self.mounts:
            self.mounts[folder] = f"{TASK_ROOT}/{len(self.mounts)}"
        return self.mounts[folder]

    def reference(self, reference: str) -> str:
        """`/host/dir/evaluate.py:fn` -> `/opt/evoforge/task/N/evaluate.py:fn`."""
        target, _, attribute = reference.rpartition(":")
        if not (target.endswith(".py") or os.sep in target):
            return reference  # a module name, found through the packages or python_path
        path = Path(target).absolute()
        return f"{self.inside(str(path.parent))}/{path.name}:{attribute}"


def exit_code_to_returncode(code: int) -> int:
    """Docker's exit status as Popen would report it (negative: killed by a signal)."""
    return -(code - 128) if 128 < code < 160 else code


class DockerSandbox:
    """Runs each evaluation in its own locked-down container."""

    name: ClassVar[str] = "docker"

    def __init__(
        self,
        image: str | None = None,
        gpu_image: str | None = None,
        base_url: str | None = None,
        python: str = "python3",
        user: str = f"{NOBODY}:{NOBODY}",
        mounts: list[str] | None = None,
        tmpfs_mb: int = 256,
        workdir_root: str | None = None,
        **unknown: Any,
    ) -> None:
        if unknown:
            raise ValueError(
                f"unknown docker sandbox option(s) {sorted(unknown)}; known: image, gpu_image, "
                "base_url, python, user, mounts, tmpfs_mb, workdir_root"
            )
        self.image = image or DEFAULT_IMAGES["cpu"]
        self.gpu_image = gpu_image or DEFAULT_IMAGES["cuda"]
        self.base_url = base_url
        self.python = python
        self.user = user
        self.mounts = [str(Path(p).absolute()) for p in mounts or []]
        self.tmpfs_mb = tmpfs_mb
        self.workdir_root = workdir_root
        self._client: Any = None
        self._client_lock = threading.Lock()
        self._live: set[str] = set()
        self._live_lock = threading.Lock()
        self._cancelled = False
        self._packages = package_mounts(host_packages())

    # -- the daemon -----------------------------------------------------------------

    def client(self) -> Any:
        """One docker client per sandbox, shared by the evaluation threads."""
        with self._client_lock:
            if self._client is None:
                self._client = connect(self.base_url)
            return self._client

    def check(self) -> None:
        try:
            self.client().ping()
        except SandboxUnavailable:
            raise
        except Exception as error:
            raise SandboxUnavailable(unreachable_message(self.base_url, error)) from None

    def check_image(self, image: str, source: str = "") -> None:
        """Raise `SandboxUnavailable` naming the build command if `image` is not here."""
        import docker.errors

        try:
            self.client().images.get(image)
        except docker.errors.ImageNotFound:
            raise SandboxUnavailable(missing_image_message(image, source)) from None
        except docker.errors.DockerException as error:
            raise SandboxUnavailable(unreachable_message(self.base_url, error)) from None

    def check_task(self, task: Task) -> None:
        """Before a run starts: the daemon answers and the task's image is there."""
        self.check()
        script = task.evaluate == SCRIPT_EVALUATE
        self.check_image(self.image_for_resources(task.resources), task.source if script else "")

    def image_for(self, job: EvaluationJob) -> str:
        return self.image_for_resources(job.resources)

    def image_for_resources(self, resources: Resources) -> str:
        """The task's own image, else the sandbox's CPU or CUDA image."""
        if resources.image:
            return resources.image
        return self.gpu_image if resources.gpus > 0 else self.image

    def cancel_all(self) -> None:
        """Kill every container in flight; each evaluation thread then cleans up its own.
        A container created from now on is removed unstarted: Ctrl-C must not wait out
        the timeout of a candidate whose container was being created as it came."""
        with self._live_lock:
            self._cancelled = True
            running = list(self._live)
        for container_id in running:
            with contextlib.suppress(Exception):
                self.client().api.kill(container_id)

    # -- one evaluation -------------------------------------------------------------

    def run(self, job: EvaluationJob) -> EvaluationOutcome:
        # The work folder is a capped tmpfs of its own (as root), owned by the container's user.
        uid = self.user.partition(":")[0]
        owner = int(uid) if uid.isdigit() else 0
        return run_in_workdir(job, self._evaluate, self.workdir_root, self.name, owner=owner)

    def _evaluate(self, job: EvaluationJob, workdir: Path) -> EvaluationOutcome:
        written = write_candidate(workdir / "candidate", job.files)
        if isinstance(written, str):
            return EvaluationOutcome(status="invalid", reason=written)
        if job.primary not in written:
            raise ValueError(f"job {job.candidate_id}: primary file {job.primary!r} not in files")
        files = {name: f"{INSIDE}/candidate/{name}" for name in written}
        if job.evaluate == SCRIPT_EVALUATE:  # a container-protocol task: its image's evaluate.sh
            from evoforge.sandboxes.script_container import run_script

            return run_script(self, job, workdir, files[job.primary])
        resources = job.resources
        limits = harness_limits(job)  # the pids limit is the container's, not an rlimit
        package_folders, packages = self._packages
        task_folders = TaskFolders(job)
        private = unreadable_by(self.user, list(task_folders.mounts))
        if private:
            return EvaluationOutcome(
                status="crashed",
                reason=(
                    f"the task folder {private} is not readable by the container's user "
                    f"{self.user}; run `chmod o+rX` on it, or set the docker sandbox option user"
                ),
            )
        spec = {
            "primary": files[job.primary],
            "candidate_dir": f"{INSIDE}/candidate",
            "files": files,
            "evaluate": task_folders.evaluate,
            "candidate_argument": job.candidate_argument,
            "metric": job.metric,
            "score_excludes": job.score_excludes,
            "stages": task_folders.stages,
            "instances": job.instances,
            "python_path": task_folders.python_path,
            "limits": limits,
            "result_path": f"{INSIDE}/result.json",
            "boot": {"packages": packages},
        }
        (workdir / "spec.marshal").write_bytes(encode_spec(spec))
        hand_over(workdir, self.user)

        env = child_environment(INSIDE, resources, job.env, None)
        env["PATH"] = IMAGE_PATH
        env["CUDA_VISIBLE_DEVICES"] = "0" if job.gpu_slot is not None else ""
        volumes = [f"{workdir}:{INSIDE}:rw"]
        volumes += [f"{host}:{inside}:ro" for host, inside in package_folders.items()]
        volumes += [f"{host}:{inside}:ro" for host, inside in task_folders.mounts.items()]
        volumes += [f"{folder}:{folder}:ro" for folder in self.mounts]
        harness = f"{packages['evoforge.sandboxes']}/harness.py"
        command = [self.python, "-I", harness, f"{INSIDE}/spec.marshal"]
        nonce = secrets.token_hex(16)
        return self._contain(
            job,
            command,
            env,
            volumes,
            lambda api, container: self._supervise(api, container, job, limits, nonce, workdir),
        )

    def _contain(
        self,
        job: EvaluationJob,
        command: list[str],
        env: dict[str, str],
        volumes: list[str],
        supervise: Callable[[Any, str], EvaluationOutcome],
        working_dir: str = INSIDE,
        entrypoint: list[str] | None = None,
    ) -> EvaluationOutcome:
        """Create the locked-down container, let `supervise(api, id)` run it, remove it."""
        import docker.errors
        from docker.types import DeviceRequest, Ulimit

        api = self.client().api
        resources = job.resources
        image = self.image_for(job)
        memory = f"{resources.memory_mb}m"
        file_limit = resources.max_file_mb << 20
        host_config = api.create_host_config(
            binds=volumes,
            network_mode="host" if resources.network else "none",
            read_only=True,
            tmpfs={"/tmp": f"size={self.tmpfs_mb}m,mode=1777"},
            mem_limit=memory,
            memswap_limit=memory,
            nano_cpus=int(resources.cpus * 1e9),
            pids_limit=resources.max_processes,
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
            ulimits=[
                Ulimit(name="core", soft=0, hard=0),
                Ulimit(name="fsize", soft=file_limit, hard=file_limit),
            ],
            log_config={"type": "none"},
            device_requests=(
                [DeviceRequest(device_ids=[str(job.gpu_slot)], capabilities=[["gpu"]])]
                if job.gpu_slot is not None
                else None
            ),
        )
        try:
            created = api.create_container(
                image,
                command,
                user=self.user,
                environment=env,
                working_dir=working_dir,
                entrypoint=entrypoint,
                stdin_open=True,
                network_disabled=not resources.network,
                host_config=host_config,
                labels={"evoforge": "evaluation", "evoforge.run": job.run_id},
            )
        except docker.errors.ImageNotFound:
            return EvaluationOutcome(status="crashed", reason=missing_image_message(image))
        container = created["Id"]
        with self._live_lock:
            self._live.add(container)
            cancelled = self._cancelled
        try:
            if cancelled:
                return EvaluationOutcome(status="crashed", reason=CANCELLED)
            return supervise(api, container)
        finally:
            with contextlib.suppress(docker.errors.DockerException):
                api.remove_container(container, force=True)
            with self._live_lock:
                self._live.discard(container)

    def _supervise(
        self,
        api: Any,
        container: str,
        job: EvaluationJob,
        limits: dict[str, Any],
        nonce: str,
        workdir: Path,
    ) -> EvaluationOutcome:
        ran = run_attached(api, container, job.resources.timeout_s, nonce)
        if isinstance(ran, EvaluationOutcome):
            return ran
        stdio, status, timed_out = ran
        timeout_s = job.resources.timeout_s
        stdout, stderr = stdio.stdout.text(), stdio.stderr.text()

        outcome, problem = outcome_from_result(workdir / "result.json", nonce, stdout, stderr)
        if outcome is not None:
            return outcome
        if timed_out:
            return EvaluationOutcome(
                status="timeout",
                reason=f"timed out after {timeout_s:g} s (wall-clock limit)",
                stdout=stdout,
                stderr=stderr,
            )
        code = int(status.get("StatusCode", -1))
        state = api.inspect_container(container).get("State", {})
        if state.get("OOMKilled"):
            result = (
                "crashed",
                (f"killed by the out-of-memory killer (the limit is {job.resources.memory_mb} MB)"),
            )
        else:
            result = supervision.describe_exit(exit_code_to_returncode(code), limits)
        reason = result[1]
        final = last_line(stderr)
        if final and 0 < code <= 128:
            reason = f"{reason}: {final}"
        if problem:
            reason = f"{reason}; {problem}"
        return EvaluationOutcome(status=result[0], reason=reason, stdout=stdout, stderr=stderr)


def run_attached(
    api: Any, container: str, timeout_s: float, go_line: str, stdout_cap: int | None = None
) -> tuple[AttachedStdio, dict[str, Any], bool] | EvaluationOutcome:
    """Attach, start, send `go_line` on stdin, wait until exit or SIGKILL at the deadline.

    Returns (the captured stdio, the daemon's wait status, whether it timed out), or a
    `crashed` outcome when the daemon would not start the container.
    """
    import docker.errors
    import requests.exceptions

    stdio = AttachedStdio(
        raw_socket(
            api.attach_socket(container, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1})
        )
    )
    if stdout_cap is not None:
        stdio.stdout = CappedStream(stdout_cap)
    stdio.start()
    try:
        api.start(container)
    except docker.errors.APIError as error:  # e.g. a GPU request without the runtime
        stdio.finish(0.1)
        detail = (error.explanation or str(error)).strip().splitlines()[0][:300]
        return EvaluationOutcome(
            status="crashed",
            reason=f"the Docker daemon would not start the container: {detail}",
        )
    deadline = time.monotonic() + timeout_s
    stdio.send_line(go_line)  # the go signal: the container was contained from its start
    timed_out = False
    try:
        status = api.wait(container, timeout=max(0.1, deadline - time.monotonic()))
    except (requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError):
        timed_out = True
        with contextlib.suppress(Exception):
            api.kill(container)
        status = api.wait(container, timeout=30)
    stdio.finish(ATTACH_GRACE_S)
    return stdio, status, timed_out


def unreadable_by(user: str, folders: list[str]) -> str | None:
    """The first folder a non-root container user cannot list and read, if any."""
    if user.partition(":")[0] in ("0", "root"):
        return None
    for folder in folders:
        mode = os.stat(folder).st_mode
        if mode & 0o005 != 0o005:
            return folder
    return None


def hand_over(workdir: Path, user: str) -> None:
    """Let the container's user write its work folder (and nothing of ours outside it)."""
    uid, _, gid = user.partition(":")
    for path in [workdir, *workdir.rglob("*")]:
        try:
            os.chown(path, int(uid), int(gid or uid), follow_symlinks=False)
        except (PermissionError, ValueError):
            os.chmod(path, 0o777 if path.is_dir() else 0o666)


def connect(base_url: str | None) -> Any:
    """A docker client for `base_url`, or the environment's (DOCKER_HOST), or one error."""
    try:
        import docker
    except ImportError:
        raise SandboxUnavailable(
            "the docker sandbox needs the docker SDK: pip install 'evoforge[docker]'"
        ) from None
    try:
        if base_url:
            return docker.DockerClient(base_url=base_url, timeout=60)
        return docker.from_env(timeout=60)
    except docker.errors.DockerException as error:
        raise SandboxUnavailable(unreachable_message(base_url, error)) from None


def unreachable_message(base_url: str | None, error: BaseException) -> str:
    where = base_url or os.environ.get("DOCKER_HOST") or "the default socket"
    detail = str(error).splitlines()[0][:200] if str(error) else type(error).__name__
    return (
        f"cannot reach the Docker daemon at {where} ({detail}); start dockerd, or point "
        "DOCKER_HOST (or the sandbox option base_url) at a running daemon"
    )


@hookimpl
def evoforge_sandboxes() -> list[type[DockerSandbox]]:
    return [DockerSandbox]
