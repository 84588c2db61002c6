"""The Leaderboard tab in Chromium, as a new visitor reads it: a sentence that says what to do
before any vote (no empty tables), then, after votes, the forest plot with its caption, the votes
line with the votes left out, the raw / style-controlled toggle, a category, and no serious axe
violations in the tab.

The app serves fake generators (no model loads: the leaderboard reads only the database). The
style-controlled fit and the vote-hygiene counts are stood in for by wrapping the boards the page
reads, so the test checks what the page does with them.
"""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

import playground.services.standings as standings_service
from feedback_db.arena import Contestant
from playground.core.database import open_database
from playground.core.settings import Settings
from playground.serving.context import build_context
from tests.db.helpers import add_voted_battle
from tests.e2e.helpers import open_page
from tests.e2e.test_usability_browser import axe_script, serious_violations  # noqa: F401 - a fixture
from tests.fakes import FakeImageGenerator, FakeTextGenerator
from tests.launch import running_app

pytestmark = pytest.mark.e2e
LONG_PROMPT = "Write a long story about a dragon who learns to bake bread in a small village by the sea. " * 3


def styled(board):
    """The board with a style-controlled table (scores reversed) and hygiene counts."""
    if board.empty:
        return board
    table = board.table
    style = table.assign(score=table["score"][::-1].to_numpy(), rank_ub=table["rank_ub"][::-1].to_numpy())
    coefficients = pd.DataFrame(
        {"covariate": ["length", "bold_spans"], "value": [0.25, 0.02], "ci_low": [0.2, 0.0], "ci_high": [0.3, 0.04]}
    )
    return dataclasses.replace(board, style_table=style, coefficients=coefficients, excluded={"daily_cap": 3, "reveals_model": 1})


@pytest.fixture(scope="module")
def leaderboard_app(tmp_path_factory):
    settings = Settings(data_dir=tmp_path_factory.mktemp("leaderboard-e2e"), device="cpu")
    database = open_database(settings)
    context = build_context(settings, database, text_factory=FakeTextGenerator, image_factory=FakeImageGenerator)
    real = standings_service.board_of
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(standings_service, "board_of", lambda *args, **kwargs: styled(real(*args, **kwargs)))
        with running_app(context) as url:
            yield url, database
    database.engine.dispose()


def vote(database, side_a: Contestant, side_b: Contestant, outcome: str, prompt: str = "Say hi.") -> None:
    add_voted_battle(database, side_a, side_b, outcome, prompt=prompt)


def versions_column(page, column: int) -> list[str]:
    """The cells of one column (from 0) of the versions table, top to bottom."""
    cells = page.locator(f"#leaderboard-versions [role=gridcell][data-col='{column}']").all()
    return [cell.inner_text().strip() for cell in sorted(cells, key=lambda c: int(c.get_attribute("data-row")))]


def test_the_leaderboard_from_no_votes_to_plots_toggle_and_categories(browser, leaderboard_app, axe_script):  # noqa: F811
    url, database = leaderboard_app
    context, page = open_page(browser, url)
    page.get_by_role("tab", name="Leaderboard").click()
    # 1. No votes: a sentence that says what to do, no table, no picture.
    page.wait_for_function("() => (document.querySelector('#leaderboard-summary')?.innerText || '').includes('No votes yet')")
    assert "vote in the Arena tab" in page.inner_text("#leaderboard-summary")
    assert not page.locator("#leaderboard-versions").is_visible() and not page.locator("#leaderboard-forest").is_visible()
    assert "ci_low" not in page.inner_text("#tab-leaderboard")
    # 2. Votes arrive; a refresh shows the forest plot with its caption and the votes line.
    base, v1 = Contestant("base"), Contestant("v1")
    for outcome in ("a", "a", "a", "b", "tie"):
        vote(database, base, v1, outcome, "Say hi.")
    for _ in range(3):
        vote(database, base, v1, "b", LONG_PROMPT)
    page.click("#leaderboard-refresh")
    page.wait_for_selector("#leaderboard-forest img")
    assert "Forest plot" in page.inner_text("#leaderboard-forest-caption")
    assert page.inner_text("#leaderboard-votes").strip() == "12 votes; 4 not counted: 3 over the daily cap, 1 revealing the model."
    headers = page.inner_text("#leaderboard-versions thead")
    assert "Score (95% CI)" in headers and "Win rate (%)" in headers and "Rank (UB)" in headers and "ci_low" not in headers
    raw = versions_column(page, 1)
    assert sorted(raw) == ["base", "v1"]
    assert page.locator("#leaderboard-heatmap img").count() == 1 and page.locator("#leaderboard-votes-per-day img").count() == 1
    # 3. The toggle: style-controlled scores reorder the table and show the coefficients.
    page.locator("#leaderboard-style label").filter(has_text="Style-controlled").click()
    page.wait_for_function("() => document.querySelector('#leaderboard-coefficients')?.offsetParent !== null")
    page.wait_for_function(
        "first => document.querySelector(\"#leaderboard-versions [data-testid='cell-0-1']\")?.innerText.trim() !== first", arg=raw[0]
    )
    assert versions_column(page, 1) == raw[::-1]
    assert "Length" in page.inner_text("#leaderboard-coefficients")
    # 4. A category: long prompts only, with its own vote count.
    page.click("#leaderboard-category input")
    page.get_by_role("option", name="Long prompts, 250 characters or more (3 votes)").click()
    page.wait_for_function("() => (document.querySelector('#leaderboard-summary')?.innerText || '').includes('3 version battles')")
    wins = dict(zip(versions_column(page, 1), versions_column(page, 4), strict=True))
    assert wins == {"v1": "3", "base": "0"}
    assert "3 votes over 1 day" in page.inner_text("#leaderboard-votes-per-day-caption")
    assert "Text (8 votes)" in page.inner_text("#leaderboard-modality")
    # 5. axe: no serious violations in the tab.
    page.add_script_tag(path=str(axe_script))
    assert serious_violations(page, ["#tab-leaderboard"]) == []
    context.close()
