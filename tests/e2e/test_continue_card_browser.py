"""Continue under an answer cut at the length limit (the issue's "cut at the length limit ·
continue"), in Chromium on fake models, at laptop (1280x900) and phone (420x900) width: a cut
answer shows Continue, a finished one does not; Continue extends that card only - its old text
first, then the new words - and leaves the other cards and their ratings as they were; the
longer answer is a new output in the card's place with the old one's seed, and the old one keeps
its rating. After a reload the restored cut answers show Continue again. The cards pass axe-core.

The fake model answers "answer<i> to <prompt>" and continues with " more<i> about <prompt>", one
word a token, so 3 max new tokens cut every answer to its first 3 words."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from feedback_db.schema import Output, Rating, Request
from tests.e2e.helpers import open_page, pick, set_number, wait_done, wait_saved
from tests.e2e.test_usability_browser import axe_script, serious_violations  # noqa: F401 - a fixture
from tests.fakes import FakeImageGenerator, FakeTextGenerator
from tests.launch import app_on

pytestmark = [pytest.mark.e2e]
PROMPT = "Describe the sea."
CUT = ["answer0 to Describe", "answer1 to Describe"]
CONTINUED = "answer1 to Describe more0 about Describe"  # card 2, cut again at 3 more words
VISIBLE = "id => { const el = document.getElementById(id); return !!el && el.offsetParent !== null; }"


@pytest.fixture(scope="module")
def fake_app(tmp_path_factory):
    with app_on(tmp_path_factory.mktemp("continue-card"), FakeTextGenerator, FakeImageGenerator) as (url, context):
        yield url, context.database


def continue_shown(page, index: int) -> bool:
    return bool(page.evaluate(VISIBLE, f"text-{index}-continue"))


def outputs_of(database, prompt: str) -> list[Output]:
    with database.read_sessions() as session:
        request = session.scalars(select(Request).where(Request.prompt == prompt)).one()
        return list(session.scalars(select(Output).where(Output.request_id == request.id).order_by(Output.id)))


@pytest.mark.parametrize("width", [1280, 420])
def test_continue_extends_the_cut_card_only_and_keeps_the_others(browser, fake_app, axe_script, width):  # noqa: F811
    url, database = fake_app
    prompt = f"{PROMPT} {width}"
    cut = CUT  # the width is past the third word
    browser_context, page = open_page(browser, url, width=width)
    # 1. A finished answer offers no Continue.
    set_number(page, "text-n", 2)
    page.fill("#text-prompt textarea", "Hi.")
    page.click("#text-generate")
    wait_done(page, "text-status", timeout_ms=60_000)
    assert not continue_shown(page, 0) and "finished" in page.inner_text("#text-0-meta")
    # 2. Two answers cut at 3 tokens: both say so and offer Continue; each is rated.
    page.click("#text-parameters")
    set_number(page, "text-max-tokens", 3)
    page.fill("#text-prompt textarea", prompt)
    page.click("#text-generate")
    # The status still says Done for "Hi." until the new texts arrive with "Generating…".
    page.wait_for_function("t => document.querySelector('#text-0-output textarea')?.value === t", arg=cut[0])
    wait_done(page, "text-status", timeout_ms=60_000)
    assert [page.input_value(f"#text-{i}-output textarea") for i in range(2)] == cut
    assert all("cut at the length limit" in page.inner_text(f"#text-{i}-meta") for i in range(2))
    assert continue_shown(page, 0) and continue_shown(page, 1)
    for i, score in enumerate(("2", "4")):
        pick(page, f"text-{i}-naturalness", score)
        wait_saved(page, f"text-{i}-saved", f"naturalness {score}")
    page.add_script_tag(path=str(axe_script))
    bad = serious_violations(page)
    assert not bad, f"{width} px, Continue shown:\n" + "\n".join(bad)
    # 3. Continue under Candidate 2: that card grows from its old text; card 1 stays as it was.
    page.click("#text-1-continue")
    page.wait_for_function("() => document.querySelector('#text-status')?.innerText.includes('Candidate 2 continued')", timeout=60_000)
    assert page.input_value("#text-1-output textarea") == CONTINUED
    assert page.input_value("#text-0-output textarea") == cut[0]
    assert page.locator("#text-0-naturalness input[value='2']").is_checked() and continue_shown(page, 0)
    assert page.locator("#text-1-naturalness input:checked").count() == 0
    assert not page.locator("#text-1-naturalness input").first.is_disabled()  # ratable at once
    assert "6 tokens" in page.inner_text("#text-1-meta") and continue_shown(page, 1)  # cut again: Continue again
    # 4. The database: a new output in card 2's place with its seed; the old one keeps its rating.
    first, old, new = outputs_of(database, prompt)
    assert (new.replaces_output_id, new.seed, new.text, first.text) == (old.id, old.seed, CONTINUED, cut[0])
    with database.read_sessions() as session:
        assert session.scalar(select(Rating.naturalness).where(Rating.output_id == old.id)) == 4
    pick(page, "text-1-naturalness", "5")
    wait_saved(page, "text-1-saved", "naturalness 5")
    with database.read_sessions() as session:
        assert session.scalar(select(Rating.naturalness).where(Rating.output_id == new.id)) == 5
    # 5. After a reload, the restored cut answers offer Continue again.
    page.reload()
    page.wait_for_function("t => document.querySelector('#text-1-output textarea')?.value === t", arg=CONTINUED)
    page.wait_for_function(VISIBLE, arg="text-1-continue")
    assert continue_shown(page, 0)
    browser_context.close()
