"""Insights' "Feedback drift" in Chromium, for an admin: a database whose prompts moved from
cooking to space in the last week (no version trained yet) and whose flags rose shows the
sentence naming what moved, the measures against their thresholds, the topic shares and the
weekly means, with the real MiniLM encoder."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from feedback_db.users import create_user
from tests.db.helpers import add_rater
from tests.db.test_feedback_drift import COOKING, SPACE, seed
from tests.e2e.helpers import open_page
from tests.e2e.test_insights_browser import MARKS_JS, PASSWORD, open_insights, text_of
from tests.e2e.test_insights_confidence_browser import HEADERS_JS, ROWS_JS

pytestmark = [pytest.mark.e2e, pytest.mark.real_model]


@pytest.fixture(scope="module")
def drifted(live_app):
    now = datetime.now(UTC)
    with live_app[1].sessions.begin() as session:
        create_user(session, name="ada", role="admin", password=PASSWORD)
        rater = add_rater(session, "drift-rater")
        seed(session, COOKING * 5, now - timedelta(days=20), rater)
        seed(session, SPACE * 5, now - timedelta(days=2), rater, flag_every=3)
    return "ada"


def test_the_drift_section_says_what_moved_for_an_admin(browser, live_app, drifted):
    context, page = open_page(browser, live_app[0])
    open_insights(page, drifted)
    page.click("#insights-drift button, #insights-drift .label-wrap")
    # 1. The sentence: moved, against the last days (no trained version), naming the prompt mix and flags.
    message = text_of(page, "#insights-drift-message", "moved")
    assert message.startswith("Feedback has moved against the feedback before"), message
    assert "no version trained yet" in message and "prompt mix (embedding distance)" in message and "flagged share" in message
    # 2. The measures table: one row per measure, the prompt mix past its threshold.
    page.wait_for_function("id => document.querySelectorAll('#' + id + ' .virtual-row').length >= 6", arg="insights-drift-measures")
    headers = page.evaluate(HEADERS_JS, "insights-drift-measures")
    rows = {row[0]: dict(zip(headers, row, strict=False)) for row in page.evaluate(ROWS_JS, "insights-drift-measures")}
    assert rows["prompt mix (embedding distance)"]["Moved"] == "yes" and rows["reliability mean"]["Moved"] == "no", rows
    assert rows["flagged share"]["Then / now count"] == "35 / 47", rows
    # 3. Topic shares and the weekly means draw.
    topics = page.evaluate(ROWS_JS, "insights-drift-topics")
    assert len(topics) >= 2 and {row[2] for row in topics} >= {"0%"}, topics
    page.wait_for_function(f"() => ({MARKS_JS})(['insights-drift-weekly'])['insights-drift-weekly'] > 0")
    context.close()
