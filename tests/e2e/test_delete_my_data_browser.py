"""In headless Chromium on fake models: "Delete my data" in My history asks for a tick, then
deletes everything of this browser's identity at once - the list is empty, a reload restores
nothing - while another browser's data stays."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from feedback_db.schema import Request
from tests.e2e.helpers import open_page, pick, wait_done, wait_saved
from tests.fakes import FakeImageGenerator, FakeTextGenerator
from tests.launch import app_on

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    with app_on(tmp_path_factory.mktemp("delete-my-data"), FakeTextGenerator, FakeImageGenerator) as served:
        yield served


def generate(page, prompt: str) -> None:
    page.fill("#text-prompt textarea", prompt)
    page.click("#text-generate")
    wait_done(page, "text-status")


def prompts(context) -> list[str]:
    with context.database.read_sessions() as session:
        return sorted(session.scalars(select(Request.prompt)))


@pytest.mark.parametrize(("width", "height"), [(1280, 900), (420, 900)])
def test_delete_my_data_asks_first_then_leaves_nothing_of_mine(browser, served, width, height):
    url, context = served
    mine, theirs = f"Mine at {width} px.", f"Theirs at {width} px."
    my_context, page = open_page(browser, url, width, height)
    their_context, other = open_page(browser, url, width, height)
    # 1. I generate and rate; someone else generates.
    generate(page, mine)
    pick(page, "text-0-naturalness", "4")
    wait_saved(page, "text-0-saved", "naturalness 4")
    generate(other, theirs)
    # 2. My history lists my request; Delete my data without the tick deletes nothing.
    page.click("#tab-history-button, button[role=tab]:has-text('My history')")
    page.locator("#history-list label").filter(has_text=mine).wait_for()
    page.click("#history-delete")
    page.click("#history-delete-button")
    page.wait_for_selector("#history-deleted >> text=Tick")
    assert mine in prompts(context)
    # 3. With the tick: everything of mine goes, the list is empty, theirs stays.
    page.check("#history-delete-confirm input")
    page.click("#history-delete-button")
    page.wait_for_selector("#history-deleted >> text=Deleted:")
    assert "1 request, 1 rating" in page.inner_text("#history-deleted")
    page.wait_for_selector("#history-summary >> text=Nothing here yet")
    assert mine not in prompts(context) and theirs in prompts(context)
    # 4. A reload restores nothing of mine.
    page.reload()
    page.wait_for_timeout(1500)  # the restore has run
    assert page.input_value("#text-prompt textarea") == ""
    my_context.close()
    their_context.close()
