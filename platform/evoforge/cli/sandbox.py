"""`evoforge sandbox ...`: build the Docker images the docker sandbox runs candidates in."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from evoforge.cli.errors import fail
from evoforge.protocols import SandboxUnavailable

sandbox_app = typer.Typer(help="Build and check sandbox images.", no_args_is_help=True)
console = Console()


@sandbox_app.command("build")
def build(
    kind: Annotated[str, typer.Argument(help="cpu | cuda")] = "cpu",
    tag: Annotated[
        str | None, typer.Option(help="image tag (default: evoforge-sandbox:KIND)")
    ] = None,
    base: Annotated[
        str | None,
        typer.Option(help="base image (default: the Dockerfile's, e.g. python:3.11-slim)"),
    ] = None,
    base_url: Annotated[
        str | None, typer.Option("--docker-host", help="Docker daemon URL (default: DOCKER_HOST)")
    ] = None,
) -> None:
    """Build and tag the sandbox image for KIND from sandboxes/images/KIND.Dockerfile."""
    from evoforge.sandboxes.container import connect, unreachable_message
    from evoforge.sandboxes.images import KINDS, ImageBuildFailed, build_image

    if kind not in KINDS:
        fail(f"unknown image kind {kind!r}; choose one of {', '.join(KINDS)}")
    try:
        client = connect(base_url)
        client.ping()
    except SandboxUnavailable as error:
        fail(str(error))
    except Exception as error:  # the SDK raises several kinds for a dead socket
        fail(unreachable_message(base_url, error))
    args = {"BASE": base} if base else {}
    try:
        built = build_image(kind, client, tag=tag, build_args=args, on_line=_echo)
    except ImageBuildFailed as error:
        fail(f"the {kind} image did not build: {error}")
    console.print(f"built [bold]{built}[/]")


def _echo(line: str) -> None:
    console.print(line, highlight=False, markup=False)
