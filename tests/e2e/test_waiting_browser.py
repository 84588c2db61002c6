"""Waiting, as the user sees it in Chromium on the real embedded text model: the warm-up banner
until the model has loaded, "loading the model" on a request that waits for it, the queue
position of a request waiting behind another, and the time to first token counted from the click."""

from __future__ import annotations

import dataclasses
import threading

import pytest

from models.text_hf import HFTextGenerator
from playground.core.database import open_database
from playground.core.settings import Settings
from playground.serving.context import build_context
from playground.serving.warmup import ModelWarmup
from tests.e2e.helpers import set_number, wait_done
from tests.launch import running_app

pytestmark = [pytest.mark.e2e, pytest.mark.real_model]


@pytest.fixture(scope="module")
def warming_app(tmp_path_factory, model_cache_dir, real_text_generator):
    """The app with a text model of its own that has not loaded yet, and a warm-up that starts
    loading it only when the test opens `gate` (so the page is seen while it warms up; a request
    made meanwhile loads the model itself)."""
    from models.registry import load_image_generator

    settings = Settings(data_dir=tmp_path_factory.mktemp("waiting-data"), device="cpu")
    database = open_database(settings)
    # A fresh instance (not the session's loaded one): the warm-up really loads it (from the
    # converted copy the session fixture made).
    text = HFTextGenerator("embedded", "cpu", model_cache_dir)
    context = build_context(settings, database, text_factory=lambda: text, image_factory=lambda: load_image_generator("embedded", "cpu"))
    gate = threading.Event()

    def load_after_gate(modality):
        gate.wait(300)
        context.generator(modality).load()

    context = dataclasses.replace(
        context, warmup=ModelWarmup(load=load_after_gate, is_loaded=lambda modality: context.generator(modality).is_loaded)
    )
    context.warmup.start()
    with running_app(context) as url:
        yield url, gate, context
    gate.set()
    database.engine.dispose()


def open_page(browser, url):
    browser_context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = browser_context.new_page()
    page.set_default_timeout(120_000)
    page.goto(url)
    page.wait_for_selector("#text-prompt textarea")
    return browser_context, page


def prepare(page, prompt: str, max_tokens: int, n: int) -> None:
    """Type a prompt and set its length and number of candidates (Generate is not clicked)."""
    page.fill("#text-prompt textarea", prompt)
    page.click("#text-parameters")
    set_number(page, "text-max-tokens", max_tokens)
    set_number(page, "text-n", n)


def text_of(page, selector: str) -> str:
    return page.inner_text(selector).strip()


def test_warming_up_is_shown_and_a_request_says_it_waits_for_the_model(browser, warming_app):
    url, gate, context = warming_app
    browser_context, page = open_page(browser, url)
    # 1. The banner names what is loading.
    page.wait_for_function("() => document.querySelector('#warmup')?.innerText.includes('Warming up')")
    assert "loading the text model" in text_of(page, "#warmup")
    # 2. A request made now says what it waits for, beside Generate.
    prepare(page, "Say hello.", max_tokens=4, n=1)
    page.click("#text-generate")
    page.wait_for_function("() => document.querySelector('#text-status')?.innerText.includes('Loading the text model')")
    assert page.locator("#text-status").is_visible()
    # 3. The request loads the model itself (under the generator's lock) and answers; the
    #    warm-up, let go now, finds it loaded: one load. Then the banner clears.
    wait_done(page, "text-status")
    loaded = context.generator("text").model
    gate.set()
    page.wait_for_function("() => (document.querySelector('#warmup')?.innerText || '').trim() === ''", timeout=60_000)
    assert context.warmup.ready() and context.warmup.state("text").state == "ready"
    assert context.generator("text").model is loaded
    browser_context.close()


def test_a_queued_request_shows_its_place_in_the_queue_beside_generate(browser, warming_app):
    url, gate, context = warming_app
    gate.set()
    context.warmup.start().join(timeout=300)
    first_context, first = open_page(browser, url)
    second_context, second = open_page(browser, url)
    # 1. A long request runs; a short one is clicked behind it (one model queue).
    prepare(first, "Write a long story about a lighthouse keeper.", max_tokens=120, n=2)
    prepare(second, "Say hello.", max_tokens=4, n=1)
    first.click("#text-generate")
    first.wait_for_function("() => document.querySelector('#text-status')?.innerText.includes('Generating')")
    second.click("#text-generate")
    # 2. The waiting request shows its queue position in a visible status line.
    second.wait_for_function("() => /queue: \\d+\\/\\d+/.test(document.querySelector('#text-status')?.innerText || '')")
    assert second.locator("#text-status .progress-text").is_visible()
    # Both boxes in one go: the page may still be scrolling to the results.
    text_box, status_box = second.evaluate("""() => [
        document.querySelector('#text-status .progress-text').getBoundingClientRect().toJSON(),
        document.querySelector('#text-status').getBoundingClientRect().toJSON()]""")
    assert text_box["height"] >= 10 and text_box["width"] >= 40
    assert status_box["top"] - 1 <= text_box["top"] and text_box["bottom"] <= status_box["bottom"] + 1
    # 3. When it has run, its time to first token includes the wait.
    wait_done(second, "text-status")
    assert "after your click" in text_of(second, "#text-0-meta")
    wait_done(first, "text-status")
    first_context.close()
    second_context.close()
