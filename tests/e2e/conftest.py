"""Browser tests: the real app on the real embedded models, driven by Playwright in Debian's
Chromium (never a downloaded browser)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from playground.core.database import Database, open_database
from playground.core.settings import Settings
from playground.serving.context import build_context
from tests.e2e.helpers import open_page
from tests.launch import running_app

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
# Screenshots are tracked files: a normal run leaves them alone; PLAYGROUND_SCREENSHOTS=1 refreshes them.
TAKE_SCREENSHOTS = os.environ.get("PLAYGROUND_SCREENSHOTS") == "1"


def screenshot(page, name: str, **options) -> None:
    """Write docs/screenshots/<name> only when PLAYGROUND_SCREENSHOTS=1 asks for it."""
    if TAKE_SCREENSHOTS:
        page.screenshot(path=str(SCREENSHOTS / name), **options)


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.fail("Chromium is missing: apt-get install chromium (.ci/run does this)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def live_app(tmp_path_factory, model_cache_dir, real_text_generator):
    """The app on a fresh database, serving the session's real generators.

    The registry hands out one generator per process, so the app shares the instances of the
    real-model fixtures; the image model loads on first use.
    """
    settings = Settings(data_dir=tmp_path_factory.mktemp("e2e-data"), device="cpu")
    database = open_database(settings)
    with app_on_embedded_models(settings, database, model_cache_dir) as url:
        yield url, database
    database.engine.dispose()


@contextmanager
def app_on_embedded_models(settings: Settings, database: Database, model_cache_dir: Path) -> Iterator[str]:
    """The app serving the process's embedded generators (the registry hands out one instance
    per process, shared with the real-model fixtures); yields its URL."""
    from models.registry import load_image_generator, load_text_generator

    context = build_context(
        settings,
        database,
        text_factory=lambda: load_text_generator("embedded", "cpu", model_cache_dir),
        image_factory=lambda: load_image_generator("embedded", "cpu"),
    )
    with running_app(context) as url:
        yield url


@pytest.fixture
def page(browser, live_app):
    context, page = open_page(browser, live_app[0])
    yield page
    context.close()
