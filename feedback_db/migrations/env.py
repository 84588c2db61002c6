"""Alembic environment: runs migrations on the engine handed in by feedback_db.migrate."""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
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
        # render_as_batch: SQLite cannot ALTER most things, so Alembic copies the table instead.
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=True,
            compare_type=True,
            render_item=render_item,
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
