"""Alembic environment for the evoforge store.

evoforge runs this programmatically (`evoforge.store.migrations.upgrade_to_head`),
handing over an open connection in `config.attributes["connection"]`, so no
alembic.ini is needed. For writing a new revision, build the config in code::

    from alembic import command
    from evoforge.store.migrations import alembic_config
    command.revision(alembic_config(url="sqlite:///dev.db"), "add x", autogenerate=True,
                     rev_id="0002")

then hand-edit the script and keep revision ids four-digit and sequential.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine, pool

from evoforge.store.models import Base

config = context.config
target_metadata = Base.metadata


def _configure(**options: object) -> None:
    # Batch mode lets future ALTERs work on SQLite, which cannot alter most things.
    context.configure(target_metadata=target_metadata, render_as_batch=True, **options)


def run_migrations_offline() -> None:
    """Print the SQL instead of running it (`alembic upgrade --sql`)."""
    _configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def _run_with(connection: Connection) -> None:
    _configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run_with(connection)
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "", poolclass=pool.NullPool)
    with engine.begin() as conn:
        _run_with(conn)
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
