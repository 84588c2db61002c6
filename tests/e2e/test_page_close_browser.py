"""In headless Chromium: a page that closes leaves no per-client state behind on the server.

Each client that clicks Generate gets a Stop signal and a click time in memory; without pruning
they would pile up, one per visitor, for the server's whole life. The app's unload event (Gradio
runs it when the page's heartbeat ends) drops them.
"""

from __future__ import annotations

import threading
import time

import pytest

from playground.core.database import open_database
from playground.core.settings import Settings
from playground.serving.context import build_context
from tests.e2e.helpers import open_page, wait_done
from tests.fakes import FakeImageGenerator, FakeTextGenerator
from tests.launch import running_app

pytestmark = pytest.mark.e2e


class GatedText(FakeTextGenerator):
    """Streams only once the test opens the gate, so a page can close while its run is going."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.gate.set()
        self.waiting = threading.Event()  # a run is held at the gate

    def stream(self, prompt, params, cancel=None, continuing=None):
        inner = super().stream(prompt, params, cancel, continuing)

        def gated():
            if not self.gate.is_set():
                self.waiting.set()
                self.gate.wait(120)
            yield from inner

        return gated()


@pytest.fixture
def served(tmp_path, monkeypatch):
    # Gradio notices a closed page when its heartbeat next fails to write (every 15 s by
    # default, read per connection): 1 s keeps the test short.
    monkeypatch.setenv("GRADIO_HEARTBEAT_INTERVAL", "1")
    settings = Settings(data_dir=tmp_path / "data", device="cpu")
    database = open_database(settings)
    text, image = GatedText(), FakeImageGenerator()
    context = build_context(settings, database, text_factory=lambda: text, image_factory=lambda: image)
    with running_app(context) as url:
        yield url, context, text
    text.gate.set()
    database.engine.dispose()


def wait_for(condition, what: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def test_closing_the_page_forgets_its_stop_signal_and_click(browser, served):
    url, context, text = served
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
    # 3. The other visitor starts a generation and closes the page while it runs: the run keeps
    #    its Stop signal to the end (the page's unload comes first), and then it goes too.
    browser_context, page = pages[1]
    text.gate.clear()
    page.fill("#text-prompt textarea", "one more time")
    page.click("#text-generate")
    wait_for(text.waiting.is_set, "the run to start")
    browser_context.close()
    time.sleep(4)  # several heartbeats: the unload has run while the run still holds the signal
    assert len(context.stops) == 1, len(context.stops)
    text.gate.set()
    wait_for(lambda: len(context.stops) == 0, f"no Stop signal left once the run ended (now {len(context.stops)})")
    assert len(context.clicks) == 0, len(context.clicks)
    pages[0][0].close()
