"""Images for container-protocol task folders: `evoforge sandbox build FOLDER`.

The build context is the folder's `evaluator/`, exactly what SkyDiscover builds, so
a benchmark's Dockerfile works unchanged. The tag carries a hash of that folder's
files: editing the evaluator changes the tag, and a run with the docker sandbox then
refuses to start until the image is rebuilt, instead of scoring with a stale one.

`--base IMAGE` rewrites the Dockerfile's `FROM` lines for this build only (the file
on disk is untouched), for sites where the Dockerfile's base (`python:3.12-slim`) is
not pullable: an internal mirror, or a root imported with `docker import`.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from evoforge.sandboxes.images import ImageBuildFailed, stream_build

EVALUATOR = "evaluator"
HASHED_BYTES = 64 << 20  # a bigger file is hashed by name, size and mode only
FROM_LINE = re.compile(
    r"^(?P<lead>\s*FROM\s+)(?P<flags>(?:--\S+\s+)*)(?P<image>\S+)(?P<rest>.*)$", re.IGNORECASE
)
STAGE_NAME = re.compile(r"\s+AS\s+(\S+)", re.IGNORECASE)


class TaskImageError(ValueError):
    """The folder cannot be built; the message names the missing file and the fix."""


def evaluator_folder(folder: Path) -> Path:
    """The build context of a container-protocol folder (its `evaluator/`)."""
    return folder / EVALUATOR


def folder_digest(evaluator: Path) -> str:
    """A short hash of every file under `evaluator/`: names, exec bits and contents."""
    digest = hashlib.sha256()
    for path in sorted(p for p in evaluator.rglob("*") if p.is_file()):
        relative = path.relative_to(evaluator).as_posix()
        if "__pycache__" in relative:
            continue
        status = path.stat()
        digest.update(f"{relative}\0{status.st_mode & 0o111}\0{status.st_size}\0".encode())
        if status.st_size <= HASHED_BYTES:
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def task_image_tag(folder: Path) -> str:
    """`evoforge-task-<folder name>:<hash of evaluator/>`, valid as a Docker reference."""
    slug = re.sub(r"[^a-z0-9]+", "-", folder.resolve().name.lower()).strip("-") or "task"
    return f"evoforge-task-{slug[:60]}:{folder_digest(evaluator_folder(folder))}"


def rebase(dockerfile: str, base: str) -> str:
    """The Dockerfile with every `FROM` of an outside image replaced by `base`.

    A `FROM` naming an earlier stage (`FROM builder`) is left alone, and so are flags
    (`--platform=...`) and the stage name (`AS builder`).
    """
    stages: set[str] = set()
    lines = []
    for line in dockerfile.splitlines():
        match = FROM_LINE.match(line)
        if match:
            image = match["image"]
            if image.lower() not in stages:
                image = base
            named = STAGE_NAME.search(match["rest"])
            if named:
                stages.add(named.group(1).lower())
            line = f"{match['lead']}{match['flags']}{image}{match['rest']}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def build_task_image(
    folder: Path,
    client: Any,
    base: str | None = None,
    tag: str | None = None,
    on_line: Callable[[str], None] = lambda line: None,
    network: str | None = None,
) -> str:
    """Build `folder/evaluator/Dockerfile` with `evaluator/` as context; returns the tag.

    `folder` may also be the evaluator folder itself, as `evoforge run` accepts it.
    """
    folder = folder.resolve()
    if folder.name == EVALUATOR and not evaluator_folder(folder).is_dir():
        folder = folder.parent
    evaluator = evaluator_folder(folder)
    dockerfile = evaluator / "Dockerfile"
    for needed in (dockerfile, evaluator / "evaluate.sh"):
        if not needed.is_file():
            raise TaskImageError(
                f"{folder} has no {needed.relative_to(folder)}; a container-protocol folder "
                "needs evaluator/Dockerfile and evaluator/evaluate.sh"
            )
    tag = tag or task_image_tag(folder)
    with tempfile.TemporaryDirectory(prefix="evoforge-task-image-") as scratch:
        used = dockerfile
        if base:
            used = Path(scratch) / "Dockerfile"
            used.write_text(rebase(dockerfile.read_text(), base))
        chunks = client.api.build(
            path=str(evaluator),
            dockerfile=str(used),
            tag=tag,
            rm=True,
            decode=True,
            network_mode=network,
        )
        for line in stream_build(chunks):
            on_line(line)
    return tag


__all__ = [
    "ImageBuildFailed",
    "TaskImageError",
    "build_task_image",
    "rebase",
    "task_image_tag",
]
