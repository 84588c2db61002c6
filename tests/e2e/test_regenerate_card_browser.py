"""Regenerate on a card regenerates that card only (issue #26), in Chromium on fake models: the
other cards keep their texts and ratings, the card gets a new output (new seed, empty ratings)
in the same request, and the old output stays in the database with its ratings and in My
history, marked as replaced."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from feedback_db.schema import Output, Rating, Request
from tests.e2e.helpers import open_page, pick, set_number, wait_done, wait_saved
from tests.fakes import FakeImageGenerator, FakeTextGenerator
from tests.launch import app_on

pytestmark = [pytest.mark.e2e]
PROMPT = "Name a fruit."
SCORES = ("2", "3", "4")  # card i's naturalness


@pytest.fixture(scope="module")
def fake_app(tmp_path_factory):
    with app_on(tmp_path_factory.mktemp("regenerate-card"), FakeTextGenerator, FakeImageGenerator) as (url, context):
        yield url, context.database


def seed_in(meta: str) -> int:
    found = re.search(r"seed (\d+)", meta)
    assert found, meta
    return int(found.group(1))


def test_regenerate_under_candidate_3_replaces_that_card_only(browser, fake_app):
    url, database = fake_app
    browser_context, page = open_page(browser, url)
    # 1. Three candidates, each rated.
    set_number(page, "text-n", 3)
    page.fill("#text-prompt textarea", PROMPT)
    page.click("#text-generate")
    wait_done(page, "text-status", timeout_ms=60_000)
    texts = [page.input_value(f"#text-{i}-output textarea") for i in range(3)]
    old_seed = seed_in(page.inner_text("#text-2-meta"))
    for i, score in enumerate(SCORES):
        pick(page, f"text-{i}-naturalness", score)
        wait_saved(page, f"text-{i}-saved", f"naturalness {score}")
    # 2. Regenerate under Candidate 3.
    page.click("#text-2-regenerate")
    page.wait_for_function("() => document.querySelector('#text-status')?.innerText.includes('Candidate 3 regenerated')", timeout=60_000)
    # 3. Cards 1 and 2 as they were; card 3 new, with a new seed and no ratings.
    assert [page.input_value(f"#text-{i}-output textarea") for i in range(2)] == texts[:2]
    for i in range(2):
        assert page.locator(f"#text-{i}-naturalness input[value='{SCORES[i]}']").is_checked()
    new_seed = seed_in(page.inner_text("#text-2-meta"))
    assert new_seed != old_seed
    assert page.input_value("#text-2-output textarea")
    assert page.locator("#text-2-naturalness input:checked").count() == 0
    assert not page.locator("#text-2-naturalness input").first.is_disabled()  # ratable at once
    # 4. One request with four outputs; the old third kept with its rating.
    with database.read_sessions() as session:
        requests = session.scalars(select(Request).where(Request.prompt == PROMPT)).all()
        assert len(requests) == 1
        outputs = session.scalars(select(Output).where(Output.request_id == requests[0].id).order_by(Output.id)).all()
        assert len(outputs) == 4
        old, new = outputs[2], outputs[3]
        assert (old.text, old.seed, new.seed, new.replaces_output_id) == (texts[2], old_seed, new_seed, old.id)
        assert session.scalar(select(Rating.naturalness).where(Rating.output_id == old.id)) == 4
        assert session.scalar(select(Rating.id).where(Rating.output_id == new.id)) is None
    # 5. The new card's rating lands on the new output.
    pick(page, "text-2-naturalness", "5")
    wait_saved(page, "text-2-saved", "naturalness 5")
    with database.read_sessions() as session:
        assert session.scalar(select(Rating.naturalness).where(Rating.output_id == new.id)) == 5
    # 6. My history: the current three, and the old one marked as replaced, with its rating.
    page.click("button[role=tab]:has-text('My history')")
    entry = page.locator("#history-list label").filter(has_text=PROMPT)
    entry.wait_for()
    assert "3 candidates (1 replaced)" in entry.inner_text()
    entry.click()
    page.wait_for_function("p => document.querySelector('#history-prompt textarea')?.value === p", arg=PROMPT)
    page.wait_for_function("() => (document.querySelector('#history-replaced')?.innerText || '').includes('replaced')")
    replaced = page.inner_text("#history-replaced")
    assert "Candidate 3" in replaced and f"seed {old_seed}" in replaced and "naturalness 4" in replaced, replaced
    assert page.locator("#history-2-naturalness input[value='5']").is_checked()
    browser_context.close()


def test_regenerate_all_asks_again_for_every_card(browser, fake_app):
    url, database = fake_app
    browser_context, page = open_page(browser, url)
    set_number(page, "text-n", 2)
    page.fill("#text-prompt textarea", "Name a colour.")
    page.click("#text-generate")
    wait_done(page, "text-status", timeout_ms=60_000)
    page.click("#text-regenerate-all")
    for _ in range(120):  # a new request, recorded when its stream ends
        with database.read_sessions() as session:
            if len(session.scalars(select(Request).where(Request.prompt == "Name a colour.")).all()) == 2:
                break
        page.wait_for_timeout(500)
    else:
        raise AssertionError("Regenerate all made no new request")
    wait_done(page, "text-status", timeout_ms=60_000)
    browser_context.close()
