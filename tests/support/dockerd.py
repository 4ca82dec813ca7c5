"""A private Docker daemon for the tests, and a sandbox image built without a registry.

The daemon runs on its own socket, data root and exec root, with no iptables and no
bridge (`network_mode=none` is all the sandbox uses), on the vfs storage driver,
which works everywhere, nested or not.

No registry is reachable, so the test image is `docker import`ed from a root of a
few files (passwd, group, an empty /tmp); the interpreter and its libraries are
read-only bind mounts of this machine's, passed to the sandbox as `mounts`. The
shipped Dockerfiles are what a real user builds.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

TEST_IMAGE = "evoforge-test:tiny"
START_TIMEOUT_S = 60.0


class DockerdUnavailable(RuntimeError):
    """dockerd is not installed or would not start; the message says which."""


class Dockerd:
    """One dockerd process with everything it owns under `folder`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.socket = folder / "docker.sock"
        self.base_url = f"unix://{self.socket}"
        self.log = folder / "dockerd.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Dockerd:
        binary = shutil.which("dockerd") or (
            "/usr/sbin/dockerd" if os.path.exists("/usr/sbin/dockerd") else None
        )
        if binary is None:
            raise DockerdUnavailable("dockerd is not installed (apt-get install docker.io)")
        if os.geteuid() != 0:
            raise DockerdUnavailable("dockerd needs root here (no rootless setup)")
        self.folder.mkdir(parents=True, exist_ok=True)
        command = [
            binary,
            "--iptables=false",
            "--ip6tables=false",
            "--bridge=none",
            "--storage-driver=vfs",
            f"--data-root={self.folder / 'data'}",
            f"--exec-root={self.folder / 'exec'}",
            f"--pidfile={self.folder / 'dockerd.pid'}",
            f"--host={self.base_url}",
        ]
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self._wait_until_ready()
        return self

    def _wait_until_ready(self) -> None:
        import docker

        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                break
            if self.socket.exists():
                with contextlib.suppress(Exception):
                    client = docker.DockerClient(base_url=self.base_url, timeout=10)
                    client.ping()
                    client.close()
                    return
            time.sleep(0.2)
        tail = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
        self.stop()
        raise DockerdUnavailable(f"dockerd did not become ready; its log ends:\n{tail}")

    def client(self):  # noqa: ANN201 - docker.DockerClient, imported lazily
        import docker

        return docker.DockerClient(base_url=self.base_url, timeout=120)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self._unmount_leftovers()

    def _unmount_leftovers(self) -> None:
        """dockerd leaves its default network namespace mounted under its exec root;
        unmounted here, or pytest cannot remove the folder for sessions afterwards."""
        inside = f"{self.folder}/"
        with open("/proc/self/mounts") as mounts:
            points = [line.split()[1] for line in mounts if line.split()[1].startswith(inside)]
        for point in sorted(points, reverse=True):
            subprocess.run(["umount", "-l", point], check=False, capture_output=True)


def tiny_root() -> bytes:
    """A tar of a root filesystem with just enough for a non-root user to exist."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:

        def add(name: str, *, mode: int = 0o755, data: bytes | None = None, link: str = "") -> None:
            info = tarfile.TarInfo(name)
            info.mode = mode
            info.mtime = int(time.time())
            if link:
                info.type, info.linkname = tarfile.SYMTYPE, link
            elif data is None:
                info.type = tarfile.DIRTYPE
            else:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)

        for folder in ("etc", "proc", "sys", "dev", "usr", "sandbox"):
            add(folder)
        add("tmp", mode=0o1777)
        for name, target in (("bin", "usr/bin"), ("lib", "usr/lib"), ("lib64", "usr/lib64")):
            add(name, link=target)
        add(
            "etc/passwd",
            mode=0o644,
            data=b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n",
        )
        add("etc/group", mode=0o644, data=b"root:x:0:\nnogroup:x:65534:\n")
    return buffer.getvalue()


def build_test_image(client, tag: str = TEST_IMAGE) -> str:  # noqa: ANN001
    """`docker import` the tiny root under `tag` (idempotent)."""
    import docker.errors

    with contextlib.suppress(docker.errors.ImageNotFound):
        client.images.get(tag)
        return tag
    repository, _, version = tag.partition(":")
    client.api.import_image_from_data(tiny_root(), repository=repository, tag=version or "latest")
    return tag


def interpreter_mounts() -> list[str]:
    """Host folders the test image needs to run this interpreter with its packages."""
    folders = {"/usr", sys.base_prefix, sys.prefix}
    return sorted(str(Path(f).resolve()) for f in folders if f and os.path.isdir(f))


def run_config(folder: Path, dockerd: Dockerd, image: str = TEST_IMAGE) -> Path:
    """A `--config` file that points `evoforge run --sandbox docker` at the private
    daemon and the test image, this interpreter mounted read-only."""
    import json

    options = {
        "base_url": dockerd.base_url,
        "image": image,
        "python": sys.executable,
        "mounts": interpreter_mounts(),
    }
    config = folder / "run.toml"
    lines = ["[sandbox_options.docker]"]
    lines += [f"{key} = {json.dumps(value)}" for key, value in options.items()]
    config.write_text("\n".join(lines) + "\n")
    return config
