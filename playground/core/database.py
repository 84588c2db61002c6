"""Opening the feedback database for the app and the CLI: connect, then migrate to head."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from feedback_db.engine import make_engine, make_read_session_factory
from feedback_db.migrate import upgrade_to_head
from playground.core.settings import Settings


class CountingSessions(sessionmaker[Session]):
    """A read-write sessionmaker that counts the write transactions in flight, so shutdown can
    wait for them (`with database.sessions.begin() as session:` as before).

    On SQLite, this process's write transactions also take turns on a lock before BEGIN
    IMMEDIATE. SQLite allows one writer at a time anyway, but a writer that finds the file
    locked sleeps in SQLite's busy handler (1, 2, 5, 10 ... 100 ms) and retries, so with 10
    concurrent raters a third of the rating handler's time went to BEGIN IMMEDIATE, often
    sleeping while the lock was already free (docs/PERFORMANCE.md, "Rating under load"). Waiting on a Python lock hands the write over the
    moment the previous one commits. Other processes on the same file (replicas, the CLI) still
    meet the busy timeout. Re-entrant, so a nested write in one thread behaves as before.
    """

    def __init__(self, *args: Any, serialize_writes: bool = False, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._lock = threading.Lock()
        self._write_turn: threading.RLock | None = threading.RLock() if serialize_writes else None
        self.in_flight = 0

    @contextmanager
    def begin(self) -> Iterator[Session]:
        with self._lock:
            self.in_flight += 1
        try:
            with self._turn(), super().begin() as session:
                yield session
        finally:
            with self._lock:
                self.in_flight -= 1

    def _turn(self) -> AbstractContextManager[object]:
        return self._write_turn if self._write_turn is not None else nullcontext()


@dataclass
class Database:
    engine: Engine
    sessions: CountingSessions  # read-write: `with database.sessions.begin() as s:`
    read_sessions: sessionmaker[Session]  # read-only: exports, insights, status
    revision: str


def open_database(settings: Settings) -> Database:
    """Create the data dir layout, connect and bring the schema to the latest revision."""
    settings.create_layout()
    protect_sqlite_file(settings.resolved_database_url)
    engine = make_engine(settings.resolved_database_url)
    revision = upgrade_to_head(engine)
    return Database(
        engine=engine,
        sessions=CountingSessions(engine, expire_on_commit=False, serialize_writes=engine.dialect.name == "sqlite"),
        read_sessions=make_read_session_factory(engine),
        revision=revision,
    )


def protect_sqlite_file(url: str) -> None:
    """Create a SQLite database file with mode 600 (or tighten an existing one) before SQLite
    opens it: SQLite gives its -wal and -shm files the database file's permissions."""
    parsed = make_url(url)
    database = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or not database or database.startswith(("file:", ":memory:")):
        return
    path = Path(database).expanduser()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
        for file in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            if file.exists() and file.stat().st_mode & 0o077:
                file.chmod(0o600)
    except OSError:
        return  # a read-only database or folder; SQLite reports it on the first write
