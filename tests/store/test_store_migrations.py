"""The packaged migrations: they match the models, run from code, and keep opening cheap."""

from __future__ import annotations

import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text

from evoforge.store import StoreError, open_database
from evoforge.store.migrations import (
    MIGRATIONS_DIR,
    alembic_config,
    current_revision,
    head_revision,
    revisions,
)
from evoforge.store.models import Base


def test_a_migrated_database_matches_the_models(db_url: str) -> None:
    open_database(db_url).close()
    engine = create_engine(db_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
        assert current_revision(conn) == head_revision()
    engine.dispose()


def test_revision_files_form_one_line_whose_end_alembic_agrees_on() -> None:
    script = ScriptDirectory.from_config(alembic_config())
    ordered = [rev.revision for rev in reversed(list(script.walk_revisions()))]

    assert script.get_heads() == [head_revision()]
    assert ordered == list(revisions())
    assert ordered[0] == "0001"


def test_migrations_go_down_to_empty_and_up_again(db_url: str) -> None:
    open_database(db_url).close()
    engine = create_engine(db_url)
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "base")
        assert current_revision(conn) is None
        command.upgrade(alembic_config(conn), "head")
        assert current_revision(conn) == head_revision()
    engine.dispose()


def test_a_database_from_a_newer_evoforge_is_refused_clearly(db_url: str) -> None:
    open_database(db_url).close()
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()

    with pytest.raises(StoreError, match="newer than this evoforge.*--db"):
        open_database(db_url)


def test_opening_a_database_already_at_head_does_not_load_alembic(db_url: str) -> None:
    open_database(db_url).close()
    probe = (
        "import sys\n"
        "from evoforge.store import open_database\n"
        f"open_database({db_url!r}).close()\n"
        "assert 'alembic' not in sys.modules, 'alembic imported on a cheap open'\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_migrations_ship_inside_the_package() -> None:
    folder = resources.files("evoforge.store.migrations")
    for name in (
        "env.py",
        "script.py.mako",
        "versions/0001_initial.py",
        "versions/0002_proposals.py",
    ):
        assert folder.joinpath(name).is_file(), name
    assert Path(str(folder)) == MIGRATIONS_DIR


def test_autogenerate_against_a_migrated_database_finds_nothing_to_do(
    db_url: str, tmp_path: Path
) -> None:
    """The template and env.py work for the next developer writing a revision."""
    next_id = f"{int(head_revision()) + 1:04d}"
    copy = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    open_database(db_url).close()
    engine = create_engine(db_url)
    with engine.connect() as conn:
        config = alembic_config(conn)
        config.set_main_option("script_location", str(copy))
        command.revision(config, "nothing", autogenerate=True, rev_id=next_id)
    engine.dispose()

    written = next((copy / "versions").glob(f"{next_id}_*.py")).read_text()
    compile(written, f"{next_id}.py", "exec")
    upgrade = written.split("def upgrade()")[1].split("def downgrade()")[0]
    assert "op." not in upgrade
    assert f"down_revision: str | None = '{head_revision()}'" in written
