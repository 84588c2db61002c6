"""Database tests run on SQLite, and on PostgreSQL too where PLAYGROUND_TEST_POSTGRES_URL is set.

The URL names a server and a role allowed to create databases, e.g.
`postgresql+psycopg://playground:playground@127.0.0.1/postgres`; each test gets a fresh database.
`.ci/run` installs and starts a local PostgreSQL server and sets it.
"""

from __future__ import annotations

import os

import pytest

from playground.core.database import open_database
from playground.core.settings import Settings
from tests.postgres import fresh_postgres_database

POSTGRES_URL = os.environ.get("PLAYGROUND_TEST_POSTGRES_URL")
BACKENDS = ["sqlite", "postgresql"] if POSTGRES_URL else ["sqlite"]

# Database error messages differ by backend; tests match either.
CHECK_VIOLATION = "CHECK constraint failed|violates check constraint"
UNIQUE_VIOLATION = "UNIQUE constraint failed|duplicate key value"
FOREIGN_KEY_VIOLATION = "FOREIGN KEY constraint failed|violates foreign key constraint"


@pytest.fixture(params=BACKENDS)
def settings(request, tmp_path) -> Settings:
    if request.param == "sqlite":
        yield Settings(data_dir=tmp_path / "data")
        return
    with fresh_postgres_database(POSTGRES_URL, "pgtest") as url:
        yield Settings(data_dir=tmp_path / "data", database_url=url)


@pytest.fixture
def database(settings):
    database = open_database(settings)
    yield database
    database.engine.dispose()


@pytest.fixture
def backend(settings) -> str:
    return "sqlite" if settings.database_url is None else "postgresql"
