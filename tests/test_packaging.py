"""One distribution, two install modes, one import layout."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def build_output(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The wheel, and what the build printed: what a user sees scroll past at install."""
    out = tmp_path_factory.mktemp("dist")
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "build",
            "--wheel",
            "--no-isolation",
            "--outdir",
            str(out),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    return next(out.glob("evoforge-*.whl")), built.stdout + built.stderr


@pytest.fixture(scope="module")
def wheel(build_output: tuple[Path, str]) -> Path:
    return build_output[0]


def test_building_prints_no_packaging_warnings(build_output: tuple[Path, str]) -> None:
    printed = build_output[1]
    for warning in ("Warning", "Package would be ignored", "deprecated"):
        assert warning not in printed, printed[printed.find(warning) - 300 :][:1200]


def test_wheel_maps_every_folder_into_the_evoforge_namespace(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    top_levels = {n.split("/")[0] for n in names if not n.startswith("evoforge-")}
    assert top_levels == {"evoforge"}
    for expected in (
        "evoforge/hookspecs.py",
        "evoforge/plugins/proposers/mutate.py",
        "evoforge/plugins/proposers/llm/templates/diff.txt",
        "evoforge/sandboxes/images/cpu.Dockerfile",
        "evoforge/kernels/seeds/matmul.py",
        "evoforge/evaluators/circle_packing/evaluate.py",
        "evoforge/evaluators/spot_scheduling/baseline_scores.json",
        "evoforge/evaluators/prompt_classify/data.json",
        "evoforge/sandboxes/harness.py",
        "evoforge/store/migrations/env.py",
    ):
        assert expected in names
    assert not any(n.startswith("platform/") for n in names)


@pytest.mark.slow
def test_installed_wheel_in_a_fresh_venv_lists_tasks(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
    subprocess.run([*pip, str(wheel)], check=True, capture_output=True, timeout=600)
    result = subprocess.run(
        [str(venv / "bin" / "evoforge"), "tasks"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "circle_packing" in result.stdout
    evolved = subprocess.run(
        [
            str(venv / "bin" / "evoforge"),
            "run",
            "circle_packing",
            "--max-evaluations",
            "4",
            "--seed",
            "1",
            "--json",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert evolved.returncode == 0, evolved.stderr
    assert '"ok": 4' in evolved.stdout
    assert (tmp_path / ".evoforge" / "evoforge.db").is_file()
    check = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import platform, evoforge.plugins, evoforge.sandboxes.harness;"
            "from evoforge.plugins.proposers.llm.prompts import default_template;"
            "assert 'SEARCH' in default_template('diff');"
            "print(platform.__file__)",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert check.returncode == 0, check.stderr
    assert check.stdout.strip().endswith("platform.py")
    assert str(ROOT) not in check.stdout


def test_readme_layout_names_every_builtin_task_folder() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    row = next(line for line in readme.splitlines() if line.startswith("| `evaluators/`"))
    folders = [p.parent.name for p in (ROOT / "evaluators").glob("*/__init__.py")]
    assert len(folders) >= 7
    missing = [name for name in folders if f"`{name}`" not in row]
    assert not missing, f"README's layout table leaves out {missing}"


def test_the_readmes_export_folder_is_ignored_by_git() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    assert "export RUN --out best/" in readme
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", "best/metadata.json"], cwd=ROOT, timeout=30
    )
    assert ignored.returncode == 0, "best/ from the README's export example is not ignored"
