"""Engine and session factories that work unchanged with any SQLAlchemy URL.

For SQLite (the default) every connection gets WAL (readers never block the writer),
a busy timeout (writers wait for each other instead of failing with "database is locked")
and enforced foreign keys. Write transactions start with BEGIN IMMEDIATE: a deferred
transaction that reads first and writes later can fail at once with SQLITE_BUSY when another
writer committed in between, and the busy timeout does not help with that case.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from feedback_db.errors import DatabaseURLError
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 5000


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """Create an engine for `url`; SQLite files get their folder created and their pragmas set."""
    try:
        parsed = make_url(url)
        if parsed.get_backend_name() != "sqlite":
            return create_engine(parsed, echo=echo, pool_pre_ping=True)
    except (ArgumentError, NoSuchModuleError, ImportError) as error:
        raise DatabaseURLError(f"cannot use database URL {url!r}: {error}") from error

    database = parsed.database
    in_memory = not database or database == ":memory:" or database.startswith("file::memory:")
    if not in_memory:
        Path(database).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, echo=echo)
    _configure_sqlite(engine, use_wal=not in_memory)
    return engine


def _configure_sqlite(engine: Engine, *, use_wal: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        # Take transaction control from the sqlite3 module so BEGIN IMMEDIATE below applies.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if use_wal:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:  # type: ignore[no-untyped-def]
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions for callers that own their transactions: `with factory.begin() as s: ...`."""
    return sessionmaker(engine, expire_on_commit=False)
