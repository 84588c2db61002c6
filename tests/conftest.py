"""Suite-wide set-up: offline, no analytics, and a migrated database per test."""

from __future__ import annotations

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# The capability guard measures every retrained candidate on the embedded models (about a minute
# on 2 cores); the suite has dozens of retrain runs that check other things, so it is off here
# and the tests of the guard (tests/retrain/test_capability*.py) turn it on by name.
os.environ.setdefault("PLAYGROUND_CAPABILITY_GUARD", "false")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from playground.core.database import Database, open_database  # noqa: E402
from playground.core.settings import Settings  # noqa: E402
from playground.serving.context import AppContext, build_context  # noqa: E402
from tests.fakes import FakeImageGenerator, FakeTextGenerator  # noqa: E402


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A lane whose markers select no test here (e.g. `-m engine` without the engine venv's
    tests) has nothing to fail: "no tests collected" (5) is not an error of the suite."""
    if exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
        session.exitstatus = pytest.ExitCode.OK


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture
def database(settings: Settings) -> Database:
    database = open_database(settings)
    yield database
    database.engine.dispose()


# -- the app's context on fast fake generators (a test module may override fake_text/fake_image) --


@pytest.fixture
def fake_text() -> FakeTextGenerator:
    return FakeTextGenerator()


@pytest.fixture
def fake_image() -> FakeImageGenerator:
    return FakeImageGenerator()


@pytest.fixture
def context(settings: Settings, database: Database, fake_text: FakeTextGenerator, fake_image: FakeImageGenerator) -> AppContext:
    return build_context(settings, database, text_factory=lambda: fake_text, image_factory=lambda: fake_image)


@pytest.fixture
def viewer(database: Database):
    from playground.services.identity import viewer_for_token

    return viewer_for_token(database, None)


# -- the real embedded models, loaded once per test session -----------------------------------


@pytest.fixture(scope="session")
def model_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the embedded text model's one-time safetensors conversion goes for this session."""
    return tmp_path_factory.mktemp("model-cache")


@pytest.fixture(scope="session")
def real_text_generator(model_cache_dir: Path):
    from models.registry import load_text_generator

    generator = load_text_generator("embedded", "cpu", model_cache_dir)
    generator.load()
    return generator


@pytest.fixture(scope="session")
def real_image_generator():
    from models.registry import load_image_generator

    generator = load_image_generator("embedded", "cpu")
    generator.pipeline  # noqa: B018 - load now, not inside the first test
    return generator
