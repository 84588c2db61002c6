"""The leaderboard as people read it (playground/services/standings.py, categories.py,
standings_figures.py): words for columns, "too few votes", Rank(UB), the votes line, categories,
the style toggle, the empty states, and the report showing the page's figures."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pandas as pd
import pytest

from feedback_db.arena import Contestant
from feedback_db.leaderboard import compute_leaderboard, rank_upper_bound
from playground.core.database import open_database
from playground.core.settings import Settings
from playground.services.categories import ALL, TopicModel, length_bucket, topic_name
from playground.services.report import build_report
from playground.services.standings import (
    NO_PRESET_BATTLES,
    NO_VOTES,
    TOO_FEW_VOTES,
    interval_words,
    read_standings,
    standings_view,
    version_rows,
    votes_line,
)
from playground.services.standings_figures import captions, standings_figures
from tests.db.helpers import add_voted_battle

INTERNAL_NAMES = {"ci_low", "ci_high", "both_bad", "win_rate", "model_version", "contestant", "rank_ub"}
LONG_PROMPT = "Write a long story about a dragon who learns to bake bread in a small village by the sea. " * 3


@pytest.fixture
def database(tmp_path):
    settings = Settings(data_dir=tmp_path / "data", device="cpu")
    database = open_database(settings)
    yield database
    database.engine.dispose()


def vote(database, side_a: Contestant, side_b: Contestant, outcome: str, prompt: str = "Say hi.") -> None:
    add_voted_battle(database, side_a, side_b, outcome, prompt=prompt)


def some_votes(database) -> None:
    """Six version battles (base wins 4 of the short-prompt ones; v1 wins the long ones) and one preset battle."""
    base, v1 = Contestant("base"), Contestant("v1")
    for outcome in ("a", "a", "a", "b"):
        vote(database, base, v1, outcome)
    for _ in range(2):
        vote(database, base, v1, "b", prompt=LONG_PROMPT)
    vote(database, Contestant("v1", "temperature=0.7"), Contestant("v1", "temperature=1.0"), "a")


def frame(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["contestant_a", "contestant_b", "outcome"])


def test_rank_ub_counts_the_versions_whose_whole_interval_lies_above():
    low = np.array([1050.0, 990.0, 960.0, 850.0, np.nan])
    high = np.array([1150.0, 1120.0, 1040.0, 940.0, np.nan])
    # The second overlaps the first; the third lies below the first only; the fourth below all
    # three; the fifth has no interval (too few votes): no rank, and never above another.
    assert rank_upper_bound(low, high).tolist() == [1, 1, 2, 4, pd.NA]
    board = compute_leaderboard(frame([("a", "b", "a")] * 30 + [("b", "c", "a")] * 30 + [("a", "c", "tie")] * 2), rounds=50)
    assert board.table["rank_ub"].tolist()[0] == 1 and board.counted_votes == 62


def test_intervals_that_say_nothing_read_too_few_votes():
    assert interval_words(1016.4, 982.0, 1050.2) == "1016 (982 – 1050)"
    assert interval_words(1456.0, 1456.0, 1456.0) == f"1456 ({TOO_FEW_VOTES})"  # a bootstrap of one battle
    assert interval_words(1000.0, np.nan, np.nan) == f"1000 ({TOO_FEW_VOTES})"
    assert interval_words(1016.0, 982.0, 1050.0, too_few=True) == f"1016 ({TOO_FEW_VOTES})"


def test_the_table_has_columns_in_words_and_units():
    board = compute_leaderboard(frame([("v1", "v2", "a")] * 3 + [("v1", "v2", "both_bad")]), rounds=20)
    rows = version_rows(board)
    assert list(rows.columns) == ["Rank (UB)", "Version", "Score (95% CI)", "Battles", "Wins", "Losses", "Ties", "Both bad", "Win rate (%)"]
    assert not INTERNAL_NAMES & set(rows.columns)
    assert rows.loc[0, "Version"] == "v1" and rows.loc[0, "Win rate (%)"] == "100.0" and rows.loc[0, "Both bad"] == 1


def test_the_votes_line_counts_what_was_left_out_and_why():
    board = dataclasses.replace(
        compute_leaderboard(frame([("v1", "v2", "a")]), rounds=0),
        counted_votes=1_167,
        excluded={"daily_cap": 21, "outlier_voters": 12, "reveals_model": 4},
    )
    line = votes_line(board)
    assert line == "1,204 votes; 37 not counted: 21 over the daily cap, 12 from outlier voters, 4 revealing the model."
    assert votes_line(compute_leaderboard(frame([("v1", "v2", "a")]), rounds=0)) == "1 vote, all counted."
    assert votes_line(compute_leaderboard(frame([]), rounds=0)) == ""


def test_an_empty_database_says_what_to_do_and_shows_no_tables(database):
    standings = read_standings(database, "text", rounds=0)
    view = standings_view(standings)
    assert view.summary == NO_VOTES and "Arena" in view.summary
    assert view.versions.empty and view.presets.empty and view.ratings.empty and view.pairwise.empty
    assert view.presets_note == NO_PRESET_BATTLES and view.versions_note and view.ratings_note
    assert view.votes_line == "" and not view.style_available
    assert standings_figures(standings) == {}


def test_the_page_view_of_some_votes(database):
    some_votes(database)
    standings = read_standings(database, "text", rounds=30)
    view = standings_view(standings)
    # 1. One summary line with the right grammar, and the votes line over both kinds of battle.
    assert "**6 version battles**" in view.summary and "1 preset battle" in view.summary and "1 preset battles" not in view.summary
    assert view.votes_line == "7 votes, all counted."
    # 2. Tables in words; the pairwise table in percent.
    assert set(view.versions["Version"]) == {"base", "v1"} and view.versions_note == ""
    assert view.presets.columns[1] == "Preset" and len(view.presets) == 2
    assert view.pairwise.iloc[0, 0] == "base" and "50.0" in view.pairwise.to_string()
    # 3. The three pictures, each with words for those who cannot see it.
    figures = standings_figures(standings)
    assert set(figures) == {"forest", "heatmap", "votes-per-day"} == set(captions(standings))
    assert "7 votes over 1 day" in captions(standings)["votes-per-day"]
    assert len(figures["forest"].axes[0].get_yticklabels()) == 2


def test_categories_each_have_their_own_votes_and_board(database):
    some_votes(database)
    standings = read_standings(database, "text", rounds=0)
    votes = {c.key: c.votes for c in standings.categories}
    assert votes == {ALL: 7, "length:short": 5, "length:medium": 0, "length:long": 2}
    long = read_standings(database, "text", rounds=0, category="length:long")
    assert long.board.table.set_index("contestant").loc["v1", "wins"] == 2 and long.presets.empty
    assert "**2 version battles**" in standings_view(long).summary
    medium = standings_view(read_standings(database, "text", rounds=0, category="length:medium"))
    assert medium.summary.startswith("No votes in this category yet")
    with pytest.raises(ValueError, match="unknown leaderboard category"):
        read_standings(database, "text", rounds=0, category="length:huge")


def test_topics_group_prompts_by_their_vectors_and_are_named_by_shared_words():
    cooking = [f"How do I cook {food} pasta for dinner?" for food in ("red", "green", "fresh", "baked", "creamy", "spicy")]
    space = [f"Tell me about the {thing} planet orbit in space" for thing in ("red", "ringed", "largest", "hot", "cold", "small")]

    def embed(texts):  # two clearly separated directions, one per theme
        return np.array([[1.0, 0.01 * i] if "cook" in t else [0.0, 1.0 + 0.01 * i] for i, t in enumerate(texts)])

    topic_of, names = TopicModel(embed).topics(cooking + space)
    assert len(set(topic_of.values())) == 2
    assert len({topic_of[p] for p in cooking}) == 1 and len({topic_of[p] for p in space}) == 1
    assert set(names.values()) == {topic_name(cooking), topic_name(space)}
    # Words that tie on count keep the order they are written in: the same name on every start
    # (a set's order would follow the interpreter's hash seed).
    assert sorted(names.values()) == ["cook, pasta, dinner", "tell, planet, orbit"]
    assert "pasta" in topic_name(cooking) and "red" not in topic_name(cooking)  # a word of one prompt never names a topic
    assert TopicModel(embed).topics(cooking[:3]) == ({}, {})  # too few prompts: no topics
    assert [length_bucket(p) for p in ("Hi", "x" * 100, "x" * 300)] == ["short", "medium", "long"]


def test_the_style_toggle_shows_the_style_controlled_table_only_where_fitted(database):
    some_votes(database)
    fitted_by_reading = read_standings(database, "text", rounds=0)
    # Not fitted (image battles, or no style features): the raw table, no toggle, no coefficients.
    standings = dataclasses.replace(
        fitted_by_reading, board=dataclasses.replace(fitted_by_reading.board, style_table=None, coefficients=None)
    )
    raw = standings_view(standings, style=True)
    assert not raw.style_available and raw.coefficients.empty
    table = standings.board.table  # a style-controlled table as a fit could give it: the order reversed
    styled_table = table.assign(score=table["score"][::-1].to_numpy() + [10, -10], rank_ub=[2, 1])
    coefficients = pd.DataFrame({"covariate": ["length"], "value": [0.25], "ci_low": [0.2], "ci_high": [0.3]})
    fitted = dataclasses.replace(standings, board=dataclasses.replace(standings.board, style_table=styled_table, coefficients=coefficients))
    styled = standings_view(fitted, style=True)
    assert styled.style_available and styled.versions["Version"].tolist() != raw.versions["Version"].tolist()
    assert styled.coefficients.to_dict("records") == [{"Style feature": "Length", "Effect (95% CI)": "0.250 (0.200 – 0.300)"}]
    assert "style-controlled" in standings_figures(fitted, style=True)["forest"].axes[0].get_title()


def test_the_report_shows_the_same_figures_as_the_page(database, tmp_path):
    some_votes(database)
    settings = Settings(data_dir=tmp_path / "data", device="cpu")
    page = standings_view(read_standings(database, "text", rounds=25))
    report = build_report(database, settings, modalities=("text",), since=None, rounds=25)
    markdown = report.markdown
    # 1. Every row of the page's versions, presets and pairwise tables is a row of the report, cell for cell.
    rows = {tuple(cell.strip() for cell in line.strip("|").split(" | ")) for line in markdown.splitlines() if line.startswith("| ")}
    for table in (page.versions, page.presets, page.pairwise, page.ratings):
        for record in table.itertuples(index=False):
            assert tuple(str(v) for v in record) in rows, record
    # 2. The same sentences and pictures.
    assert page.summary in markdown and page.votes_line in markdown
    assert {"text-arena-forest.png", "text-arena-heatmap.png", "text-arena-votes-per-day.png"} <= set(report.figures)
    assert re.search(r"### Category: Long prompts, 250 characters or more \(2 votes\)", markdown)
