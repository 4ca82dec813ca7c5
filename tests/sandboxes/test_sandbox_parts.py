"""The sandbox's building blocks, without starting processes."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from evoforge.sandboxes.environment import child_environment, is_secret_name
from evoforge.sandboxes.output import CappedStream
from evoforge.sandboxes.tree_removal import remove_tree
from evoforge.task import Resources


def test_small_output_is_kept_whole() -> None:
    stream = CappedStream(cap=16)
    stream.feed(b"hello ")
    stream.feed(b"world")
    assert stream.text() == "hello world"


def test_long_output_keeps_its_start_and_end_with_a_marker() -> None:
    stream = CappedStream(cap=8)
    stream.feed(b"START---")
    for _ in range(1000):
        stream.feed(b"middle")
    stream.feed(b"---END")
    text = stream.text()
    assert text.startswith("START---\n[... ")
    assert text.endswith(" ...]\nle---END")
    assert "[... 5998 bytes elided ...]" in text  # 8 + 6000 + 6 bytes fed, 8 + 8 kept
    assert len(stream.tail) <= 16


def test_credentials_never_reach_the_candidate_even_from_the_task_env() -> None:
    parent = {"PATH": "/usr/bin", "LC_ALL": "C.UTF-8", "OPENAI_API_KEY": "sk-1", "USER": "me"}
    env = child_environment(
        "/tmp/work",
        Resources(cpus=2),
        {"HF_TOKEN": "hf-1", "DB_PASSWORD": "pw", "AWS_REGION": "x", "TOKENIZERS_PARALLELISM": "0"},
        gpu_slot=None,
        parent=parent,
    )
    assert env["PATH"] == "/usr/bin" and env["LC_ALL"] == "C.UTF-8"
    assert env["HOME"] == env["TMPDIR"] == "/tmp/work"
    assert env["OMP_NUM_THREADS"] == "2"
    assert env["CUDA_VISIBLE_DEVICES"] == ""
    assert env["TOKENIZERS_PARALLELISM"] == "0"
    for name in ("OPENAI_API_KEY", "USER", "HF_TOKEN", "DB_PASSWORD", "AWS_REGION"):
        assert name not in env


def test_gpu_slot_is_the_only_visible_device() -> None:
    env = child_environment(
        "/w", Resources(gpus=1), {"CUDA_VISIBLE_DEVICES": "0,1"}, gpu_slot=3, parent={}
    )
    assert env["CUDA_VISIBLE_DEVICES"] == "3"


def test_secret_patterns_cover_the_usual_names() -> None:
    for name in ("ANTHROPIC_API_KEY", "GITHUB_TOKEN", "CLIENT_SECRET", "PGPASSWORD", "AWS_X"):
        assert is_secret_name(name), name
    for name in ("PATH", "LANG", "OMP_NUM_THREADS", "TOKENIZERS_PARALLELISM", "HF_HOME"):
        assert not is_secret_name(name), name


def test_cgroups_left_by_a_killed_orchestrator_are_swept() -> None:
    import pytest

    from evoforge.sandboxes import cgroups

    base = cgroups.pids_cgroup_base()
    if base is None:
        pytest.skip("no writable pids cgroup hierarchy on this machine")
    orphan = base / f"{cgroups.PREFIX}999999-feedfacecafe"  # pid 999999 is not running
    orphan.mkdir()
    try:
        cgroups._sweep_orphans(base)
        assert not orphan.exists()
    finally:
        if orphan.exists():
            orphan.rmdir()


def test_a_folder_that_cannot_be_removed_leaves_the_folder_around_it_as_it_was(
    tmp_path: Path,
) -> None:
    """A work folder still mounted somewhere (a warm server's sandbox not yet gone)
    cannot be removed; the folder holding it (/tmp, in real use) must keep its mode."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    around = tmp_path / "around"
    around.mkdir()
    around.chmod(0o1777)
    busy = around / "work"
    busy.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(busy)], check=True)
    try:
        (busy / "left-by-a-candidate").write_text("x")
        remove_tree(busy)
        assert stat.S_IMODE(around.stat().st_mode) == 0o1777
        assert not (busy / "left-by-a-candidate").exists()  # what could go, went
    finally:
        subprocess.run(["umount", "-l", str(busy)], check=False)
