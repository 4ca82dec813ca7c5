"""A real Debian base image for build tests, made with debootstrap instead of a registry.

No image registry is reachable from the test machines, but Debian's package archive
is. `debootstrap --variant=minbase` with python3, python3-pip and python-is-python3
makes a root with the interpreter the shipped Dockerfiles call (`python3`, `python3 -m
pip`, and SkyDiscover's scripts' `python`) in about three minutes; the root is kept
as a tarball under a cache folder outside the repository, one per day (and per package
list), so later runs that day only `docker import` it (seconds).

This machine's CA bundle is copied into the root, as a site's own base images carry
the site's CA: where a proxy inspects TLS, the shipped Dockerfile's `pip install`
would otherwise refuse PyPI's certificate.

Debian's python3 refuses `pip install` into the system (PEP 668); the image sets
`PIP_BREAK_SYSTEM_PACKAGES=1` so the shipped Dockerfile's pip step runs as it does on
`python:3.11-slim`, whose interpreter is not the distribution's.
"""

from __future__ import annotations

import datetime
import hashlib
import os
import shutil
import subprocess
from pathlib import Path

DEBIAN_IMAGE = "evoforge-test:debian"
SUITE = "bookworm"
# python-is-python3: `python` on PATH, as in the python:*-slim images SkyDiscover's
# evaluate.sh scripts were written for.
PACKAGES = "python3,python3-pip,python-is-python3"
PREFIX = f"debian-{SUITE}-{hashlib.sha256(PACKAGES.encode()).hexdigest()[:8]}-"
SYSTEM_CA = "/etc/ssl/certs/ca-certificates.crt"


class DebianRootUnavailable(RuntimeError):
    """debootstrap is missing, not root, or the archive could not be reached."""


def cache_folder() -> Path:
    """`EVOFORGE_TEST_CACHE`, else ~/.cache/evoforge-tests: outside the repository."""
    default = Path.home() / ".cache" / "evoforge-tests"
    return Path(os.environ.get("EVOFORGE_TEST_CACHE", default))


def root_tarball() -> Path:
    """Today's Debian root as a tarball, made (and yesterday's removed) when missing."""
    folder = cache_folder()
    today = folder / f"{PREFIX}{datetime.date.today():%Y%m%d}.tar"
    if today.exists():
        return today
    binary = shutil.which("debootstrap") or (
        "/usr/sbin/debootstrap" if os.path.exists("/usr/sbin/debootstrap") else None
    )
    if binary is None:
        raise DebianRootUnavailable("debootstrap is not installed (apt-get install debootstrap)")
    if os.geteuid() != 0:
        raise DebianRootUnavailable("debootstrap needs root")
    folder.mkdir(parents=True, exist_ok=True)
    root = folder / "root.partial"
    shutil.rmtree(root, ignore_errors=True)
    command = [binary, "--variant=minbase", f"--include={PACKAGES}", SUITE, str(root)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        tail = (done.stdout + done.stderr)[-1500:]
        raise DebianRootUnavailable(f"debootstrap failed:\n{tail}")
    site_ca = Path(os.environ.get("SSL_CERT_FILE") or SYSTEM_CA)
    if site_ca.is_file():  # a site behind a TLS-inspecting proxy: its images carry its CA
        (root / SYSTEM_CA.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(site_ca, root / SYSTEM_CA.lstrip("/"))
    partial = today.with_suffix(".partial")
    subprocess.run(
        ["tar", "--numeric-owner", "-C", str(root), "-cf", str(partial), "."], check=True
    )
    shutil.rmtree(root, ignore_errors=True)
    partial.rename(today)
    for old in folder.glob("debian-*.tar"):
        if old != today:
            old.unlink()
    return today


def import_debian_image(client, tag: str = DEBIAN_IMAGE) -> str:  # noqa: ANN001
    """`docker import` today's root under `tag` (idempotent on one daemon)."""
    import docker.errors

    try:
        client.images.get(tag)
        return tag
    except docker.errors.ImageNotFound:
        pass
    tarball = root_tarball()
    repository, _, version = tag.partition(":")
    client.api.import_image_from_file(
        str(tarball),
        repository=repository,
        tag=version or "latest",
        changes=[
            "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "ENV PIP_BREAK_SYSTEM_PACKAGES=1",
            'CMD ["/bin/sh"]',
        ],
    )
    return tag
