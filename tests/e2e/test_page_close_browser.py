"""In headless Chromium: a page that closes leaves no per-client state behind on the server.

Each client that clicks Generate gets a Stop signal and a click time in memory; without pruning
they would pile up, one per visitor, for the server's whole life. The app's unload event (Gradio
runs it when the page's heartbeat ends) drops them.
"""

from __future__ import annotations

import time

import pytest

from playground.core.database import open_database
from playground.core.settings import Settings
from playground.serving.context import build_context
from tests.e2e.helpers import open_page, wait_done
from tests.fakes import FakeImageGenerator, FakeTextGenerator
from tests.launch import running_app

pytestmark = pytest.mark.e2e


@pytest.fixture
def served(tmp_path):
    settings = Settings(data_dir=tmp_path / "data", device="cpu")
    database = open_database(settings)
    text, image = FakeTextGenerator(), FakeImageGenerator()
    context = build_context(settings, database, text_factory=lambda: text, image_factory=lambda: image)
    with running_app(context) as url:
        yield url, context
    database.engine.dispose()


def wait_for(condition, what: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def test_closing_the_page_forgets_its_stop_signal_and_click(browser, served):
    url, context = served
    # 1. Two visitors generate: each has a Stop signal on the server.
    pages = [open_page(browser, url) for _ in range(2)]
    for _, page in pages:
        page.fill("#text-prompt textarea", "hello there")
        page.click("#text-generate")
        wait_done(page, "text-status")
    assert len(context.stops) == 2, len(context.stops)
    # 2. One closes its page: its entries go, the other visitor's stay.
    first, _ = pages[0]
    first.close()
    wait_for(lambda: len(context.stops) == 1, f"one Stop signal left (now {len(context.stops)})")
    assert len(context.clicks) == 0  # each click time was used by its own run
    # 3. The remaining visitor can still stop and generate.
    _, page = pages[1]
    page.click("#text-generate")
    wait_done(page, "text-status")
    pages[1][0].close()
    wait_for(lambda: len(context.stops) == 0, f"no Stop signal left (now {len(context.stops)})")
