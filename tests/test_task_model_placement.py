"""The `model_placement` task as a user meets it: cases, scores, rejections, a real run."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from evoforge.evaluators.loading import load_program
from evoforge.evaluators.model_placement.baselines import (
    compute_baseline_scores,
    stored_baseline_scores,
)
from evoforge.evaluators.model_placement.evaluate import evaluate, smoke
from evoforge.evaluators.model_placement.reference import greedy_placement
from evoforge.evaluators.model_placement.workload import SMOKE_SPEC, SPLITS, make_instance

PACKAGE = Path(__file__).resolve().parents[1] / "evaluators" / "model_placement"
SEED = PACKAGE / "seed_program.py"


def _task():  # noqa: ANN202 - evoforge.task.Task, imported lazily like the hook does
    from evoforge.plugin_manager import registry

    return registry().tasks()["model_placement"]


def _program(tmp_path: Path, body: str) -> str:
    path = tmp_path / "policy.py"
    path.write_text(textwrap.dedent(body), "utf-8")
    return str(path)


def test_the_generator_is_deterministic_per_seed() -> None:
    spec = SPLITS["train"][3]
    assert make_instance(spec) == make_instance(dict(spec))
    other = make_instance({**spec, "seed": spec["seed"] + 1})
    assert other["models"] != make_instance(spec)["models"]


def test_the_splits_are_fixed_disjoint_and_feasible() -> None:
    sizes = {split: len(specs) for split, specs in SPLITS.items()}
    assert sizes == {"train": 25, "validation": 10, "test": 15}
    specs = [spec for split in SPLITS.values() for spec in split]
    assert len({spec["id"] for spec in specs}) == 50
    assert len({spec["seed"] for spec in specs}) == 50
    for spec in specs:
        instance = make_instance(spec)
        assert 4 <= instance["num_gpus"] <= 10
        assert len(instance["models"]) == 2 * instance["num_gpus"]
        assert instance["reference_max_pressure"] > 0  # greedy fitted every model


def test_the_evaluation_is_deterministic_and_scores_every_case() -> None:
    first = evaluate(str(SEED), SPLITS["train"])
    second = evaluate(str(SEED), SPLITS["train"])
    assert first.valid, first.reason
    assert first.instance_scores == second.instance_scores
    assert first.score == second.score
    assert set(first.instance_scores) == {spec["id"] for spec in SPLITS["train"]}
    assert first.metrics["max_pressure"] > 0


def test_feedback_names_the_worst_cases_and_the_baseline() -> None:
    result = evaluate(str(SEED), SPLITS["train"])
    assert "main baseline greedy" in result.feedback
    assert "worst cases" in result.feedback
    assert "train-00=" in result.feedback
    assert 300 <= len(result.feedback) <= 2000


def test_smoke_passes_the_seed() -> None:
    result = smoke(str(SEED))
    assert result.valid, result.reason
    assert set(result.instance_scores) == {"smoke"}


GREEDY_THEN = """
    def place(models, num_gpus, gpu_memory_gb):
        {body}
"""

INVALID = [
    ("return 'not a list'", "train-00: place() returned str, not a list"),
    ("return [0]", "wrong length"),
    ("return [0.0] * len(models)", "entry 0 is 0.0 (float), not an int GPU index"),
    ("return [True] * len(models)", "not an int GPU index"),
    ("return [num_gpus] * len(models)", "index out of range"),
    ("return [0] * len(models)", "train-00: GPU 0 over capacity: "),
    ("raise RuntimeError('boom')", "train-00: policy raised RuntimeError: boom"),
]


@pytest.mark.parametrize(("body", "reason"), INVALID)
def test_invalid_placements_are_rejected_with_their_reason(
    tmp_path: Path, body: str, reason: str
) -> None:
    result = evaluate(_program(tmp_path, GREEDY_THEN.format(body=body)), SPLITS["train"][:2])
    assert result.valid is False
    assert reason in result.reason
    assert result.score is None


def test_over_capacity_reason_gives_the_sizes(tmp_path: Path) -> None:
    result = evaluate(_program(tmp_path, GREEDY_THEN.format(body="return [0] * len(models)")))
    assert result.valid is False
    assert result.reason.endswith(")") and "GB > 80 GB (" in result.reason


def test_a_gpu_left_without_free_memory_is_rejected(tmp_path: Path) -> None:
    # The smoke case's first two models take exactly 80 GB together.
    program = _program(tmp_path, GREEDY_THEN.format(body="return [0, 0, 1, 1]"))
    result = smoke(program)
    assert result.valid is False
    assert result.reason.startswith("smoke: GPU 0 has no free memory")
    assert [m["size_gb"] for m in SMOKE_SPEC["models"][:2]] == [50.0, 30.0]


def test_a_program_without_place_is_rejected(tmp_path: Path) -> None:
    result = evaluate(_program(tmp_path, "def other():\n    return 1\n"), SPLITS["train"][:1])
    assert result.valid is False
    assert "no place(" in result.reason


def test_each_baseline_scores_its_documented_value(tmp_path: Path) -> None:
    task = _task()
    assert [b.name for b in task.baselines] == ["greedy", "local_search"]
    for baseline in task.baselines:
        folder = tmp_path / baseline.name
        folder.mkdir()
        for name, text in baseline.files.items():
            (folder / name).write_text(text, "utf-8")
        for split in ("train", "validation", "test"):
            result = evaluate(str(folder / "policy.py"), task.split_instances(split))
            assert result.valid, result.reason
            assert result.score == pytest.approx(baseline.scores[split], abs=1e-9), (
                baseline.name,
                split,
            )
    assert task.reference_score == task.baselines[0].scores["train"] == 1.0


def test_greedy_scores_exactly_one_on_every_case_and_matches_the_reference() -> None:
    place = load_program(PACKAGE / "baseline_greedy.py").place
    for specs in SPLITS.values():
        for spec in specs:
            instance = make_instance(spec)
            args = (instance["num_gpus"], instance["gpu_memory_gb"])
            assert place(instance["models"], *args) == greedy_placement(instance["models"], *args)
    result = evaluate(str(PACKAGE / "baseline_greedy.py"), SPLITS["test"])
    assert set(result.instance_scores.values()) == {1.0}


def test_the_stored_baseline_scores_are_current() -> None:
    stored = stored_baseline_scores()
    computed = compute_baseline_scores()
    assert stored.keys() == computed.keys()
    for name, per_case in computed.items():
        assert stored[name].keys() == per_case.keys()
        for case, entry in per_case.items():
            assert stored[name][case] == pytest.approx(entry, abs=1e-12), (name, case)


def test_the_task_is_registered_with_its_splits() -> None:
    task = _task()
    assert task.name == "model_placement"
    assert task.files[0].name == "policy.py"
    assert [stage.name for stage in task.stages] == ["smoke"]
    assert task.instances == SPLITS["train"]
    assert len(task.validation_instances) == 10
    assert len(task.test_instances) == 15
    assert "EVOLVE-BLOCK-START" in task.files[0].seed


def test_an_offline_run_stores_per_case_scores(tmp_path: Path) -> None:
    from evoforge.api import run_task
    from evoforge.store.database import open_database
    from evoforge.store.repository import Repository

    url = f"sqlite:///{tmp_path}/runs.db"
    outcome = run_task("model_placement", db=url, max_evaluations=10, seed=1)
    assert outcome.summary["evaluations"]["total"] == 10
    repo = Repository(open_database(url))
    candidates = repo.evaluated_candidates(outcome.run_id)
    assert candidates
    seed_outcome = repo.stored_outcome(candidates[0].id)
    assert set(seed_outcome.instance_scores) == {spec["id"] for spec in SPLITS["train"]}
    assert outcome.summary["best_score"] >= outcome.summary["seed_score"]
