"""Two real `playground serve` replicas on one fresh PostgreSQL database and one data dir.

Needs PostgreSQL: PLAYGROUND_TEST_POSTGRES_URL names a server and a role that may create
databases (see tests/db/conftest.py; `.ci/run` sets it). Skipped without it: SQLite is one host.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from playground.core.database import Database, open_database
from playground.core.settings import Settings
from tests.postgres import fresh_postgres_database
from tests.replicas.servers import Replica, replica_env, running_replicas

POSTGRES_URL = os.environ.get("PLAYGROUND_TEST_POSTGRES_URL")
REPLICAS = 2
ANNOTATION_OVERLAP = 3  # k: annotators per request in the queue tests


@pytest.fixture(scope="package")
def postgres_url() -> Iterator[str]:
    """A fresh, blank PostgreSQL database for these tests; dropped afterwards."""
    if not POSTGRES_URL:
        pytest.skip("needs PostgreSQL: set PLAYGROUND_TEST_POSTGRES_URL (see tests/db/conftest.py)")
    with fresh_postgres_database(POSTGRES_URL, "pgreplicas") as url:
        yield url


@pytest.fixture(scope="package")
def shared_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The data dir every replica mounts (on several hosts: NFS or similar)."""
    return tmp_path_factory.mktemp("shared") / "data"


@pytest.fixture(scope="package")
def replicas(postgres_url: str, shared_dir: Path, model_cache_dir: Path, tmp_path_factory) -> Iterator[list[Replica]]:
    """REPLICAS `playground serve` processes, started at the same moment on a blank database."""
    from models.embedded_text import embedded_text_model_dir

    embedded_text_model_dir(model_cache_dir)  # convert once here, not in every replica
    env = replica_env(
        postgres_url,
        shared_dir,
        model_cache_dir,
        PLAYGROUND_ANNOTATION_OVERLAP=str(ANNOTATION_OVERLAP),
        # As docs/OPERATIONS.md says behind a proxy; nginx connects from 127.0.0.1,
        # the default PLAYGROUND_FORWARDED_ALLOW_IPS.
        PLAYGROUND_TRUST_FORWARDED_FOR="true",
    )
    with running_replicas(REPLICAS, env, tmp_path_factory.mktemp("replica-logs")) as started:
        yield started


@pytest.fixture(scope="package")
def shared_database(replicas, postgres_url: str, shared_dir: Path) -> Iterator[Database]:
    """The test's own view of the one database the replicas share (opened after they migrated)."""
    database = open_database(Settings(data_dir=shared_dir, database_url=postgres_url))
    yield database
    database.engine.dispose()
