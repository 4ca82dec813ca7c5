"""The `pareto` strategy, minibatch screening, and train/validation/test reporting."""

from __future__ import annotations

import json
import random
from pathlib import Path

from support.split_task import write_split_task

from evoforge.api import run_task
from evoforge.export import export_run
from evoforge.search.greedy import GreedyStrategy
from evoforge.search.pareto import ParetoStrategy
from evoforge.store.database import open_database
from evoforge.store.repository import Repository
from evoforge.store.rows import candidate_view
from evoforge.task import ArtifactFile, Task

INSTANCES = ["a", "b", "c", "d"]


def _task() -> Task:
    return Task(
        name="per-instance",
        files=[ArtifactFile(name="p.py", seed="")],
        evaluate="m:f",
        instances=[{"id": key} for key in INSTANCES],
    )


def _view(cid: str, seq: int, scores: list[float]) -> object:
    return candidate_view(
        id=cid,
        files={"p.py": cid},
        direction="maximize",
        status="ok",
        score=sum(scores) / len(scores),
        seq=seq,
        instance_scores=dict(zip(INSTANCES, scores, strict=True)),
    )


def test_pareto_keeps_an_instance_specialist_that_greedy_drops() -> None:
    seed = _view("seed", 0, [0.5, 0.5, 0.5, 0.5])
    generalist = _view("generalist", 1, [0.8, 0.8, 0.8, 0.8])
    specialist = _view("specialist", 2, [1.0, 0.3, 0.3, 0.3])  # worse mean, best on "a"
    better = _view("better", 3, [0.85, 0.85, 0.85, 0.85])
    pareto = ParetoStrategy(_task(), seed, minibatch=2)
    greedy = GreedyStrategy(_task(), seed)
    for view in (generalist, specialist, better):
        pareto.admit(view)
        greedy.admit(view)

    assert [c.id for c in pareto.frontier()] == ["specialist", "better"]
    rng = random.Random(0)
    pareto_parents = [pareto.select(rng).parent.id for _ in range(400)]
    greedy_parents = {greedy.select(rng).parent.id for _ in range(50)}
    assert greedy_parents == {"better"}
    # parents in proportion to instances led: the specialist leads 1 of 4
    assert 60 < pareto_parents.count("specialist") < 140
    assert set(pareto_parents) == {"specialist", "better"}


def test_a_selection_screens_the_child_on_a_minibatch_against_its_parent() -> None:
    seed = _view("seed", 0, [0.2, 0.4, 0.6, 0.8])
    strategy = ParetoStrategy(_task(), seed, minibatch=2)
    screen = strategy.select(random.Random(3)).screen
    assert screen is not None and len(screen.instances) == 2
    parent = dict(zip(INSTANCES, [0.2, 0.4, 0.6, 0.8], strict=True))
    assert screen.floor == sum(parent[k] for k in screen.instances) / 2
    assert ParetoStrategy(_task(), seed, minibatch=0).select(random.Random(3)).screen is None


def test_a_stopped_or_invalid_child_never_joins_the_frontier() -> None:
    seed = _view("seed", 0, [0.5, 0.5, 0.5, 0.5])
    strategy = ParetoStrategy(_task(), seed)
    screened = candidate_view(
        id="screened", files={}, direction="maximize", status="ok", score=0.9, seq=1,
        instance_scores={"a": 0.9}, stage="minibatch",
    )  # fmt: skip
    strategy.admit(screened)
    assert [c.id for c in strategy.frontier()] == ["seed"]


def test_a_pareto_run_screens_children_and_scores_every_split(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path}/runs.db"
    outcome = run_task(
        write_split_task(tmp_path),
        db=db_url,
        max_evaluations=40,
        seed=1,
        strategy="pareto",
        evaluation_slots=1,
        proposal_slots=1,
        select_on="validation",
    )
    repo = Repository(open_database(db_url))
    run_id = outcome.run_id
    outcomes = [repo.stored_outcome(c.id) for c in repo.evaluated_candidates(run_id)]
    screened = [o for o in outcomes if o is not None and o.stage == "minibatch"]
    assert screened, "no child was stopped by its minibatch"
    assert all(len(o.instance_scores or {}) == 3 for o in screened)
    assert all("stopped at stage 'minibatch'" in o.reason for o in screened)
    full = [o for o in outcomes if o is not None and o.stage is None and o.status == "ok"]
    assert all(set(o.instance_scores or {}) == {f"train-{i}" for i in range(6)} for o in full)

    best = repo.best_candidate(run_id)
    assert best is not None and best.stage is None
    assert outcome.best_score == best.score > repo.seed_candidate(run_id).score

    report = repo.generalization(run_id)
    assert report["splits"] == ["train", "validation", "test"]
    assert report["select_on"] == "validation"
    roles = {role: row for row in report["rows"] for role in row["roles"]}
    assert set(roles) == {"seed", "best on train", "best on validation"}
    for row in report["rows"]:
        assert None not in (row["train"], row["validation"], row["test"])
    assert roles["best on validation"]["validation"] >= roles["seed"]["validation"]

    metadata = export_run(open_database(db_url), run_id, tmp_path / "out")
    chosen = repo.best_on_validation(run_id)
    assert metadata["candidates"][0]["candidate_id"] == chosen.id
    assert set(metadata["candidates"][0]["split_scores"]) >= {"validation", "test"}
    assert json.loads((tmp_path / "out" / "metadata.json").read_text())["generalization"]


def test_cli_runs_pareto_selecting_on_validation_and_show_prints_every_split(
    tmp_path: Path,
) -> None:
    from cli_helpers import cli_json, run_cli

    db_url = f"sqlite:///{tmp_path}/cli.db"
    task = str(write_split_task(tmp_path))
    summary = cli_json(
        "run", task, "--strategy", "pareto", "--select-on", "validation",
        "--max-evaluations", "12", "--seed", "2", "--db", db_url,
    )  # fmt: skip
    shown = run_cli("show", summary["run_id"], "--db", db_url)
    assert shown.returncode == 0, shown.stderr
    assert "generalization (export selects on validation)" in shown.stdout
    for word in ("seed", "best on train", "validation", "test"):
        assert word in shown.stdout
    report = cli_json("show", summary["run_id"], "--db", db_url)["generalization"]
    assert report["select_on"] == "validation" and len(report["rows"]) >= 2
    exported = run_cli("export", summary["run_id"], "--out", str(tmp_path / "out"), "--db", db_url)
    assert exported.returncode == 0, exported.stderr
    chosen = Repository(open_database(db_url)).best_on_validation(summary["run_id"])
    assert chosen is not None and chosen.id in exported.stdout
    bad = run_cli("run", task, "--select-on", "test", "--db", db_url)
    assert bad.returncode != 0 and "select_on" in bad.stderr
