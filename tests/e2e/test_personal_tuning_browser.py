"""In headless Chromium on fake models: a person whose own ratings prefer a cooler temperature and
shorter answers finds the Text tab's temperature and max new tokens tuned for them (top-p, which
they never changed, is not), with one note naming both beside the parameters; "Use the defaults"
turns both off (kept across a reload), "Tune for me" back on, and a request stores the values it
used. Another browser on the same server is not tuned."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from feedback_db.schema import Request
from models.base import TextParams
from playground.core.secret_key import token_hash
from playground.services.identity import Viewer, find_viewer
from playground.web.guard import COOKIE_NAME
from tests.app.test_personal_defaults import rate_at
from tests.e2e.helpers import open_page, wait_done
from tests.fakes import FakeImageGenerator, FakeTextGenerator
from tests.launch import app_on

pytestmark = pytest.mark.e2e
GLOBAL = TextParams().temperature
GLOBAL_LENGTH = TextParams().max_new_tokens


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    with app_on(tmp_path_factory.mktemp("tuning"), FakeTextGenerator, FakeImageGenerator) as served:
        yield served


def browser_viewer(context, browser_context) -> Viewer:
    """The identity behind this browser's cookie (it exists once the browser has generated)."""
    token = next(c["value"] for c in browser_context.cookies() if c["name"] == COOKIE_NAME)
    viewer = find_viewer(context.database, token_hash(context.secret, "browser", token))
    assert viewer is not None
    return viewer


def temperature(page, slider: str = "text-temperature") -> float:
    """A parameter slider's value (its accordion opened first: it renders when opened)."""
    if not page.locator(f"#{slider} input[type=number]").is_visible():
        page.click("#text-parameters")
    return float(page.input_value(f"#{slider} input[type=number]"))


def length(page) -> float:
    return temperature(page, "text-max-tokens")


def note(page) -> str:
    return page.inner_text("#text-tuning-note")


@pytest.mark.parametrize(("width", "height"), [(1280, 900), (420, 900)])
def test_my_ratings_tune_my_temperature_and_i_can_turn_it_off(browser, served, width, height):
    url, context = served
    browser_context, page = open_page(browser, url, width, height)
    # 1. This browser generates once (its identity), then "rates" twelve answers at two temperatures.
    page.fill("#text-prompt textarea", "Hello there.")
    page.click("#text-generate")
    wait_done(page, "text-status")
    assert not page.locator("#text-tuning-note").is_visible()  # nothing learned yet: nothing said
    person = browser_viewer(context, browser_context)
    rate_at(context, person, 0.4, [5, 5, 4, 5, 4, 5], max_new_tokens=128)
    rate_at(context, person, 1.0, [2, 1, 2, 2, 1, 2], max_new_tokens=512)
    # 2. On the next load both knobs start from their own values, and the one note names both.
    page.reload()
    page.wait_for_selector("#text-tuning-note", state="visible")
    tuned = f"Tuned for you from 12 of your rated outputs: temperature 0.7 → 0.4, max new tokens {GLOBAL_LENGTH} → 128"
    assert tuned in note(page), note(page)
    assert (temperature(page), length(page)) == (0.4, 128)
    page.fill("#text-prompt textarea", "Tell me a story.")
    page.click("#text-generate")
    wait_done(page, "text-status")
    with context.database.read_sessions() as session:
        used = session.scalars(select(Request.parameters).where(Request.prompt == "Tell me a story.").order_by(Request.id.desc())).first()
    assert (used["temperature"], used["max_new_tokens"], used["top_p"]) == (0.4, 128, TextParams().top_p)
    # 3. "Use the defaults": everyone's values, kept across a reload; "Tune for me" undoes it.
    page.click("#text-use-defaults")
    page.wait_for_selector("#text-tune-for-me", state="visible")
    assert (temperature(page), length(page)) == (GLOBAL, GLOBAL_LENGTH) and "you use the defaults" in note(page)
    page.reload()
    page.wait_for_selector("#text-tune-for-me", state="visible")
    assert (temperature(page), length(page)) == (GLOBAL, GLOBAL_LENGTH)
    page.click("#text-tune-for-me")
    page.wait_for_selector("#text-use-defaults", state="visible")
    assert (temperature(page), length(page)) == (0.4, 128)
    # 4. Another browser is not tuned by this person's ratings.
    other_context, other = open_page(browser, url, width, height)
    other.wait_for_timeout(1000)  # the page's load events have run
    assert (temperature(other), length(other)) == (GLOBAL, GLOBAL_LENGTH) and not other.locator("#text-tuning-note").is_visible()
    other_context.close()
    browser_context.close()
