"""A careful model's edits apply: the prompt shows every file exactly as it is.

The careful model (tests/support/careful_model.py) copies the file from the rendered
prompt and changes one literal inside an evolve block. Over every built-in seed,
every kernel seed and OpenEvolve-layout folders with blank-line runs, tabs, trailing
spaces, fences in docstrings and CRLF line ends, its answer must apply in all three
modes and give exactly the seed with that one literal changed.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from support.careful_model import CarefulModel, answer_prompt
from support.llm_runs import run_llm
from support.model_server import ScriptedModelServer

from evoforge.folder_tasks import load_task_folder
from evoforge.plugin_manager import registry
from evoforge.plugins.proposers.llm.leniency import CRLF
from evoforge.plugins.proposers.llm.prompts import PromptContext, load_templates, render
from evoforge.plugins.proposers.llm.rewrite import apply_rewrite
from evoforge.plugins.proposers.llm.search_replace import apply_answer
from evoforge.proposals import CandidateView, ProposalRequest
from evoforge.task import Task

OPENEVOLVE = Path(__file__).parents[2] / "fixtures" / "openevolve"
FOLDERS = sorted(p.name for p in OPENEVOLVE.iterdir() if (p / "evaluator.py").is_file())
BUILT_IN = sorted(registry().tasks())
TRIES = 6  # different literals (and SEARCH windows) per seed and mode


def _task(name: str) -> Task:
    if name in FOLDERS:
        return load_task_folder(OPENEVOLVE / name)
    return registry().tasks()[name]


def _view(id_: str, files: dict[str, str]) -> CandidateView:
    return CandidateView(id=id_, files=files, score=1.0, fitness=1.0, status="ok")


def _prompt(task: Task, mode: str) -> str:
    seed = task.seed_files()
    parent = _view("c-parent", seed)
    mate = None
    if mode == "crossover":
        other = {name: text.replace("1", "2", 1) for name, text in seed.items()}
        mate = _view("c-mate", other)
    context = PromptContext(
        request=ProposalRequest(task=task, parent=parent, inspirations=[parent]),
        mate=mate,
        inspirations=3,
        failures=3,
        feedback_chars=2000,
    )
    return render(load_templates(task)[mode], context)


@pytest.mark.parametrize("mode", ["diff", "full", "crossover"])
@pytest.mark.parametrize("name", BUILT_IN + FOLDERS)
def test_a_careful_models_edit_applies_and_changes_only_that_literal(name: str, mode: str) -> None:
    task = _task(name)
    seed = task.seed_files()
    prompt = _prompt(task, mode)
    rng = random.Random(f"{name}/{mode}")
    for _ in range(TRIES):
        answer, edit, shown = answer_prompt(prompt, rng)
        original = seed[edit.name]
        # What the model was shown is the file itself, byte for byte (a fence adds a
        # final newline to a file that has none).
        assert shown in (original, original + "\n")
        forgiven: set[str] = set()
        apply = apply_answer if mode == "diff" else apply_rewrite
        child = apply(seed, answer, forgiven)
        assert child[edit.name] == edit.apply(original)
        assert {k: v for k, v in child.items() if k != edit.name} == {
            k: v for k, v in seed.items() if k != edit.name
        }
        # A careful copy needs no forgiveness, except CRLF, which travels as shown.
        assert forgiven == ({CRLF} if "\r\n" in original else set())


def test_the_prompt_keeps_blank_line_runs_tabs_and_trailing_spaces() -> None:
    for folder in FOLDERS:
        task = _task(folder)
        prompt = _prompt(task, "full")
        assert task.seed_files()["initial_program.py"] in prompt
    tabs = _prompt(_task("tabs_and_fences"), "diff")
    assert "\n````python\n" in tabs  # longer than the ``` inside the docstring
    assert "acc = 0.0   \n" in tabs and "\tweight = 0.5\n\n\n\tacc" in tabs


def test_empty_placeholders_still_leave_no_runs_of_blank_lines_in_the_template() -> None:
    prompt = _prompt(_task("circle_packing"), "diff")
    before_files = prompt.split("### program.py")[0]
    after_files = prompt.split("# Your task")[1]
    assert "\n\n\n" not in before_files and "\n\n\n" not in after_files


@pytest.mark.slow
@pytest.mark.parametrize("folder", ["blank_runs", "crlf"])
def test_a_careful_model_run_on_an_openevolve_folder_has_no_rejections(
    folder: str, db_url: str, store
) -> None:
    """Through litellm and HTTP: every full rewrite, diff and crossover applies."""
    model = CarefulModel(seed=3)
    with ScriptedModelServer(default=model) as server:
        outcome = run_llm(
            OPENEVOLVE / folder,
            db_url,
            server.api_base,
            evaluations=12,
            mode_weights={"diff": 1.0, "full": 1.0, "crossover": 1.0},
        )
    proposals = store().list_proposals(outcome.run_id)
    assert {mode for mode, _ in model.answers} == {"diff", "full", "crossover"}
    assert [p for p in proposals if p["status"] not in ("accepted", "duplicate")] == []
    assert outcome.summary["evaluations"]["total"] == 12
    accepted = [p for p in proposals if p["status"] == "accepted"]
    expected = CRLF if folder == "crlf" else ""
    assert {p["leniency"] for p in accepted} == {expected}
    if folder == "crlf":
        assert "\r\n" in outcome.best_files["initial_program.py"]
        assert "\n" not in outcome.best_files["initial_program.py"].replace("\r\n", "")
