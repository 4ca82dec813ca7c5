"""Images built for real, with no registry: a Debian root made by debootstrap is the base.

`evoforge sandbox build cpu --base ...` builds the shipped Dockerfile (its pip step
fetches numpy and scipy from PyPI), and `evoforge sandbox build FOLDER --base ...`
builds a container-protocol folder's Dockerfile with its own RUN steps; an
evaluation then runs in each image, using only what the image holds (no host
interpreter mounted). The Debian root is cached for the day (support/debian_root.py).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from cli_helpers import cli_json, run_cli
from sqlalchemy import create_engine, text
from support.protocol_folders import write_protocol_folder

from evoforge.jobs import EvaluationJob
from evoforge.sandboxes.container import DockerSandbox
from evoforge.task import Resources

# Not :cpu or :cuda, whose absence other tests rely on.
TAGS = {"cpu": "evoforge-sandbox:cpu-debian", "cuda": "evoforge-sandbox:cuda-debian"}


@pytest.fixture(scope="module")
def debian_image(dockerd) -> str:  # noqa: ANN001
    """Today's Debian root imported into the test daemon; fails under CI if it cannot be."""
    from support.debian_root import DebianRootUnavailable, import_debian_image
    from support.services import start_service

    client = dockerd.client()
    try:
        return start_service(
            lambda: import_debian_image(client), DebianRootUnavailable, "a Debian root"
        )
    finally:
        client.close()


def build(dockerd, *args: str) -> str:  # noqa: ANN001
    """Run `evoforge sandbox build ...` on the test daemon; returns its output."""
    started = time.monotonic()
    result = run_cli(
        "sandbox", "build", *args, "--network", "host", "--docker-host", dockerd.base_url,
        timeout=900,
    )  # fmt: skip
    assert result.returncode == 0, (result.stdout[-3000:], result.stderr[-3000:])
    print(f"built {args[0]} in {time.monotonic() - started:.1f} s")
    return result.stdout


@pytest.mark.slow
@pytest.mark.parametrize("image", ["cpu", "cuda"])
def test_shipped_dockerfile_builds_and_evaluates_with_its_own_python(
    image: str,
    dockerd,  # noqa: ANN001
    debian_image: str,
    tmp_path: Path,
) -> None:
    """Both shipped Dockerfiles, on the Debian root (the CUDA one's pip step is the
    same, so its layers come from the cpu build's cache; no GPU is needed to run a
    CPU evaluation in it)."""
    tag = TAGS[image]
    output = build(dockerd, image, "--base", debian_image, "--tag", tag)
    assert f"built {tag}" in output
    client = dockerd.client()
    assert client.images.get(tag).attrs["Config"]["User"] == "65534:65534"
    client.close()
    tmp_path.chmod(0o755)
    evaluator = tmp_path / "evaluate.py"
    evaluator.write_text(
        "import sys\n\nimport numpy\nimport scipy.optimize\n\n\n"
        "def evaluate(program_path):\n"
        "    found = scipy.optimize.minimize_scalar(lambda x: (x - 2.0) ** 2)\n"
        "    return -abs(found.x - 2.0), {'python': sys.executable, 'numpy': numpy.__version__}\n"
    )
    evaluator.chmod(0o644)
    sandbox = DockerSandbox(base_url=dockerd.base_url, image=tag)
    outcome = sandbox.run(
        EvaluationJob(
            run_id="built",
            candidate_id="c1",
            task_name="built-image",
            files={"program.py": "X = 1\n"},
            primary="program.py",
            evaluate=f"{evaluator}:evaluate",
            resources=Resources(timeout_s=60),
        )
    )
    assert outcome.status == "ok", (outcome.reason, outcome.stderr[-2000:])
    assert outcome.score == pytest.approx(0.0, abs=1e-4)
    assert "python: /usr/bin/python3" in outcome.feedback  # Debian's, from the image
    assert "numpy: " in outcome.feedback


PYTHON_EVALUATOR = """
#!/bin/sh
set -eu
exec python3 /benchmark/judge.py "$1" "${2:-train}"
"""

# Named judge.py, not evaluator.py: an evaluator/evaluator.py would make this a
# SkyDiscover Python folder, read without the image.
JUDGE_PY = """
import json
import subprocess
import sys

program, mode = sys.argv[1], sys.argv[2]
run = subprocess.run([sys.executable, program], capture_output=True, text=True, timeout=10)
x = float(run.stdout.split()[-1])
target = 4.0 if mode == "test" else 3.0
with open("/benchmark/stamp.txt") as stamp:
    made = stamp.read().strip()
print(json.dumps({
    "status": "success",
    "combined_score": -(x - target) ** 2,
    "metrics": {"x": x},
    "artifacts": {"stamp": made, "python": sys.executable},
}))
"""

BUILDING_DOCKERFILE = """\
FROM python:3.12-slim
WORKDIR /benchmark
COPY evaluate.sh judge.py ./
RUN chmod 755 evaluate.sh && python3 -c "print('made by a RUN step')" > stamp.txt
"""


@pytest.mark.slow
def test_protocol_folder_dockerfile_builds_on_the_base_and_a_run_uses_the_image(
    dockerd,  # noqa: ANN001
    debian_image: str,
    tmp_path: Path,
) -> None:
    folder = write_protocol_folder(
        tmp_path,
        "python_in_image",
        PYTHON_EVALUATOR,
        dockerfile=BUILDING_DOCKERFILE,
        extra={"evaluator/judge.py": JUDGE_PY},
    )
    build(dockerd, str(folder), "--base", debian_image)
    config = tmp_path / "run.toml"
    config.write_text(f'[sandbox_options.docker]\nbase_url = "{dockerd.base_url}"\n')
    db = f"sqlite:///{tmp_path / 'store.db'}"
    summary = cli_json(
        "run", str(folder), "--sandbox", "docker", "--config", str(config),
        "--max-evaluations", "4", "--seed", "2", "--db", db, timeout=300,
    )  # fmt: skip
    assert summary["evaluations"]["ok"] == 4, summary
    assert summary["seed_score"] == pytest.approx(-4.0)
    engine = create_engine(db)
    with engine.connect() as conn:
        artifacts = conn.execute(text("select artifacts_json from evaluations")).scalars().all()
    engine.dispose()
    for found in map(json.loads, artifacts):  # the image's files and interpreter, not ours
        assert found == {"stamp": "made by a RUN step", "python": "/usr/bin/python3"}
