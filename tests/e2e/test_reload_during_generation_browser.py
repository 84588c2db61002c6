"""In headless Chromium on a slow fake model: a page reloaded while its request is generating
restores that request (not the one before), marked interrupted, with the text it had so far;
My history lists it so. Before requests were stored at their start, the octopus prompt vanished
and the previous request came back."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select

from feedback_db.schema import Request
from models.base import TextParams
from tests.e2e.helpers import open_page, set_number, wait_done
from tests.fakes import FakeImageGenerator, FakeTextGenerator
from tests.launch import app_on

pytestmark = pytest.mark.e2e
EARLIER = "Name a colour."
PROMPT = "List five facts about octopuses."
WORDS_S = 0.25  # between streamed words: a 40-word answer takes 10 s


class SlowText(FakeTextGenerator):
    """Forty words per candidate, one every WORDS_S; stops at once when told to."""

    def stream(self, prompt: str, params: TextParams, cancel: threading.Event | None = None, continuing=None):
        inner = super().stream(prompt + " and" * 35 if prompt == PROMPT else prompt, params, cancel, continuing=continuing)

        def slow():
            for progress in inner:
                if cancel is not None and cancel.is_set():
                    return
                if not progress.done and prompt == PROMPT:
                    time.sleep(WORDS_S)
                yield progress

        return slow()


@pytest.fixture(scope="module")
def slow_app(tmp_path_factory):
    with app_on(tmp_path_factory.mktemp("reload"), SlowText, FakeImageGenerator) as (url, context):
        yield url, context.database


@pytest.mark.parametrize(("width", "height"), [(1280, 900), (420, 900)])
def test_a_reload_during_a_generation_restores_that_request_marked_interrupted(browser, slow_app, width, height):
    url, database = slow_app
    browser_context, page = open_page(browser, url, width, height)
    # 1. An earlier request that finished, then the octopus one, reloaded while it streams.
    page.fill("#text-prompt textarea", EARLIER)
    page.click("#text-generate")
    wait_done(page, "text-status")
    set_number(page, "text-n", 3)
    page.fill("#text-prompt textarea", PROMPT)
    page.click("#text-generate")
    page.wait_for_function("() => (document.querySelector('#text-0-output textarea')?.value || '').split(' ').length >= 6")
    page.reload()
    # 2. The restore shows the octopus request, interrupted, with its text so far.
    page.wait_for_function("p => document.querySelector('#text-prompt textarea')?.value === p", arg=PROMPT, timeout=30_000)
    status = page.inner_text("#text-status")
    assert "interrupted" in status, status
    so_far = page.input_value("#text-0-output textarea")
    assert so_far.startswith("answer0 to List five facts about octopuses.") and len(so_far.split()) >= 6, so_far
    assert float(page.input_value("#text-n input[type=number]")) == 3  # the count it asked for
    assert not page.locator("#text-0-naturalness input").first.is_disabled()  # its text can be rated
    # 3. Stored so: interrupted, with each candidate's text so far and its seed.
    with database.read_sessions() as session:
        stored = session.scalars(select(Request).where(Request.prompt == PROMPT).order_by(Request.id.desc())).first()
        assert stored is not None and stored.status == "interrupted"
        assert [o.finish_reason for o in stored.outputs] == ["cancelled"] * 3
        assert stored.outputs[0].text == so_far
    # 4. My history lists it, marked interrupted.
    page.click("#tab-history-button, button[role=tab]:has-text('My history')")
    entry = page.locator("#history-list label").filter(has_text=PROMPT).first
    entry.wait_for()
    assert "interrupted" in entry.inner_text(), entry.inner_text()
    browser_context.close()
