"""The Annotate tab with four candidates in headless Chromium: scores set but not submitted survive
a reload (kept on the server, never in browser storage), and the four cards sit in one row on a
laptop and stack without horizontal scroll on a phone.

The app runs on the fake generators: the items are seeded in the database, so no model is needed.
"""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from feedback_db.frames import ratings_frame, set_ratings_frame
from feedback_db.schema import Assignment, Flag
from feedback_db.users import create_user
from playground.core.database import open_database
from playground.core.settings import Settings
from playground.serving.context import build_context
from tests.db.helpers import add_text_request
from tests.e2e.conftest import screenshot
from tests.e2e.helpers import pick
from tests.fakes import FakeImageGenerator, FakeTextGenerator
from tests.launch import running_app

pytestmark = [pytest.mark.e2e]
PASSWORD = "annotator-password"
CARDS = 4


@pytest.fixture(scope="module")
def four_card_app(tmp_path_factory):
    settings = Settings(data_dir=tmp_path_factory.mktemp("annotate-drafts-e2e"), device="cpu")
    database = open_database(settings)
    with database.sessions.begin() as session:
        for name in ("ann", "phone"):
            create_user(session, name=name, role="annotator", password=PASSWORD)
        for i in range(3):
            add_text_request(session, n=CARDS, prompt=f"Describe colour number {i}")
    text, image = FakeTextGenerator(), FakeImageGenerator()
    context = build_context(settings, database, text_factory=lambda: text, image_factory=lambda: image)
    with running_app(context) as url:
        yield url, database
    database.engine.dispose()


def log_in(browser, url: str, name: str, width: int, height: int):
    page = browser.new_context(viewport={"width": width, "height": height}).new_page()
    page.set_default_timeout(30_000)
    page.goto(url)
    page.get_by_role("tab", name="Annotate").click()
    page.fill("#annotate-name input", name)
    page.fill("#annotate-password input", PASSWORD)
    page.press("#annotate-password input", "Enter")
    page.wait_for_selector(f"#annotate-{CARDS - 1}-card", state="visible")
    return page


def stored_draft(database) -> dict | None:
    with database.read_sessions() as session:
        return next((d for d in session.scalars(select(Assignment.draft)) if d is not None), None)


def wait_for_draft(database, expected: dict, timeout_s: float = 15) -> None:
    """The page saves each change as it happens; wait until the last one has reached the server."""
    deadline = time.monotonic() + timeout_s
    while (draft := stored_draft(database)) != expected:
        if time.monotonic() > deadline:
            raise AssertionError(f"the draft on the server is {draft!r}, expected {expected!r}")
        time.sleep(0.1)


def checked(page, elem_id: str) -> str | None:
    """The label of the checked choice of a Radio, or None."""
    return page.eval_on_selector(f"#{elem_id}", "el => el.querySelector('input:checked')?.closest('label')?.innerText.trim() ?? null")


def test_unsubmitted_scores_survive_a_reload_and_never_reach_browser_storage(browser, four_card_app):
    url, database = four_card_app
    page = log_in(browser, url, "ann", 1280, 900)
    expect(page.locator("#annotate-status")).to_contain_text("Request 1 · 4 candidates")
    # 1. Some scores by mouse, some by keyboard, a best pick and a flag; nothing submitted.
    pick(page, "annotate-0-naturalness", "4")
    pick(page, "annotate-2-reliability", "2")
    page.locator("#annotate-1-flag input").check()
    pick(page, "annotate-diversity", "3")
    pick(page, "annotate-best", "Candidate 3")
    page.locator("#annotate-3-naturalness label").first.click()  # moves the keyboard's highlight
    page.keyboard.press("5")  # candidate 4 naturalness: 5 (it was 1 from the click)
    outputs = {i: i + 1 for i in range(CARDS)}  # output ids of request 1
    wait_for_draft(
        database,
        {
            "scores": {str(outputs[0]): [4, None], str(outputs[2]): [None, 2], str(outputs[3]): [5, None]},
            "diversity": 3,
            "best_output_id": outputs[2],
            "flagged": [outputs[1]],
        },
    )
    # 2. Browser storage holds none of it (nothing personal goes there).
    storage = page.evaluate("() => JSON.stringify([{...localStorage}, {...sessionStorage}])")
    assert "naturalness" not in storage and "draft" not in storage and '"4"' not in storage, storage
    assert page.evaluate("() => localStorage.length + sessionStorage.length") == 0, storage
    # 3. Reload: still logged in, on the same item, with the same scores.
    page.reload()
    page.get_by_role("tab", name="Annotate").click()
    page.wait_for_selector("#annotate-work", state="visible")
    expect(page.locator("#annotate-status")).to_contain_text("Request 1 · 4 candidates")
    expect(page.locator("#annotate-0-naturalness input[value='4']")).to_be_checked()
    assert checked(page, "annotate-0-reliability") is None
    expect(page.locator("#annotate-2-reliability input[value='2']")).to_be_checked()
    expect(page.locator("#annotate-3-naturalness input[value='5']")).to_be_checked()
    expect(page.locator("#annotate-1-flag input")).to_be_checked()
    expect(page.locator("#annotate-0-flag input")).not_to_be_checked()
    expect(page.locator("#annotate-diversity input[value='3']")).to_be_checked()
    assert checked(page, "annotate-best") == "Candidate 3"
    # 4. The rest of the scores, then Submit stores them all and drops the draft.
    for card, (naturalness, reliability) in enumerate([(4, 3), (2, 2), (1, 2), (5, 4)]):
        pick(page, f"annotate-{card}-naturalness", str(naturalness))
        pick(page, f"annotate-{card}-reliability", str(reliability))
    page.click("#annotate-submit")
    expect(page.locator("#annotate-status")).to_contain_text("Saved")
    expect(page.locator("#annotate-status")).to_contain_text("Request 2")
    # The new item starts empty, although the last item's scores were on screen a moment ago.
    assert all(checked(page, f"annotate-{c}-naturalness") is None for c in range(CARDS))
    page.context.close()
    with database.read_sessions() as session:
        ratings = ratings_frame(session, include_withheld=True).sort_values("output_index")
        sets = set_ratings_frame(session, include_withheld=True)
        flags = session.scalars(select(Flag.output_id)).all()
    assert ratings[["request_id", "naturalness", "reliability"]].values.tolist() == [
        [1, 4, 3],
        [1, 2, 2],
        [1, 1, 2],
        [1, 5, 4],
    ]
    assert sets[["diversity", "best_output_id"]].values.tolist() == [[3, outputs[2]]]
    assert flags == [outputs[1]]
    assert stored_draft(database) is None


LAYOUT_JS = """() => {
  const box = (el) => el.getBoundingClientRect();
  const cards = [...document.querySelectorAll('#annotate-cards > .card')].filter((c) => c.offsetParent !== null);
  const groups = [...document.querySelectorAll('#annotate-work .annotate-score')].filter((g) => g.offsetParent !== null);
  return {
    cards: cards.map((c) => ({ id: c.id, top: Math.round(box(c).top), left: Math.round(box(c).left),
                               right: Math.round(box(c).right), width: Math.round(box(c).width) })),
    // A group wraps when its buttons do not share one top; it spills when one ends past its card.
    groups: groups.map((g) => {
      const labels = [...g.querySelectorAll('.wrap label')].map(box);
      const card = g.closest('.card');
      return { id: g.id, tops: [...new Set(labels.map((l) => Math.round(l.top)))].length,
               spills: !!card && labels.some((l) => l.right > box(card).right + 0.5) };
    }),
    scroll_width: document.documentElement.scrollWidth, window_width: window.innerWidth,
  };
}"""


def test_four_cards_sit_in_one_row_on_a_laptop_and_stack_on_a_phone(browser, four_card_app):
    url, _ = four_card_app
    # 1. Laptop: four cards side by side, every 1-5 row (and the best pick) on one line.
    page = log_in(browser, url, "phone", 1280, 900)
    layout = page.evaluate(LAYOUT_JS)
    assert len(layout["cards"]) == CARDS
    assert len({card["top"] for card in layout["cards"]}) == 1, layout["cards"]
    assert [g["id"] for g in layout["groups"] if g["tops"] != 1 or g["spills"]] == [], layout["groups"]
    assert layout["scroll_width"] <= layout["window_width"]
    screenshot(page, "annotate-four-candidates.png", full_page=True)
    # 2. Phone (the same page, narrowed): the cards stack at full width, nothing scrolls sideways.
    page.set_viewport_size({"width": 420, "height": 900})
    page.wait_for_function(
        "() => document.querySelector('#annotate-1-card').getBoundingClientRect().top > "
        "document.querySelector('#annotate-0-card').getBoundingClientRect().bottom"
    )
    layout = page.evaluate(LAYOUT_JS)
    tops = [card["top"] for card in layout["cards"]]
    assert tops == sorted(tops) and len(set(tops)) == CARDS, layout["cards"]
    assert len({card["left"] for card in layout["cards"]}) == 1
    scores = [g for g in layout["groups"] if g["id"] != "annotate-best"]  # four names may take two lines
    assert [g["id"] for g in scores if g["tops"] != 1 or g["spills"]] == [], layout["groups"]
    assert layout["scroll_width"] <= layout["window_width"], layout
    page.context.close()
