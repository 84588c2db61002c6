"""The words the page counts and dates feedback with, below the browser: the footer, Your ratings
and Insights name the same counts the same way, counts agree in number, and tables show short
dates (the browser run is tests/e2e/test_insights_browser.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pandas as pd

from feedback_db.activity import FeedbackCounts
from playground.services.insights import Insights
from playground.services.my_ratings import MyRatings
from playground.services.personal_insights import PersonalFigures
from playground.web.ui.insights import EMPTY, FLAGGED_COLUMNS, NO_PERSONAL, flagged_table, insights_message, personal_markdown
from playground.web.ui.my_ratings import NOTHING_YET, summary_line
from playground.web.ui.wording import counts_words, short_time

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


def figures(counts: FeedbackCounts, versions: list[str], modality: str = "text") -> Insights:
    """Insights with only what the message reads: counts, and latency rows naming the versions."""
    latency = pd.DataFrame({"model_version": versions, "quantile": "p50", "latency_s": 0.1, "bar": versions})
    empty = pd.DataFrame()
    scores = pd.DataFrame({"count": [counts.scores]}) if counts.scores else empty
    return Insights(modality, counts, scores, empty, empty, latency, empty, empty, empty)


def test_counts_agree_in_number():
    assert counts_words(FeedbackCounts(rated_outputs=1, scores=1)) == "1 rated output, 1 score"
    assert counts_words(FeedbackCounts(rated_outputs=2, scores=4)) == "2 rated outputs, 4 scores"
    assert counts_words(FeedbackCounts(rated_outputs=0, scores=0)) == "0 rated outputs, 0 scores"


def test_a_short_date_in_utc_with_the_year_only_when_it_is_not_this_one():
    assert short_time(datetime(2026, 12, 2, 16, 7, 37, 932745, tzinfo=UTC), now=NOW) == "2 Dec 16:07"
    assert short_time(datetime(2025, 3, 14, 8, 5), now=NOW) == "14 Mar 2025 08:05"  # SQLite's naive UTC
    paris = timezone(timedelta(hours=1))
    assert short_time(datetime(2026, 12, 2, 17, 7, tzinfo=paris), now=NOW) == "2 Dec 16:07"
    assert short_time(pd.Timestamp("2026-12-02 16:07:37.932745+00:00"), now=NOW) == "2 Dec 16:07"


def test_your_ratings_and_insights_use_the_footers_words():
    counts = FeedbackCounts(rated_outputs=2, scores=4)
    mine = summary_line(MyRatings(counts, votes=1, table=pd.DataFrame()))
    assert mine == "From this browser: **2 rated outputs, 4 scores** and **1 arena vote**."
    assert summary_line(MyRatings(FeedbackCounts(0, 0), votes=0, table=pd.DataFrame())) == NOTHING_YET
    assert insights_message(figures(counts, ["base"])) == "Text: 2 rated outputs, 4 scores · 1 version with outputs."
    assert "2 versions" in insights_message(figures(counts, ["base", "text-v1", "base"]))


def test_insights_say_why_the_score_plots_are_empty():
    assert insights_message(figures(FeedbackCounts(0, 0), [])) == EMPTY
    message = insights_message(figures(FeedbackCounts(1, 0), ["base"]))  # a thumb, no score yet
    assert message.startswith("Text: 1 rated output, no scores yet") and "1 version with outputs" in message


def test_the_flagged_table_has_readable_headers_and_short_dates():
    flagged = pd.DataFrame(
        {
            "output_id": [7],
            "model_version": ["base"],
            "prompt": ["Say hi"],
            "output": ["hi"],
            "reason": ["harmful"],
            "comments": [""],
            "flagged_at": [pd.Timestamp(datetime.now(UTC).replace(month=12, day=2, hour=16, minute=7))],
        }
    )
    table = flagged_table(flagged)
    assert list(table.value["headers"]) == list(FLAGGED_COLUMNS.values())
    assert table.value["data"][0][-1] == "2 Dec 16:07"
    assert len(table.column_widths or []) == len(FLAGGED_COLUMNS)
    assert flagged_table(flagged.iloc[0:0]).value["data"] == [["None flagged."]]


def test_the_personal_section_counts_and_says_when_there_is_nothing_yet():
    assert personal_markdown(PersonalFigures()).endswith(NO_PERSONAL)
    one = personal_markdown(PersonalFigures(identities=1, runs={"promoted": 1, "running": 1}, mean_rated_outputs=41.6))
    assert "**1 identity** served a personal version now" in one and "per active personal version: 42" in one
    assert "1 promoted · 0 rejected · 0 insufficient evidence · 0 skipped · 0 failed · 1 running" in one
    assert "no ranked votes against the global version yet" in one
