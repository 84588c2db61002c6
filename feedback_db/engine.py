"""Engine and session factories that work unchanged with any SQLAlchemy URL.

For SQLite (the default) every connection gets WAL (readers never block the writer),
a busy timeout (writers wait for each other instead of failing with "database is locked")
and enforced foreign keys. Transactions start with BEGIN IMMEDIATE: a deferred transaction that
reads first and writes later can fail at once with SQLITE_BUSY when another writer committed in
between, and the busy timeout does not help with that case. Read-only work (exports, insights)
uses `make_read_session_factory`, whose deferred transactions never wait for the writer.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any, cast

from sqlalchemy import CursorResult, Engine, Result, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.orm import Session, sessionmaker

from feedback_db.errors import DatabaseURLError

# SQLite's busy handler polls, so under heavy contention one writer can wait a few seconds;
# 30 s keeps a burst of concurrent writers from failing while still surfacing a real deadlock.
SQLITE_BUSY_TIMEOUT_MS = 30_000
READ_ONLY_OPTION = "playground_read_only"
# Server databases (e.g. PostgreSQL): connections for every thread that may write at once. The
# app runs handlers on up to 40 worker threads (Gradio's default); SQLAlchemy's default pool of
# 5 + 10 overflow made the 16th concurrent writer wait, and under load time out after 30 s.
# 10 kept open + 30 on demand stays well under PostgreSQL's default max_connections (100).
SERVER_POOL = {"pool_size": 10, "max_overflow": 30, "pool_timeout": 30}
# A SQLite file: keep a connection for each of those 40 threads. With the default 5 kept, every
# extra connection was closed on return and opened again by the next call (with its PRAGMAs,
# the WAL switch among them), which under 50 raters was a fifth of a rating's time.
SQLITE_FILE_POOL = {"pool_size": 40, "max_overflow": 20, "pool_timeout": 30}


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """Create an engine for `url`; SQLite files get their folder created and their pragmas set."""
    try:
        parsed = make_url(url)
        if parsed.get_backend_name() != "sqlite":
            return create_engine(parsed, echo=echo, pool_pre_ping=True, **SERVER_POOL)
    except (ArgumentError, NoSuchModuleError, ImportError) as error:
        raise DatabaseURLError(f"cannot use database URL {url!r}: {error}") from error

    database = parsed.database or ""
    in_memory = not database or database == ":memory:" or database.startswith("file::memory:")
    # A URI filename ("file:...?mode=ro") names an existing file; only a plain path gets a folder.
    if not in_memory and not database.startswith("file:"):
        Path(database).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, echo=echo, **({} if in_memory else SQLITE_FILE_POOL))
    _configure_sqlite(engine, use_wal=not in_memory)
    return engine


def _configure_sqlite(engine: Engine, *, use_wal: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        # Take transaction control from the sqlite3 module so BEGIN IMMEDIATE below applies.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # The timeout first, so that every statement after it waits for other writers.
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        if use_wal:
            _switch_to_wal(cursor)
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:  # type: ignore[no-untyped-def]
        read_only = connection.get_execution_options().get(READ_ONLY_OPTION, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def _switch_to_wal(cursor: sqlite3.Cursor) -> None:
    """Turn the journal to WAL (a no-op once the file is in WAL, which persists).

    On a blank file several processes connecting at the same moment (replicas starting together)
    all need the file to themselves for this, and SQLite answers "database is locked" at once,
    without calling the busy handler: 28 of 800 such connections failed so. Retry until the
    busy timeout instead.
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions for callers that own their transactions: `with factory.begin() as s: ...`."""
    return sessionmaker(engine, expire_on_commit=False)


def make_read_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions for read-only work; on SQLite they never hold the write lock."""
    return sessionmaker(engine.execution_options(**{READ_ONLY_OPTION: True}), expire_on_commit=False)


def rows_changed(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE changed (a CursorResult's rowcount; 0 if unknown)."""
    return int(cast(CursorResult[Any], result).rowcount or 0)
