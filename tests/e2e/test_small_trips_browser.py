"""Small things a new user trips on (issue #26), in Chromium on fake models: the warm-up banner
shows no progress timer, and an empty prompt says so once, in the status line, in place of what
the status said before."""

from __future__ import annotations

import dataclasses
import threading

import pytest

from playground.core.database import open_database
from playground.core.settings import Settings
from playground.serving.context import build_context
from playground.serving.warmup import ModelWarmup
from playground.web.ui.restore import RESTORED_STATUS
from tests.e2e.helpers import open_page, wait_done
from tests.fakes import FakeImageGenerator, FakeTextGenerator
from tests.launch import running_app

pytestmark = [pytest.mark.e2e]
# Gradio's progress timer reads like "0.8s" or "1.2/3.0s".
TIMER_JS = r"""() => {
    const seen = [];
    const note = () => {
        const banner = document.querySelector('#warmup');
        const timers = [...(banner?.querySelectorAll('.progress-text, .eta-bar, .meta-text, .meta-text-center') || [])];
        const text = (banner?.innerText || '') + ' ' + timers.map(t => t.innerText).join(' ');
        if (/\b\d+(\.\d+)?(\/\d+(\.\d+)?)?s\b/.test(text) || timers.some(t => t.offsetParent)) seen.push(text);
    };
    new MutationObserver(note).observe(document.body, {childList: true, subtree: true, characterData: true, attributes: true});
    window.__timerSeen = seen;
}"""


@pytest.fixture(scope="module")
def warming_app(tmp_path_factory):
    """The app on fake models whose warm-up never finishes while the test runs (the banner keeps
    refreshing every second); a request loads the fake model itself."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("small-trips"), device="cpu")
    database = open_database(settings)
    context = build_context(settings, database, text_factory=FakeTextGenerator, image_factory=FakeImageGenerator)
    gate = threading.Event()

    def load_after_gate(modality):
        gate.wait(300)
        context.generator(modality).load()

    warmup = ModelWarmup(load=load_after_gate, is_loaded=lambda modality: context.generator(modality).is_loaded)
    context = dataclasses.replace(context, warmup=warmup)
    context.warmup.start()
    with running_app(context) as url:
        yield url
    gate.set()
    database.engine.dispose()


def test_the_warm_up_banner_shows_no_progress_timer(browser, warming_app):
    browser_context, page = open_page(browser, warming_app)
    page.evaluate(TIMER_JS)
    page.wait_for_function("() => document.querySelector('#warmup')?.innerText.includes('Warming up')")
    page.wait_for_timeout(4_500)  # four refreshes or more
    assert "Warming up" in page.inner_text("#warmup")
    assert page.evaluate("window.__timerSeen") == []
    browser_context.close()


def test_an_empty_prompt_says_so_once_in_place_of_the_restored_status(browser, warming_app):
    browser_context, page = open_page(browser, warming_app)
    # 1. A request, then a reload: the status says it was restored.
    page.fill("#text-prompt textarea", "Name a fruit.")
    page.click("#text-generate")
    wait_done(page, "text-status", timeout_ms=60_000)
    page.reload()
    page.wait_for_function("t => document.querySelector('#text-status')?.innerText.includes(t)", arg=RESTORED_STATUS.split(" · ")[0])
    # 2. An empty prompt: one message, in the status line, and nothing else.
    page.fill("#text-prompt textarea", "   ")
    page.click("#text-generate")
    page.wait_for_function("() => document.body.innerText.includes('the prompt is empty')", timeout=20_000)
    page.wait_for_timeout(1_500)  # a late error badge or toast would show by now
    status = page.inner_text("#text-status")
    assert "the prompt is empty" in status and "restored" not in status and "Error" not in status, status
    assert page.locator("#text-status .error").count() == 0
    assert page.locator(".toast-body").count() == 0, page.inner_text(".toast-wrap")
    assert page.input_value("#text-0-output textarea")  # the restored request's cards stay as they were
    browser_context.close()
