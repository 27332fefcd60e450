"""Alembic environment for the duty record; the engine comes from `console.store.engine`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from console.store.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    engine: Engine | None = config.attributes.get("engine")
    if engine is None:
        from console.store.engine import make_engine

        engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect().execution_options(sqlite_begin="IMMEDIATE") as connection:
        context.configure(
            connection=connection, target_metadata=target_metadata, render_as_batch=True
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations_online()
