"""Opening the feedback database for the app and the CLI: connect, then migrate to head."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from feedback_db.engine import make_engine, make_read_session_factory, make_session_factory
from feedback_db.migrate import upgrade_to_head
from playground.settings import Settings


@dataclass
class Database:
    engine: Engine
    sessions: sessionmaker[Session]  # read-write: `with database.sessions.begin() as s:`
    read_sessions: sessionmaker[Session]  # read-only: exports, insights, status
    revision: str


def open_database(settings: Settings) -> Database:
    """Create the data dir layout, connect and bring the schema to the latest revision."""
    settings.create_layout()
    engine = make_engine(settings.resolved_database_url)
    revision = upgrade_to_head(engine)
    return Database(
        engine=engine,
        sessions=make_session_factory(engine),
        read_sessions=make_read_session_factory(engine),
        revision=revision,
    )
