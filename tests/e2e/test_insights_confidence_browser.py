"""Insights' "Token confidence and ratings" in Chromium, on a database seeded with rated outputs
whose reliability rises with their confidence (plus older outputs without any): the decile table
shows the least sure outputs first and less reliable, a version with too few says so, and the
open accordion passes the accessibility audit."""

from __future__ import annotations

import pytest

from feedback_db.users import create_user
from tests.db.test_token_confidence import seed_confidence_and_ratings
from tests.e2e.helpers import open_page
from tests.e2e.test_insights_browser import PASSWORD, open_insights, text_of
from tests.e2e.test_usability_browser import axe_script, serious_violations  # noqa: F401 - a fixture

pytestmark = [pytest.mark.e2e, pytest.mark.real_model]

# The table's rows as the page shows them (Gradio's virtual rows): each cell's text.
ROWS_JS = """id => [...document.querySelectorAll('#' + id + ' .virtual-row')].map(
    row => [...row.querySelectorAll('[role=gridcell]')].map(cell => cell.innerText.trim()))"""
HEADERS_JS = """id => [...document.querySelectorAll('#' + id + ' thead th')].map(th => th.innerText.trim()).filter(Boolean)"""


@pytest.fixture(scope="module")
def seeded(live_app):
    with live_app[1].sessions.begin() as session:
        create_user(session, name="ada", role="admin", password=PASSWORD)
        seed_confidence_and_ratings(session, version="text-v1", outputs=60)
        seed_confidence_and_ratings(session, version="text-v2", outputs=7, older=2)
    return "ada"


def test_the_confidence_accordion_shows_deciles_and_what_waits(browser, live_app, seeded, axe_script):  # noqa: F811
    context, page = open_page(browser, live_app[0])
    open_insights(page, seeded)
    # 1. Open the accordion: the version still waiting says how many it has.
    page.click("#insights-confidence button, #insights-confidence .label-wrap")
    message = text_of(page, "#insights-confidence-message", "not enough")
    assert "text-v2: not enough rated outputs with confidence yet (7 of 50 needed; 9 rated outputs in all)" in message
    # 2. Ten deciles of the measured version, least sure first and less reliable.
    page.wait_for_function("id => document.querySelectorAll('#' + id + ' .virtual-row').length >= 10", arg="insights-confidence-deciles")
    headers = page.evaluate(HEADERS_JS, "insights-confidence-deciles")
    rows = page.evaluate(ROWS_JS, "insights-confidence-deciles")
    assert headers[:4] == ["Version", "Decile", "Mean confidence", "Outputs"], headers
    reliability, share = headers.index("Reliability"), headers.index("Flagged or wrong")
    assert [row[1] for row in rows] == [str(k) for k in range(1, 11)], rows
    assert float(rows[0][reliability]) < float(rows[-1][reliability]), rows
    assert (rows[0][share], rows[-1][share]) == ("100%", "0%"), rows
    correlation = page.evaluate(ROWS_JS, "insights-confidence-correlation")
    assert correlation[0][:2] == ["text-v1", "reliability"] and float(correlation[0][3]) > 0.8, correlation
    assert correlation[0][4] == "< 0.001" and correlation[1][3:] == ["n/a", "n/a"], correlation  # naturalness: all 4
    # 3. The open section passes the accessibility audit.
    page.add_script_tag(path=str(axe_script))
    bad = serious_violations(page)
    assert not bad, "Insights with the confidence section open:\n" + "\n".join(bad)
    context.close()
