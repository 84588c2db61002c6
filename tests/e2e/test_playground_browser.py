"""The end-user playground in headless Chromium on the real embedded models."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from feedback_db.frames import ratings_frame, set_ratings_frame
from feedback_db.schema import Request
from tests.e2e.conftest import screenshot
from tests.e2e.helpers import pick, set_number, wait_done, wait_saved, watch_text_stream

pytestmark = [pytest.mark.e2e, pytest.mark.real_model]


def test_two_text_candidates_stream_and_every_rating_lands_in_the_database(page, live_app):
    _, database = live_app
    # 1. Generate two candidates and watch the first one grow.
    page.fill("#text-prompt textarea", "Name three colours of the rainbow.")
    page.click("#text-parameters")
    set_number(page, "text-max-tokens", 40)
    page.fill("#text-seed input", "1234")
    page.click("#text-generate")
    seen = watch_text_stream(page, "text-0-output", "text-status")
    assert len(seen) >= 3, f"expected the text to stream in several steps, saw {seen}"
    assert seen[-1].startswith(seen[0]) and len(seen[-1]) > len(seen[0])
    assert "seed 1234" in page.inner_text("#text-0-meta")
    assert "seed 1235" in page.inner_text("#text-1-meta")
    # 2. Rate both candidates and the set, each click saved at once.
    for index, (nat, rel) in enumerate([("4", "5"), ("2", "3")]):
        pick(page, f"text-{index}-naturalness", nat)
        wait_saved(page, f"text-{index}-saved", f"naturalness {nat}")
        pick(page, f"text-{index}-reliability", rel)
        wait_saved(page, f"text-{index}-saved", f"reliability {rel}")
    pick(page, "text-diversity", "3")
    wait_saved(page, "text-set-saved", "diversity 3")
    pick(page, "text-best", "Candidate 1")
    wait_saved(page, "text-set-saved", "best pick")
    screenshot(page, "text-tab.png", full_page=True)
    # 3. The rows are in the database.
    with database.read_sessions() as session:
        ratings = ratings_frame(session).sort_values("output_index")
        sets = set_ratings_frame(session)
    assert ratings[["output_index", "naturalness", "reliability"]].values.tolist() == [[0, 4, 5], [1, 2, 3]]
    assert (sets.loc[0, "diversity"], sets.loc[0, "best_output_index"]) == (3, 0)
    assert set(ratings["prompt"]) == {"Name three colours of the rainbow."}


def test_changing_a_rating_updates_the_one_row(page, live_app):
    _, database = live_app
    page.fill("#text-prompt textarea", "Say hello in French.")
    page.click("#text-parameters")
    set_number(page, "text-max-tokens", 12)
    page.click("#text-generate")
    wait_done(page, "text-status")
    with database.read_sessions() as session:
        request_id = session.scalar(select(Request.id).order_by(Request.id.desc()))
    pick(page, "text-0-naturalness", "2")
    wait_saved(page, "text-0-saved", "naturalness 2")
    pick(page, "text-0-naturalness", "5")
    wait_saved(page, "text-0-saved", "naturalness 5")
    page.fill("#text-0-comment textarea", "<b>bold</b> & fine")
    page.press("#text-0-comment textarea", "Enter")
    wait_saved(page, "text-0-saved", "comment")

    with database.read_sessions() as session:
        frame = ratings_frame(session)
    rows = frame[frame["request_id"] == request_id]
    assert len(rows) == 1
    assert rows.iloc[0]["naturalness"] == 5
    assert rows.iloc[0]["comment"] == "<b>bold</b> & fine"


def test_an_empty_prompt_shows_an_error_and_writes_nothing(page, live_app):
    _, database = live_app
    with database.read_sessions() as session:
        before = session.query(Request).count()
    page.fill("#text-prompt textarea", "   ")
    page.click("#text-generate")
    page.wait_for_selector("text=the prompt is empty")
    with database.read_sessions() as session:
        assert session.query(Request).count() == before


def test_an_image_is_generated_and_rated(page, live_app):
    _, database = live_app
    page.get_by_role("tab", name="Image").click()
    page.fill("#image-prompt textarea", "a large red circle at the top left on a light blue background")
    set_number(page, "image-n", 1)
    page.click("#image-parameters")
    page.fill("#image-seed input", "7")
    page.click("#image-generate")
    wait_done(page, "image-status")
    assert page.locator("#image-0-output img").count() == 1
    pick(page, "image-0-naturalness", "4")
    wait_saved(page, "image-0-saved", "naturalness 4")
    pick(page, "image-0-thumbs", "Up")
    wait_saved(page, "image-0-saved", "thumbs up")
    screenshot(page, "image-tab.png", full_page=True)
    with database.read_sessions() as session:
        ratings = ratings_frame(session).query("modality == 'image'")
    assert ratings[["naturalness", "thumbs"]].values.tolist() == [[4, 1]]
    assert ratings.iloc[0]["image_path"].startswith("images/")


def test_phone_width_layout(browser, live_app):
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2)
    page = context.new_page()
    page.goto(live_app[0])
    page.wait_for_selector("#text-prompt textarea")
    card = page.locator("#text-0-card").bounding_box()
    assert card is not None and card["width"] <= 390
    screenshot(page, "phone.png")
    context.close()
