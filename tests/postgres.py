"""Throw-away PostgreSQL databases for tests, on the server PLAYGROUND_TEST_POSTGRES_URL names.

The role in that URL needs CREATEDB only. Dropping a database cannot use `WITH (FORCE)`: when an
autovacuum worker happens to be on it, FORCE must terminate a backend the role does not own and
PostgreSQL refuses ("must be a member of the role whose process is being terminated"). A plain
DROP DATABASE cancels autovacuum by itself, so the drop ends the role's own sessions on the
database and retries while anything else is still leaving.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import OperationalError

DROP_ATTEMPTS = 30  # one a second: autovacuum and closing pools leave within seconds


@contextmanager
def fresh_postgres_database(server_url: str, prefix: str) -> Iterator[str]:
    """Create an empty database on the server, yield its URL (password kept), drop it afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
        with admin.connect() as connection:
            _drop(connection, name)
    finally:
        admin.dispose()


def _drop(connection: Connection, name: str) -> None:
    """Drop `name`: end this role's sessions on it, then DROP, retrying while others leave."""
    for attempt in range(DROP_ATTEMPTS):
        connection.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = :name AND usename = current_user AND pid <> pg_backend_pid()"
            ),
            {"name": name},
        )
        try:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            return
        except OperationalError as error:  # "is being accessed by other users"
            if attempt == DROP_ATTEMPTS - 1:
                raise RuntimeError(f"test database {name} could not be dropped: {error}") from error
            time.sleep(1)
