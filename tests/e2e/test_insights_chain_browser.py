"""Insights' "Versions along the chain" in Chromium, on a database seeded with five text versions
whose runs carry held-out figures, with and without capability figures: the words say what drifted,
the table shows each version's parent and figures ("-" where a run measured none), the plot draws,
and the section passes the accessibility audit."""

from __future__ import annotations

import pytest

from feedback_db.users import create_user
from tests.db.test_version_chain import CHAIN, seed_chain
from tests.e2e.helpers import open_page
from tests.e2e.test_insights_browser import PASSWORD, open_insights, text_of
from tests.e2e.test_insights_confidence_browser import HEADERS_JS, ROWS_JS
from tests.e2e.test_usability_browser import axe_script, serious_violations  # noqa: F401 - a fixture

pytestmark = [pytest.mark.e2e, pytest.mark.real_model]


@pytest.fixture(scope="module")
def seeded(live_app):
    seed_chain(live_app[1])
    with live_app[1].sessions.begin() as session:
        create_user(session, name="ada", role="admin", password=PASSWORD)
    return "ada"


def test_the_chain_section_shows_the_table_the_plot_and_what_drifted(browser, live_app, seeded, axe_script):  # noqa: F811
    context, page = open_page(browser, live_app[0])
    open_insights(page, seeded)
    # 1. The words: the outcomes, and where the served chain stands against the base model.
    message = text_of(page, "#insights-chain-message", "along the chain")
    assert "5 versions along the chain (2 promoted, 2 refused, 1 waiting)" in message, message
    assert "exact answers: base 0.620; latest served text-v2 0.600" in message, message
    # 2. The table: one row per version, its parent, held-out wins and capability figures.
    page.wait_for_function("id => document.querySelectorAll('#' + id + ' .virtual-row').length >= 5", arg="insights-chain-table")
    headers = page.evaluate(HEADERS_JS, "insights-chain-table")
    assert headers[:3] == ["version", "parent", "status"] and headers[-3:] == ["reference loglik", "exact answers", "forgets"], headers
    rows = {row[0]: row for row in page.evaluate(ROWS_JS, "insights-chain-table")}
    assert list(rows) == list(CHAIN), rows
    exact = headers.index("exact answers")
    assert rows["text-v2"][1] == "text-v1" and rows["text-v2"][exact] == "0.600 (0.620)", rows["text-v2"]
    assert rows["text-v1"][exact] == "-" and rows["text-v3"][-1] == "exact answers", rows
    # 3. The plot is drawn.
    page.wait_for_selector("#insights-chain-plot img")
    # 4. The section passes the accessibility audit (its own part: with no ratings, the score plots
    # above are empty Vega frames, which axe flags whatever this section shows).
    page.add_script_tag(path=str(axe_script))
    bad = serious_violations(page, ["#insights-chain"])
    assert not bad, "Insights with the chain section:\n" + "\n".join(bad)
    context.close()
