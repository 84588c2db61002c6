"""One state per page, in headless Chromium: the log-in shows the same in every tab that shows it
(Annotate, Insights) and survives a reload with the annotator's reserved item; a reload that
restores the last request also restores the candidates slider and the cards' speed figures.

The app runs on the fake generators: the queue items are seeded, and the fake text model reports
fixed figures (first token after 5 ms, 50 ms in all), so no real model is needed.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from feedback_db.users import create_user
from playground.core.database import open_database
from playground.core.settings import Settings
from playground.serving.context import build_context
from tests.db.helpers import add_text_request
from tests.e2e.helpers import open_page, set_number, wait_done
from tests.fakes import FakeImageGenerator, FakeTextGenerator
from tests.launch import running_app

pytestmark = [pytest.mark.e2e]
PASSWORD = "one-state-password"
STORAGE = "() => JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage)])"
PROMPT = "Name three rivers"  # the fake answers "answerI to Name three rivers": 5 tokens in 50 ms


@pytest.fixture(scope="module")
def one_state_app(tmp_path_factory):
    settings = Settings(data_dir=tmp_path_factory.mktemp("one-state-e2e"), device="cpu")
    database = open_database(settings)
    with database.sessions.begin() as session:
        create_user(session, name="walker", role="annotator", password=PASSWORD)
        create_user(session, name="boss", role="admin", password=PASSWORD)
        for i in range(3):
            add_text_request(session, n=2, prompt=f"Describe river number {i}")
    text, image = FakeTextGenerator(), FakeImageGenerator()
    context = build_context(settings, database, text_factory=lambda: text, image_factory=lambda: image)
    with running_app(context) as url:
        yield url
    database.engine.dispose()


def tab(page, name: str) -> None:
    page.get_by_role("tab", name=name).click()


def log_in(page, where: str, name: str) -> None:
    """Fill and send the log-in form of the Annotate or Insights tab."""
    tab(page, where.capitalize())
    page.fill(f"#{where}-name input", name)
    page.fill(f"#{where}-password input", PASSWORD)
    page.click(f"#{where}-login-button")


def expect_logged_in(page, name: str, role: str) -> None:
    """Both tabs that show the log-in say the same: who, and in what role."""
    words = f"Logged in as {name} ({role})"
    tab(page, "Annotate")
    expect(page.locator("#annotate-work")).to_be_visible()
    expect(page.locator("#annotate-who")).to_contain_text(words)
    tab(page, "Insights")
    expect(page.locator("#insights-who")).to_contain_text(words)
    if role == "admin":
        expect(page.locator("#insights-work")).to_be_visible()
    else:  # an annotator sees why the insights stay closed, and the form to log in as an admin
        expect(page.locator("#insights-login")).to_be_visible()
        expect(page.locator("#insights-work")).to_be_hidden()


def expect_logged_out(page) -> None:
    tab(page, "Annotate")
    expect(page.locator("#annotate-login")).to_be_visible()
    expect(page.locator("#annotate-work")).to_be_hidden()
    tab(page, "Insights")
    expect(page.locator("#insights-login")).to_be_visible()
    expect(page.locator("#insights-work")).to_be_hidden()
    expect(page.locator("#insights-who")).not_to_contain_text("Logged in")


def reserved_request(page) -> str:
    """The 'Request N' of the annotator's current item."""
    tab(page, "Annotate")
    expect(page.locator("#annotate-status")).to_contain_text("reserved for you")
    return page.inner_text("#annotate-status").split("·")[0].strip()


def test_one_log_in_per_page_in_every_tab_kept_across_a_reload_with_the_reserved_item(browser, one_state_app):
    context, page = open_page(browser, one_state_app)
    page.set_default_timeout(30_000)
    empty_storage = page.evaluate(STORAGE)
    # 1. The annotator logs in on Annotate: Insights says so too, and why it stays closed.
    log_in(page, "annotate", "walker")
    expect_logged_in(page, "walker", "annotator")
    item = reserved_request(page)
    # 2. His password on the Insights form is refused, and he stays logged in with his item.
    log_in(page, "insights", "walker")
    expect(page.locator(".toast-body").first).to_contain_text("Only admins")
    expect_logged_in(page, "walker", "annotator")
    assert reserved_request(page) == item
    # 3. An admin logs in on Insights: every tab shows the admin.
    log_in(page, "insights", "boss")
    expect_logged_in(page, "boss", "admin")
    # 4. Log out on Insights: every tab shows the form.
    page.click("#insights-logout")
    expect_logged_out(page)
    # 5. The annotator logs in again: his reserved item is still his; a reload keeps both.
    log_in(page, "annotate", "walker")
    expect_logged_in(page, "walker", "annotator")
    assert reserved_request(page) == item
    page.reload()
    page.wait_for_selector("#text-prompt textarea")
    expect_logged_in(page, "walker", "annotator")
    assert reserved_request(page) == item
    # 6. Log out on Annotate: every tab shows the form, after a reload too.
    tab(page, "Annotate")
    page.click("#annotate-logout")
    expect_logged_out(page)
    page.reload()
    page.wait_for_selector("#text-prompt textarea")
    expect_logged_out(page)
    # 7. Nothing of it reached the browser's storage.
    assert page.evaluate(STORAGE) == empty_storage
    context.close()


def test_a_reload_restores_the_candidates_slider_and_the_cards_speed_figures(browser, one_state_app):
    context, page = open_page(browser, one_state_app)
    empty_storage = page.evaluate(STORAGE)
    # 1. Three candidates: each card says when its first token came and how fast it went on.
    set_number(page, "text-n", 3)
    page.fill("#text-prompt textarea", PROMPT)
    page.click("#text-generate")
    wait_done(page, "text-status")
    # (On a busy machine the live card counts from the click: "first token 1.3 s after your click (model 5 ms)".)
    for index in range(3):
        expect(page.locator(f"#text-{index}-meta")).to_contain_text(re.compile(r"first token (5 ms|.*\(model 5 ms\))"))
        expect(page.locator(f"#text-{index}-meta")).to_contain_text("100.0 tok/s")
    # 2. A reload restores the three cards, the slider at 3 and the model's figures (the wait
    #    before the model started is not stored).
    page.reload()
    expect(page.locator("#text-status")).to_contain_text("restored")
    expect(page.locator("#text-2-card")).to_be_visible()
    expect(page.locator("#text-3-card")).to_be_hidden()
    expect(page.locator("#text-n input[type=number]")).to_have_value("3")
    expect(page.locator("#text-n input[type=range]")).to_have_value("3")
    for index in range(3):
        meta = page.locator(f"#text-{index}-meta")
        expect(meta).to_contain_text("first token 5 ms")
        expect(meta).to_contain_text("100.0 tok/s")
        expect(meta).to_contain_text("5 tokens")
    # 3. Nothing of it reached the browser's storage.
    assert page.evaluate(STORAGE) == empty_storage
    context.close()
