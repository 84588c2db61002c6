"""The Annotate tab in headless Chromium: log in, rate three items with the keyboard only (scores,
best pick, flag, back), stay logged in across a reload, log out.

The app runs on the fake generators: the items are seeded in the database, so no model is needed.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from feedback_db.frames import ratings_frame, set_ratings_frame
from feedback_db.schema import Flag
from feedback_db.users import create_user
from playground.core.database import open_database
from playground.core.settings import Settings
from playground.serving.context import build_context
from tests.db.helpers import add_text_request
from tests.e2e.conftest import screenshot
from tests.fakes import FakeImageGenerator, FakeTextGenerator
from tests.launch import running_app

pytestmark = [pytest.mark.e2e]
PASSWORD = "annotator-password"
KEYS = ["4", "5", "3", "2", "4"]  # candidate 1 naturalness, reliability; candidate 2 the same; diversity


@pytest.fixture(scope="module")
def annotate_app(tmp_path_factory):
    settings = Settings(data_dir=tmp_path_factory.mktemp("annotate-e2e"), device="cpu")
    database = open_database(settings)
    with database.sessions.begin() as session:
        create_user(session, name="ann", role="annotator", password=PASSWORD)
        for i in range(4):
            add_text_request(session, n=2, prompt=f"Describe colour number {i}")
    text, image = FakeTextGenerator(), FakeImageGenerator()
    context = build_context(settings, database, text_factory=lambda: text, image_factory=lambda: image)
    with running_app(context) as url:
        yield url, database
    database.engine.dispose()


def in_viewport(page, selector: str, height: int = 900) -> bool:
    box = page.locator(selector).bounding_box()
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= height


def wait_in_viewport(page, *selectors: str) -> None:
    """Wait (the page scrolls smoothly after log-in) until every selector is fully in view."""
    page.wait_for_function(
        """selectors => selectors.every(s => {
            const r = document.querySelector(s)?.getBoundingClientRect();
            return r && r.height > 0 && r.top >= 0 && r.bottom <= window.innerHeight;
        })""",
        arg=list(selectors),
        timeout=10_000,
    )


def test_log_in_rate_three_items_with_the_keyboard_and_log_out(browser, annotate_app):
    url, database = annotate_app
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.set_default_timeout(30_000)
    page.goto(url)
    page.get_by_role("tab", name="Annotate").click()
    # 1. A wrong password is refused with a clear message.
    page.fill("#annotate-name input", "ann")
    page.fill("#annotate-password input", "not the password")
    page.press("#annotate-password input", "Enter")
    page.wait_for_selector("text=Wrong name or password")
    assert not page.is_visible("#annotate-work")
    # 2. The right one opens the queue.
    page.fill("#annotate-password input", PASSWORD)
    page.press("#annotate-password input", "Enter")
    page.wait_for_selector("#annotate-work", state="visible")
    # 3. Three items, keyboard only: five scores, a best pick on items 1 and 2, a flag on item 2.
    best_keys = {1: "2", 2: "1", 3: None}
    for done in range(1, 4):
        expect(page.locator("#annotate-status")).to_contain_text(f"Request {done}")
        page.wait_for_selector("#annotate-1-card", state="visible")
        if done == 1:  # the whole first item, Submit included, fits the window
            wait_in_viewport(page, "#annotate-0-naturalness", "#annotate-submit")
        if done == 2:  # Enter too early: a message that does not stay; then F flags candidate 1
            page.keyboard.press("Enter")
            expect(page.locator(".toast-body").first).to_contain_text("rate naturalness and reliability")
            page.keyboard.press("f")
            expect(page.locator("#annotate-0-flag input")).to_be_checked()
        for key in KEYS:
            page.keyboard.press(key)
        # The highlighted axis is now Best candidate: a ring that shows, in view.
        expect(page.locator("#annotate-best")).to_have_class(re.compile("kbd-focus"))
        assert page.eval_on_selector("#annotate-best", "el => getComputedStyle(el).boxShadow") != "none"
        assert in_viewport(page, "#annotate-best")
        if best_keys[done]:
            page.keyboard.press(best_keys[done])
        if done == 3:
            screenshot(page, "annotate-tab.png", full_page=True)
        page.keyboard.press("Enter")
        expect(page.locator("#annotate-progress")).to_contain_text(f"Done today: {done}")
    expect(page.locator(".toast-body")).to_have_count(0)  # the early-Enter message has gone
    # 4. Back twice: item 2 again, with its flag and best pick; Enter saves it unchanged.
    # Pressed in quick succession, as people do: the second press waits for the first, not dropped.
    page.keyboard.press("b")
    page.keyboard.press("b")
    expect(page.locator("#annotate-status")).to_contain_text("request 2")
    expect(page.locator("#annotate-0-flag input")).to_be_checked()
    page.keyboard.press("Enter")
    expect(page.locator("#annotate-status")).to_contain_text("Saved your changes")
    # 5. A reload keeps the log-in (the cookie's session) and the leased item.
    page.reload()
    page.get_by_role("tab", name="Annotate").click()
    page.wait_for_selector("#annotate-work", state="visible")
    expect(page.locator("#annotate-who")).to_contain_text("Logged in as ann")
    expect(page.locator("#annotate-status")).to_contain_text("Request 4")
    # 6. Log out: back to the form, and a reload does not log in again.
    page.click("#annotate-logout")
    page.wait_for_selector("#annotate-login", state="visible")
    assert not page.is_visible("#annotate-work")
    page.reload()
    page.get_by_role("tab", name="Annotate").click()
    page.wait_for_selector("#annotate-login", state="visible")
    assert not page.is_visible("#annotate-work")
    page.context.close()

    with database.read_sessions() as session:
        ratings = ratings_frame(session, include_withheld=True).sort_values(["request_id", "output_index"])
        sets = set_ratings_frame(session, include_withheld=True).sort_values("request_id")
    assert set(ratings["source"]) == {"annotator"}
    assert ratings[["request_id", "naturalness", "reliability"]].values.tolist() == [
        [r, n, rel] for r in (1, 2, 3) for n, rel in ((4, 5), (3, 2))
    ]
    assert sets["diversity"].tolist() == [4, 4, 4]
    outputs = {(r.request_id, r.output_index): r.output_id for r in ratings.itertuples()}
    best = dict(zip(sets["request_id"], sets["best_output_id"], strict=True))
    assert best[1] == outputs[(1, 1)] and best[2] == outputs[(2, 0)] and pd.isna(best[3])
    with database.read_sessions() as session:
        flags = session.execute(select(Flag.output_id, Flag.rater_id)).all()
    assert [output_id for output_id, _ in flags] == [outputs[(2, 0)]]
