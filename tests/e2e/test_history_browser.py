"""History in Chromium, on the real embedded text model: reason chips are stored, a reload
restores the last request with its ratings, and the history panel edits a stored rating.

One app serves the module; the tests run in order and share one browser context (one cookie
identity), as one person would.
"""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from feedback_db.schema import Flag, Output, Rating, Request
from tests.e2e.conftest import screenshot
from tests.e2e.helpers import pick, set_number, wait_done, wait_saved
from tests.e2e.test_usability_browser import axe_script, serious_violations  # noqa: F401 - a fixture

pytestmark = [pytest.mark.e2e, pytest.mark.real_model]
PROMPT = "Name one planet of the solar system."
DETAIL = "<img src=x onerror=alert(2)><b>not a planet</b>"
FAILED_CALLS: list[tuple[int, str]] = []  # every HTTP error the pages of this module got


def watch_failures(page) -> None:
    page.on("response", lambda r: r.status >= 400 and FAILED_CALLS.append((r.status, r.url)))


@pytest.fixture(scope="module")
def person(browser, live_app):
    """One browser context: its cookie names one person across reloads."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(120_000)
    watch_failures(page)  # before the first load: restoring nothing must not fail either
    page.goto(live_app[0])
    page.wait_for_selector("#text-prompt textarea")
    yield page
    context.close()


def my_rating(database, column):
    with database.read_sessions() as session:
        request = session.scalars(select(Request).where(Request.prompt == PROMPT)).one()
        output_id = request.outputs[0].id
        rating = session.scalar(select(Rating).where(Rating.output_id == output_id))
        flag = session.scalar(select(Flag).where(Flag.output_id == output_id))
        return getattr(rating, column), flag.reason if flag else None


def test_reason_chips_on_thumbs_down_and_flag_are_stored(person, live_app):
    page, database = person, live_app[1]
    # 1. One short candidate.
    page.click("#text-parameters")
    set_number(page, "text-max-tokens", 8)
    set_number(page, "text-n", 1)
    page.fill("#text-prompt textarea", PROMPT)
    page.click("#text-generate")
    wait_done(page, "text-status")
    with database.read_sessions() as session:  # the typed values reached the request
        parameters = session.scalars(select(Request.parameters).where(Request.prompt == PROMPT)).one()
    assert (parameters["max_new_tokens"], parameters["n"]) == (8, 1), parameters
    # 2. The reason box appears only with a thumbs-down.
    assert not page.locator("#text-0-reasons").is_visible()
    pick(page, "text-0-naturalness", "4")
    wait_saved(page, "text-0-saved", "naturalness 4")
    pick(page, "text-0-thumbs", "Down")
    wait_saved(page, "text-0-saved", "thumbs down")
    page.wait_for_selector("#text-0-reasons", state="visible")
    # 3. A chip and details (markup) are stored as text; a flag then takes the same reason.
    page.locator("#text-0-reasons label").filter(has_text="wrong").click()
    wait_saved(page, "text-0-saved", "Saved reason: wrong")
    box = page.locator("#text-0-reason-detail textarea, #text-0-reason-detail input").first
    box.fill(DETAIL)
    box.press("Enter")
    wait_saved(page, "text-0-saved", "not a planet")
    # The status line echoes the details as typed: text, never an element (sanitised or not).
    assert DETAIL in page.inner_text("#text-0-saved")
    assert page.locator("#text-0-saved img, #text-0-saved b").count() == 0
    page.locator("#text-0-flag input").check()
    wait_saved(page, "text-0-saved", "Flagged")
    assert my_rating(database, "reason") == (f"wrong: {DETAIL}", f"wrong: {DETAIL}")


def test_a_reload_restores_the_last_request_and_its_ratings_from_the_server(person, live_app):
    page, database = person, live_app[1]
    with database.read_sessions() as session:
        text = session.scalars(select(Output.text).join(Request).where(Request.prompt == PROMPT)).one()
    page.reload()
    page.wait_for_function("p => document.querySelector('#text-prompt textarea')?.value === p", arg=PROMPT, timeout=60_000)
    assert "restored" in page.inner_text("#text-status")
    assert page.input_value("#text-0-output textarea") == text
    assert page.locator("#text-0-naturalness input[value='4']").is_checked()
    assert page.locator("#text-0-flag input").is_checked()
    assert page.locator("#text-0-reasons label").filter(has_text="wrong").locator("input").is_checked()
    assert page.input_value("#text-0-reason-detail textarea, #text-0-reason-detail input") == DETAIL
    # Restored ratings can be changed at once; nothing of the request is kept in browser storage.
    assert not page.locator("#text-0-reliability input").first.is_disabled()
    storage = page.evaluate("() => JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage)])")
    assert PROMPT not in storage and "not a planet" not in storage, json.loads(storage)
    config = page.request.get(live_app[0] + "config").text()  # the page's config, with this cookie
    assert PROMPT not in config and "not a planet" not in config


def test_the_history_panel_lists_my_requests_and_an_edit_changes_the_stored_rating(person, browser, live_app):
    page, (url, database) = person, live_app
    page.click("#tab-history-button, button[role=tab]:has-text('My history')")
    entry = page.locator("#history-list label").filter(has_text=PROMPT)
    entry.wait_for()
    assert "1 rated by you" in entry.inner_text()
    entry.click()
    page.wait_for_function(
        "p => document.querySelector('#history-prompt textarea')?.value === p",
        arg=PROMPT,
    )
    assert page.locator("#history-0-naturalness input[value='4']").is_checked()
    pick(page, "history-0-naturalness", "2")
    wait_saved(page, "history-0-saved", "naturalness 2")
    assert my_rating(database, "naturalness")[0] == 2
    pick(page, "history-0-thumbs", "Up")
    wait_saved(page, "history-0-saved", "thumbs up")
    assert my_rating(database, "reason")[0] is None  # a reason goes with the thumbs-down
    screenshot(page, "history-tab.png", full_page=True)
    # Another browser has its own, empty history.
    stranger = browser.new_context()
    other = stranger.new_page()
    watch_failures(other)
    other.goto(url)
    other.click("button[role=tab]:has-text('My history')")
    other.wait_for_selector("#history-summary >> text=Nothing here yet")
    assert other.locator("#history-list label").count() == 0
    stranger.close()
    assert not FAILED_CALLS


def test_regenerate_all_asks_again_with_the_same_prompt_and_parameters_and_a_new_seed(person, live_app):
    page, database = person, live_app[1]
    page.click("button[role=tab]:has-text('Text')")
    with database.read_sessions() as session:
        before = session.scalars(select(Request).where(Request.prompt == PROMPT)).all()
        old_seed, old_parameters = before[-1].outputs[0].seed, before[-1].parameters
    page.fill("#text-prompt textarea", "something else")  # Regenerate all uses the shown request's prompt
    page.click("#text-regenerate-all")  # (a card's own Regenerate: tests/e2e/test_regenerate_card_browser.py)
    page.wait_for_function(
        "p => document.querySelector('#text-prompt textarea')?.value === p",
        arg=PROMPT,
    )
    wait_done(page, "text-status")
    with database.read_sessions() as session:
        after = session.scalars(select(Request).where(Request.prompt == PROMPT)).all()
        assert len(after) == len(before) + 1
        newest = after[-1]
        assert newest.outputs[0].seed != old_seed
        assert old_parameters["max_new_tokens"] == 8  # typed in the first test
        same = ("max_new_tokens", "temperature", "top_p", "repetition_penalty", "n", "stop")
        assert {k: newest.parameters[k] for k in same} == {k: old_parameters[k] for k in same}
    page.click("#text-parameters")  # closed since the reload
    # Regenerate all asks with a new random seed: the seed box is blank again.
    expect(page.locator("#text-seed input")).to_have_value("")
    # The sliders, mounted only now that the accordion opens, show the values Regenerate all asked with.
    expect(page.locator("#text-max-tokens input[type=number]")).to_have_value("8")


def test_a_reload_restores_the_last_image_request(person, live_app):
    page = person
    page.click("button[role=tab]:has-text('Image')")
    page.click("#image-parameters")
    set_number(page, "image-steps", 3)
    set_number(page, "image-n", 1)
    page.fill("#image-prompt textarea", "a red circle on the left")
    page.click("#image-generate")
    wait_done(page, "image-status")
    pick(page, "image-0-reliability", "5")
    wait_saved(page, "image-0-saved", "reliability 5")
    page.reload()
    page.click("button[role=tab]:has-text('Image')")
    page.wait_for_function(
        "p => document.querySelector('#image-prompt textarea')?.value === p",
        arg="a red circle on the left",
        timeout=60_000,
    )
    page.wait_for_selector("#image-0-output img")
    assert page.locator("#image-0-reliability input[value='5']").is_checked()
    assert "restored" in page.inner_text("#image-status")


def test_an_opened_history_request_with_its_reason_box_passes_the_accessibility_audit(person, axe_script):  # noqa: F811
    page = person
    page.click("button[role=tab]:has-text('My history')")
    page.click("#history-refresh")
    entry = page.locator("#history-list label").filter(has_text=PROMPT).last
    entry.wait_for()
    entry.click()
    page.wait_for_selector("#history-0-reasons", state="visible")  # the flag is still set
    page.add_script_tag(path=str(axe_script))
    bad = serious_violations(page)
    assert not bad, "My history tab:\n" + "\n".join(bad)
    assert not FAILED_CALLS
