"""Hostile seed programs in folder tasks: each ends with the right status, the run goes on."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest
from cli_helpers import cli_json, write_folder_task

EVALUATE = """
import runpy

def evaluate(program_path):
    return float(runpy.run_path(program_path)["run"]())
"""

HEADER = """
# EVOLVE-BLOCK-START
FACTOR = 0.5
# EVOLVE-BLOCK-END
"""

HOSTILE = {
    "infinite_loop": (
        """
        def run():
            x = FACTOR
            while True:
                x += 1e-9
    """,
        {"timeout"},
    ),
    "memory_hog": (
        """
        def run():
            hoard = []
            while True:
                hoard.append(bytearray(64 * 1024 * 1024))
    """,
        {"failed", "crashed"},
    ),
    "fork_bomb": (
        """
        import os

        def run():
            while True:
                os.fork()
    """,
        {"failed", "crashed", "timeout"},
    ),
    "forged_result": (
        """
        import json, os

        def run():
            forged = {"status": "ok", "score": 1e9, "metrics": {}}
            print(json.dumps(forged))
            print("RESULT score=1e9")
            for folder in (".", "..", os.environ.get("TMPDIR", ".")):
                for name in ("result.json", ".result.json"):
                    try:
                        with open(os.path.join(folder, name), "w") as fh:
                            json.dump(forged, fh)
                    except OSError:
                        pass
            return FACTOR
    """,
        {"ok"},
    ),
    "secret_reader": (
        """
        import os

        def run():
            secret = "sk-evoforge" + "-test"
            leaked = any(secret in v for v in os.environ.values())
            print(sorted(os.environ))
            return 100.0 if leaked else FACTOR
    """,
        {"ok"},
    ),
    "early_exit": (
        """
        import os

        def run():
            os._exit(0)
    """,
        {"crashed"},
    ),
    "stdout_flood": (
        """
        import sys

        def run():
            chunk = "x" * (1 << 20)
            for _ in range(1024):
                sys.stdout.write(chunk)
            return FACTOR
    """,
        {"ok"},
    ),
}


@pytest.fixture(scope="module")
def work_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where this module's runs put their work folders: every process they start names
    it on its command line, so the leftover check below sees only this module's."""
    root = tmp_path_factory.mktemp("hostile-work")
    root.chmod(0o755)
    return root


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_seed_ends_with_the_right_status_and_the_run_goes_on(
    name: str, tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch, work_root: Path
) -> None:
    monkeypatch.setenv("EVOFORGE_TEST_API_KEY", "sk-evoforge-test")
    monkeypatch.setenv("TMPDIR", str(work_root))
    body, statuses = HOSTILE[name]

    folder = write_folder_task(
        tmp_path,
        name,
        {
            "task.toml": """
            files = ["program.py"]
            [resources]
            timeout_s = 3
            memory_mb = 512
            max_processes = 32
        """,
            "program.py": HEADER + textwrap.dedent(body),
            "evaluate.py": EVALUATE,
        },
    )
    # A seed that times out would stop the run at once (no proposal can fix a deadline
    # every child shares): --keep-going has it search on, so each status is recorded.
    summary = cli_json(
        "run", str(folder), "--max-evaluations", "2", "--seed", "0", "--keep-going",
        "--db", db_url, timeout=120,
    )  # fmt: skip
    counts = summary["evaluations"]
    assert summary["status"] == "finished"
    assert counts["total"] == 2, counts
    assert sum(counts[s] for s in statuses) == 2, counts
    if name in ("forged_result", "secret_reader"):
        assert summary["best_score"] is not None and summary["best_score"] < 1.0

    from evoforge.store.database import open_database
    from evoforge.store.repository import Repository

    repo = Repository(open_database(db_url))
    details = [
        repo.candidate_detail(node["id"]) for node in repo.lineage(summary["run_id"])["nodes"]
    ]
    stored = json.dumps(details, default=str)
    assert "sk-evoforge-test" not in stored
    for detail in details:
        evaluation = detail["evaluation"]
        assert len(evaluation["stdout"]) <= 80 * 1024
        if statuses != {"ok"}:
            assert evaluation["reason"], f"{name}: a failed evaluation must say why"


def test_host_has_no_leftover_processes_after_hostile_runs(work_root: Path) -> None:
    """Nothing the sandbox started for the runs above may outlive them.

    Only this module's processes are looked at (they name `work_root`): another
    evoforge run on the machine, or another test's, is none of this test's business.
    """
    mark = str(work_root).encode()
    leftovers = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if mark in cmdline:
            leftovers.append((pid, cmdline.replace(b"\0", b" ")[:200]))
    assert leftovers == []
    assert not list(work_root.glob("evoforge-eval-*")), "a work folder was left behind"
