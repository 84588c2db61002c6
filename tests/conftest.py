"""Suite-wide set-up: offline, no analytics, and a migrated database per test."""

from __future__ import annotations

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from playground.database import Database, open_database  # noqa: E402
from playground.settings import Settings  # noqa: E402


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture
def database(settings: Settings) -> Database:
    database = open_database(settings)
    yield database
    database.engine.dispose()
