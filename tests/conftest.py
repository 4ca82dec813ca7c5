"""Fixtures shared by every test folder."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture(scope="session")
def dockerd(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201 - support.dockerd.Dockerd
    """A private Docker daemon with the tiny test image imported; fails under CI if absent."""
    from support.dockerd import Dockerd, DockerdUnavailable, build_test_image

    try:
        daemon = Dockerd(tmp_path_factory.mktemp("dockerd")).start()
    except DockerdUnavailable as error:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI needs a Docker daemon: {error}")
        pytest.skip(str(error))
    client = daemon.client()
    try:
        build_test_image(client)
    finally:
        client.close()
    yield daemon
    daemon.stop()


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
