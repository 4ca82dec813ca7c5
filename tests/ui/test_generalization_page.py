"""The run page puts train, validation and test side by side for a task with splits."""

from __future__ import annotations

from pathlib import Path

from support.split_task import write_public_split_task, write_split_task

from evoforge.api import run_task


def test_run_page_shows_train_validation_and_test(tmp_path: Path, open_page) -> None:
    url = f"sqlite:///{tmp_path}/splits.db"
    outcome = run_task(write_split_task(tmp_path), db=url, max_evaluations=12, seed=1)
    app = open_page(url, "views/run.py", run=outcome.run_id)
    assert not app.exception
    assert "Train, validation and test" in [header.value for header in app.subheader]
    frame = next(table.value for table in app.dataframe if "validation" in table.value.columns)
    assert list(frame.columns) == ["candidate", "role", "train", "validation", "test"]
    roles = " ".join(frame["role"])
    assert "seed" in roles and "best on train" in roles
    assert frame[["train", "validation", "test"]].notna().all().all()
    assert any("selects on **train**" in caption.value for caption in app.caption)


def test_run_page_puts_the_public_protocol_beside_the_own_splits(tmp_path: Path, open_page) -> None:
    url = f"sqlite:///{tmp_path}/public.db"
    outcome = run_task(
        write_public_split_task(tmp_path), db=url, max_evaluations=6, seed=1, public=True
    )
    app = open_page(url, "views/run.py", run=outcome.run_id)
    assert not app.exception
    frame = next(table.value for table in app.dataframe if "validation" in table.value.columns)
    assert list(frame.columns) == ["candidate", "role", "train", "validation", "test", "public"]
    units = next(table.value for table in app.dataframe if "public_cost_usd" in table.value.columns)
    seed = units[units["role"].str.contains("seed")]
    assert seed["public_cost_usd"].tolist() == [115.0]
