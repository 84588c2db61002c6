"""Alembic environment: runs migrations on the engine handed in by feedback_db.migrate."""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy.engine import Connection
from sqlalchemy.types import TypeDecorator

from feedback_db.engine import make_engine
from feedback_db.schema import Base

config = context.config
target_metadata = Base.metadata


def render_item(kind: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Write the cleaning column types (feedback_db/clean_text.py) as the plain types they store.

    The cleaning happens in Python, not in the schema, so a generated migration should say
    `sa.Text()` and never import application code that later versions may move or rename.
    Comparison needs nothing: Alembic already compares a TypeDecorator by its impl.
    """
    if kind == "type" and isinstance(obj, TypeDecorator):
        return f"sa.{obj.impl!r}"
    return False  # Alembic's own rendering


def run_migrations_online() -> None:
    engine = config.attributes.get("engine") or make_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as connection:
        # render_as_batch: SQLite cannot ALTER most things, so Alembic copies the table instead:
        # create a new one, copy the rows, drop the old one. With foreign keys on, that drop
        # deletes every row that references the old table ON DELETE CASCADE (a copy of `outputs`
        # took all ratings with it), so they are off while migrating (a PRAGMA that only works
        # outside a transaction: on the driver's connection, before SQLAlchemy begins one) and
        # the copied rows are checked before the commit.
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            _driver(connection).execute("PRAGMA foreign_keys=OFF")
        try:
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                render_as_batch=True,
                compare_type=True,
                render_item=render_item,
            )
            with context.begin_transaction():
                context.run_migrations()
                if sqlite and (broken := connection.exec_driver_sql("PRAGMA foreign_key_check").all()):
                    raise RuntimeError(f"the migration left rows whose references are missing: {broken[:5]}")
        finally:
            if sqlite:  # the connection goes back to the pool: as every other, with foreign keys on
                connection.rollback()  # (nothing left to roll back; the PRAGMA needs no open transaction)
                _driver(connection).execute("PRAGMA foreign_keys=ON")


def _driver(connection: Connection) -> Any:
    """The sqlite3 connection under SQLAlchemy's (its statements bypass SQLAlchemy's BEGIN)."""
    return connection.connection.driver_connection


run_migrations_online()
