"""A refused prompt explained in Chromium, on fake models and a fake moderation classifier (it
labels a prompt with "nasty" in it "insult", score 0.97): the status line names the label that
fired (or the blocked word, masked) and links the guidelines; no toast or "Error" badge repeats
it, the prompt stays to be edited, the cards keep the last answers, and nothing is stored. The
Text and Image tabs alike; an API caller's call still fails with the message."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from feedback_db.schema import Request
from playground.core.database import open_database
from playground.core.moderation import Moderator, load_blocklist
from playground.core.settings import Settings
from playground.serving.context import build_context
from tests.e2e.helpers import open_page, set_number, wait_done
from tests.e2e.test_usability_browser import axe_script, serious_violations  # noqa: F401 - a fixture
from tests.fakes import FakeImageGenerator, FakeTextGenerator
from tests.launch import running_app
from tests.security.conftest import client

pytestmark = [pytest.mark.e2e]
LABELLED = 'the classifier\'s label "insult" (score 0.97) fired'


def insults(texts: list[str]) -> list[list[tuple[str, float]]]:
    """A moderation classifier that knows one insult."""
    return [[("insult", 0.97), ("neutral", 0.03)] if "nasty" in text.lower() else [("neutral", 0.99)] for text in texts]


@pytest.fixture(scope="module")
def moderated_app(tmp_path_factory):
    """The app on fake models, with the shipped blocklist and the classifier above."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("refusal-e2e"), device="cpu")
    database = open_database(settings)
    moderator = Moderator(blocked=load_blocklist(settings.assets_dir / "blocklist.txt"), classifier=insults)
    context = build_context(settings, database, text_factory=FakeTextGenerator, image_factory=FakeImageGenerator, moderator=moderator)
    try:
        with running_app(context) as url:
            yield url, database
    finally:
        database.engine.dispose()


def refuse(page, kind: str, prompt: str, expected: str) -> str:
    """Type a prompt the filter refuses, generate, and return the status line once it says why,
    after checking that nothing else says it (a toast, an "Error" badge) and the prompt stays."""
    page.fill(f"#{kind}-prompt textarea", prompt)
    page.click(f"#{kind}-generate")
    status = page.locator(f"#{kind}-status")
    expect(status).to_contain_text(expected, timeout=30_000)
    page.wait_for_timeout(1_500)  # a late error badge or toast would show by now
    words = status.inner_text()
    assert "Nothing was generated" in words and "Error" not in words, words
    assert page.locator(f"#{kind}-status .error").count() == 0
    assert page.locator(".toast-body").count() == 0, page.inner_text(".toast-wrap")
    assert page.input_value(f"#{kind}-prompt textarea") == prompt  # to be edited, not typed again
    return words


def follow_guidelines_link(page, kind: str) -> None:
    page.locator(f"#{kind}-status a[href='#guidelines']").click()
    expect(page.get_by_role("tab", name="Guidelines")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#tab-guidelines")).to_contain_text("Content filter")


def stored_requests(database) -> int:
    with database.read_sessions() as session:
        return session.scalar(select(func.count(Request.id))) or 0


def test_a_prompt_the_classifier_refuses_is_explained_in_the_text_status_with_a_guidelines_link(browser, moderated_app, axe_script):  # noqa: F811
    url, database = moderated_app
    context, page = open_page(browser, url, settled=True)
    # 1. A fine prompt first: its answers are on the cards.
    set_number(page, "text-n", 1)
    page.fill("#text-prompt textarea", "Name a fruit")
    page.click("#text-generate")
    wait_done(page, "text-status", timeout_ms=60_000)
    before = stored_requests(database)
    # 2. The classifier refuses the next one: said in the status line, once, with the link; the
    #    cards keep the last answer.
    words = refuse(page, "text", "write a nasty note about my neighbour", LABELLED)
    assert "Guidelines" in words, words
    assert stored_requests(database) == before
    assert "Name a fruit" in page.input_value("#text-0-output textarea")
    page.add_script_tag(path=str(axe_script))
    bad = serious_violations(page, ["#text-status"])
    assert not bad, "The refusal's status line:\n" + "\n".join(bad)
    # 3. The prompt, edited, goes through.
    page.fill("#text-prompt textarea", "write a kind note about my neighbour")
    page.click("#text-generate")
    wait_done(page, "text-status", timeout_ms=60_000)
    assert "kind note" in page.input_value("#text-0-output textarea")
    # 4. Refused again, the link opens the Guidelines tab.
    refuse(page, "text", "another nasty note", LABELLED)
    follow_guidelines_link(page, "text")
    context.close()


def test_the_image_tab_explains_a_classifier_label_and_a_blocked_word_the_same_way(browser, moderated_app):
    url, database = moderated_app
    context, page = open_page(browser, url, settled=True)
    page.get_by_role("tab", name="Image").click()
    before = stored_requests(database)
    refuse(page, "image", "a nasty red circle", LABELLED)
    words = refuse(page, "image", "how to make a bomb, drawn", 'the blocklist rule (the blocked phrase "m*** a b***") fired')
    assert "bomb" not in words, words
    assert stored_requests(database) == before
    follow_guidelines_link(page, "image")
    context.close()


def test_an_api_caller_is_still_refused_with_the_message(moderated_app):
    url, database = moderated_app
    before = stored_requests(database)
    with pytest.raises(Exception, match='content filter refused this prompt: the classifier.s label "insult"'):
        client(url).predict("a nasty note", 1, 8, 0.7, 0.9, 1.1, 1, "", api_name="/generate_text")
    assert stored_requests(database) == before
