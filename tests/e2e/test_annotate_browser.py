"""The Annotate tab in headless Chromium: log in, rate three items with the keyboard only, log out.

The app runs on the fake generators: the items are seeded in the database, so no model is needed.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from feedback_db.frames import ratings_frame, set_ratings_frame
from feedback_db.users import create_user
from playground.context import AppContext
from playground.database import open_database
from playground.settings import Settings
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
    context = AppContext(settings=settings, database=database, text_factory=lambda: text,
                         image_factory=lambda: image)
    with running_app(context) as url:
        yield url, database
    database.engine.dispose()


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
    # 3. Three items, keyboard only: five scores, then Enter.
    for done in range(1, 4):
        expect(page.locator("#annotate-status")).to_contain_text(f"Request {done}")
        page.wait_for_selector("#annotate-1-card", state="visible")
        for key in KEYS:
            page.keyboard.press(key)
        if done == 3:
            screenshot(page, "annotate-tab.png", full_page=True)
        page.keyboard.press("Enter")
        expect(page.locator("#annotate-progress")).to_contain_text(f"Done today: {done}")
    # 4. Log out: back to the form.
    page.click("#annotate-logout")
    page.wait_for_selector("#annotate-login", state="visible")
    assert not page.is_visible("#annotate-work")
    page.context.close()

    with database.read_sessions() as session:
        ratings = ratings_frame(session).sort_values(["request_id", "output_index"])
        sets = set_ratings_frame(session)
    assert set(ratings["source"]) == {"annotator"}
    assert ratings[["request_id", "naturalness", "reliability"]].values.tolist() == [
        [r, n, rel] for r in (1, 2, 3) for n, rel in ((4, 5), (3, 2))
    ]
    assert sets["diversity"].tolist() == [4, 4, 4]
