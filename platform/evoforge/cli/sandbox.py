"""`evoforge sandbox ...`: build the Docker images the docker sandbox runs candidates in."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from evoforge.cli.errors import fail

sandbox_app = typer.Typer(help="Build and check sandbox images.", no_args_is_help=True)
console = Console()


@sandbox_app.command("build")
def build(
    kind: Annotated[
        str, typer.Argument(help="cpu | cuda | a task FOLDER with evaluator/Dockerfile")
    ] = "cpu",
    tag: Annotated[
        str | None,
        typer.Option(help="image tag (default: evoforge-sandbox:KIND, or the folder's own)"),
    ] = None,
    base: Annotated[
        str | None,
        typer.Option(help="base image replacing the Dockerfile's FROM (e.g. a local mirror)"),
    ] = None,
    base_url: Annotated[
        str | None, typer.Option("--docker-host", help="Docker daemon URL (default: DOCKER_HOST)")
    ] = None,
    network: Annotated[
        str | None,
        typer.Option(help="network of the build steps, e.g. host on a daemon without a bridge"),
    ] = None,
) -> None:
    """Build the sandbox image for KIND (sandboxes/images/KIND.Dockerfile), or the image of
    a container-protocol task FOLDER (its evaluator/Dockerfile, tagged for that folder)."""
    from evoforge.protocols import SandboxUnavailable
    from evoforge.sandboxes.container import connect, unreachable_message
    from evoforge.sandboxes.images import KINDS, ImageBuildFailed, build_image
    from evoforge.sandboxes.task_images import TaskImageError, build_task_image

    folder = Path(kind)
    if kind not in KINDS and not folder.is_dir():
        fail(
            f"unknown image kind {kind!r}; choose one of {', '.join(KINDS)}, "
            "or name a task folder holding evaluator/Dockerfile"
        )
    try:
        client = connect(base_url)
        client.ping()
    except SandboxUnavailable as error:
        fail(str(error))
    except Exception as error:  # the SDK raises several kinds for a dead socket
        fail(unreachable_message(base_url, error))
    try:
        if kind in KINDS:
            args = {"BASE": base} if base else {}
            built = build_image(
                kind, client, tag=tag, build_args=args, on_line=_echo, network=network
            )
        else:
            built = build_task_image(
                folder, client, base=base, tag=tag, on_line=_echo, network=network
            )
    except (ImageBuildFailed, TaskImageError) as error:
        fail(f"the {kind} image did not build: {error}")
    console.print(f"built [bold]{built}[/]")


def _echo(line: str) -> None:
    console.print(line, highlight=False, markup=False)
