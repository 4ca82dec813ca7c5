"""Fixtures shared by every test folder."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import pytest

# A launcher that starts the tests in the background without job control (`cmd &` in
# a script) leaves SIGINT ignored, and every `evoforge` a test spawns would inherit
# that; the Ctrl-C tests need it delivered. A handler, unlike SIG_IGN, is reset to the
# default in a child at exec.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(autouse=True)
def _tmp_path_readable_by_the_sandbox(request: pytest.FixtureRequest) -> None:
    """pytest makes `tmp_path` private (0700); a task folder a user makes is 0755. The
    process sandbox's candidate (uid 65534 when tests run as root) must read it."""
    if "tmp_path" in request.fixturenames:
        request.getfixturevalue("tmp_path").chmod(0o755)


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture(scope="session")
def dockerd(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201 - support.dockerd.Dockerd
    """A private Docker daemon with the tiny test image imported; fails under CI if absent."""
    from support.dockerd import Dockerd, DockerdUnavailable, build_test_image
    from support.services import start_service

    folder = tmp_path_factory.mktemp("dockerd")
    daemon = start_service(Dockerd(folder).start, DockerdUnavailable, "a Docker daemon")
    client = daemon.client()
    try:
        build_test_image(client)
    finally:
        client.close()
    yield daemon
    daemon.stop()


@pytest.fixture(scope="session")
def postgres():  # noqa: ANN201 - support.postgres.PostgresServer
    """A private PostgreSQL server on loopback (one per session); fails under CI if absent."""
    from support.postgres import PostgresServer, PostgresUnavailable
    from support.services import start_service

    server = start_service(PostgresServer().start, PostgresUnavailable, "a PostgreSQL server")
    yield server
    server.stop()


@pytest.fixture
def docker_sandbox(dockerd):  # noqa: ANN001, ANN201
    """The real docker sandbox on the private daemon, running this interpreter read-only."""
    from support.dockerd import TEST_IMAGE, interpreter_mounts

    from evoforge.sandboxes.container import DockerSandbox

    return DockerSandbox(
        base_url=dockerd.base_url,
        image=TEST_IMAGE,
        gpu_image=TEST_IMAGE,
        python=sys.executable,
        mounts=interpreter_mounts(),
    )
