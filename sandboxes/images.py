"""The sandbox images users build: which Dockerfile, which tag, and the build itself.

The Dockerfiles live next to this module (`images/cpu.Dockerfile`,
`images/cuda.Dockerfile`). The build context is assembled in a temporary folder from
the Dockerfile and a copy of the installed evoforge packages, so the same command
works from a checkout and from an installed wheel.
"""

from __future__ import annotations

import importlib
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from evoforge.sandboxes.boot import PACKAGES

IMAGES_DIR = Path(__file__).with_name("images")
DEFAULT_IMAGES = {"cpu": "evoforge-sandbox:cpu", "cuda": "evoforge-sandbox:cuda"}
KINDS = tuple(DEFAULT_IMAGES)
SKIPPED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.db", ".pytest_cache")


def dockerfile(kind: str) -> Path:
    if kind not in DEFAULT_IMAGES:
        raise ValueError(f"unknown image kind {kind!r}; choose one of {', '.join(KINDS)}")
    return IMAGES_DIR / f"{kind}.Dockerfile"


def missing_image_message(image: str, source: str = "") -> str:
    """One line naming the command that builds `image` (`source`: a task folder's own)."""
    kind = next((k for k, tag in DEFAULT_IMAGES.items() if tag == image), None) or source
    fix = (
        f"build it with `evoforge sandbox build {kind}`"
        if kind
        else "build or pull it, or name another image in the task's resources"
    )
    return f"the Docker image {image!r} is not on this Docker host; {fix}"


def assemble_context(kind: str, folder: Path) -> Path:
    """Write the build context for `kind` into `folder`; returns the Dockerfile's path."""
    target = folder / "Dockerfile"
    shutil.copyfile(dockerfile(kind), target)
    library = folder / "evoforge"
    for name in PACKAGES:
        try:
            source = Path(list(importlib.import_module(name).__path__)[0])
        except ImportError:
            continue
        destination = library.joinpath(*name.split(".")[1:])
        if destination.exists():  # a wheel install: already copied with its parent
            continue
        shutil.copytree(source, destination, ignore=SKIPPED)
    return target


def build_image(
    kind: str,
    client: Any,
    tag: str | None = None,
    build_args: dict[str, str] | None = None,
    on_line: Callable[[str], None] = lambda line: None,
    network: str | None = None,
) -> str:
    """Build and tag the `kind` image on `client`'s daemon; returns the tag.

    `network` is the build steps' network (`host` on a daemon started without a bridge).
    """
    tag = tag or DEFAULT_IMAGES[kind]
    with tempfile.TemporaryDirectory(prefix="evoforge-image-") as folder:
        assemble_context(kind, Path(folder))
        chunks = client.api.build(
            path=folder,
            tag=tag,
            rm=True,
            decode=True,
            buildargs=build_args or {},
            network_mode=network,
        )
        for line in stream_build(chunks):
            on_line(line)
    return tag


class ImageBuildFailed(RuntimeError):
    """The daemon refused a build step; the message is the daemon's own line."""


def stream_build(chunks: Iterator[dict[str, Any]]) -> Iterator[str]:
    """The build's output lines; the daemon's first error raises `ImageBuildFailed`."""
    for chunk in chunks:
        if "error" in chunk:
            raise ImageBuildFailed(str(chunk["error"]).strip())
        text = str(chunk.get("stream", "")).rstrip()
        if text:
            yield text
