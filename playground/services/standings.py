"""The leaderboard as people read it: one code path for the Leaderboard tab and `playground report`.

`read_standings` reads a modality's boards (feedback_db.standings) for one category
(playground/services/categories.py); `standings_view` turns them into the tables, sentences and
figures both show, with columns in words ("Score (95% CI)", "Win rate (%)"), "too few votes"
where an interval says nothing, and a sentence that says what to do where a table would be empty.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from feedback_db.arena import battles_frame
from feedback_db.hygiene import VoteHygiene
from feedback_db.leaderboard import DEFAULT_ROUNDS, Leaderboard
from feedback_db.standings import board_of, version_rating_means
from playground.core.database import Database
from playground.services.categories import ALL, Category, TopicModel, categories, in_category, with_categories

TOO_FEW_VOTES = "too few votes"
TOO_FEW_RATINGS = "too few ratings"
NO_VOTES = "No votes yet: vote in the **Arena** tab, then come back here."
NO_CATEGORY_VOTES = "No votes in this category yet: pick **All prompts** or vote in the **Arena** tab."
NO_VERSION_BATTLES = (
    "No battles between versions yet: they start once a modality has a second version (after a retrain); "
    "until then the Arena compares sampling presets."
)
NO_PRESET_BATTLES = "No preset battles yet: while a modality has a single version, the **Arena** compares its sampling presets."
NO_RATINGS = "No ratings yet: rate answers in the **Text** or **Image** tab."
MEASURES = {"naturalness": "Naturalness", "reliability": "Reliability", "diversity": "Diversity (of a set)"}
# How the page names each vote-hygiene rule (feedback_db.leaderboard.Leaderboard.excluded).
RULE_WORDS = {
    "daily_cap": "over the daily cap",
    "outlier": "from outlier voters",
    "outlier_voters": "from outlier voters",
    "reveals_model": "revealing the model",
    "revealing": "revealing the model",
    "repeated_prompt": "down-weighted repeated prompts",
    "duplicate_prompt": "down-weighted repeated prompts",
}


@dataclass(frozen=True)
class Standings:
    """A modality's leaderboards for one category, as read."""

    modality: str
    category: Category
    categories: list[Category]
    board: Leaderboard  # versions against each other
    presets: Leaderboard  # sampling presets of one version
    means: pd.DataFrame  # feedback_db.leaderboard.rating_means
    votes_per_day: pd.DataFrame  # day, votes: the category's votes (both kinds of battle)
    modality_votes: dict[str, int]  # votes per modality, for the modality picker


@dataclass(frozen=True)
class StandingsView:
    """What the page and the report show."""

    summary: str  # one line; a sentence that says what to do when there are no votes
    votes_line: str  # "1,204 votes; 37 not counted: ..." ('' without votes)
    versions: pd.DataFrame  # words for columns; empty -> versions_note says why
    versions_note: str
    pairwise: pd.DataFrame  # "Version" then one column per opponent, win rate in %
    presets: pd.DataFrame
    presets_note: str
    ratings: pd.DataFrame
    ratings_note: str
    coefficients: pd.DataFrame  # empty when style control was not fitted
    style_available: bool


def read_standings(
    database: Database,
    modality: str,
    *,
    since: datetime | None = None,
    rounds: int = DEFAULT_ROUNDS,
    category: str = ALL,
    topics: TopicModel | None = None,
    hygiene: VoteHygiene | None = None,
) -> Standings:
    """The boards of `modality` over the battles of `category` (a key of `categories`), their
    votes filtered by `hygiene` first (feedback_db/hygiene.py; None: every vote counts)."""
    with database.read_sessions() as session:
        # 1. The voted battles, each with its length bucket and topic.
        every = battles_frame(session, since=since)
        battles, names = with_categories(every[every["modality"] == modality], topics)
        choices = categories(battles, names)
        chosen = next((c for c in choices if c.key == category), None)
        if chosen is None:
            raise ValueError(f"unknown leaderboard category {category!r}")
        # 2. The boards over that category's battles (from the frame read above: reading and
        #    parsing the votes again per board cost more than the fits), and the ratings (not
        #    split by category).
        ids = None if category == ALL else set(in_category(battles, category)["battle_id"])
        board = board_of(battles, "versions", rounds=rounds, hygiene=hygiene, battle_ids=ids)
        presets = board_of(battles, "presets", rounds=rounds, hygiene=hygiene, battle_ids=ids)
        means = version_rating_means(session, modality=modality, since=since)
    per_modality = {str(name): int(count) for name, count in every["modality"].value_counts().items()}
    return Standings(modality, chosen, choices, board, presets, means, _per_day(in_category(battles, category)), per_modality)


def _per_day(battles: pd.DataFrame) -> pd.DataFrame:
    if battles.empty:
        return pd.DataFrame({"day": pd.Series(dtype=str), "votes": pd.Series(dtype=int)})
    days = battles["voted_at"].dt.strftime("%Y-%m-%d")
    return days.value_counts().sort_index().rename_axis("day").reset_index(name="votes")


def standings_view(standings: Standings, *, style: bool = False) -> StandingsView:
    """Tables and sentences of `standings`; `style`: the style-controlled scores where fitted."""
    board, presets = standings.board, standings.presets
    style_available = board.style_table is not None
    category_empty = standings.category.votes == 0
    return StandingsView(
        summary=summary_line(standings),
        votes_line=votes_line(board, presets),
        versions=version_rows(board, style=style and style_available),
        versions_note=""
        if not board.empty
        else (NO_CATEGORY_VOTES if category_empty and standings.category.key != ALL else NO_VERSION_BATTLES),
        pairwise=pairwise_rows(board),
        presets=version_rows(presets, contestant="Preset"),
        presets_note="" if not presets.empty else NO_PRESET_BATTLES,
        ratings=rating_rows(standings.means),
        ratings_note="" if not standings.means.empty else NO_RATINGS,
        coefficients=coefficient_rows(board.coefficients),
        style_available=style_available,
    )


def summary_line(standings: Standings) -> str:
    board, presets = standings.board, standings.presets
    if standings.categories[0].votes == 0:
        return NO_VOTES
    if board.empty and presets.empty:
        return NO_CATEGORY_VOTES
    parts = []
    if not board.empty:
        leaders = board.table.loc[board.table["rank_ub"].eq(1).fillna(False).astype(bool), "contestant"].tolist()
        lead = (
            "leading: " + ", ".join(f"`{name}`" for name in leaders) + (" (tied within their 95% CIs)" if len(leaders) > 1 else "")
            if leaders
            # No version has a CI yet, so none has a rank: say who is ahead on points, and that it is early.
            else f"too few votes to rank the versions yet (ahead so far: `{board.table.iloc[0]['contestant']}`)"
        )
        parts.append(f"**{plural(_battles(board), 'version battle')}**; {lead}")
    if not presets.empty:
        parts.append(plural(_battles(presets), "preset battle"))
    return " · ".join(parts)


def _battles(board: Leaderboard) -> int:
    return int(board.table["battles"].sum() // 2)  # each battle counts for both its contestants


def plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def votes_line(*boards: Leaderboard) -> str:
    """ "1,204 votes; 37 not counted: 21 over the daily cap, 12 from outlier voters" over `boards`."""
    counted = sum(b.counted_votes for b in boards)
    excluded: dict[str, int] = {}
    for board in boards:
        for rule, count in board.excluded.items():
            excluded[rule] = excluded.get(rule, 0) + count
    left_out = sum(excluded.values())
    if counted + left_out == 0:
        return ""
    if left_out == 0:
        return f"{plural(counted + left_out, 'vote')}, all counted."
    reasons = ", ".join(f"{count:,} {RULE_WORDS.get(rule, rule.replace('_', ' '))}" for rule, count in excluded.items() if count)
    return f"{plural(counted + left_out, 'vote')}; {left_out:,} not counted: {reasons}."


def interval_words(score: float, low: float, high: float, *, digits: int = 0, too_few: bool = False, words: str = TOO_FEW_VOTES) -> str:
    """ "1016 (982 – 1050)", or "1016 (too few votes)" for a missing or zero-width interval."""
    if pd.isna(score):
        return words
    point = f"{score:.{digits}f}"
    if too_few or pd.isna(low) or pd.isna(high) or round(high - low, digits) <= 0:
        return f"{point} ({words})"
    return f"{point} ({low:.{digits}f} – {high:.{digits}f})"


def version_rows(board: Leaderboard, *, style: bool = False, contestant: str = "Version") -> pd.DataFrame:
    """The leaderboard table in words, ranked by Rank(UB) then score."""
    table = board.style_table if style and board.style_table is not None else board.table
    if table.empty:
        return pd.DataFrame()
    too_few = table["too_few"]
    rows = pd.DataFrame(
        {
            "Rank (UB)": ["–" if pd.isna(rank) else str(int(rank)) for rank in table["rank_ub"]],  # no CI: no rank
            contestant: table["contestant"],
            "Score (95% CI)": [
                interval_words(s, lo, hi, too_few=bool(few))
                for s, lo, hi, few in zip(table["score"], table["ci_low"], table["ci_high"], too_few, strict=True)
            ],
            "Battles": table["battles"].astype(int),
            "Wins": table["wins"].astype(int),
            "Losses": table["losses"].astype(int),
            "Ties": table["ties"].astype(int),
            "Both bad": table["both_bad"].astype(int),
            "Win rate (%)": ["–" if pd.isna(r) else f"{100 * r:.1f}" for r in table["win_rate"]],
        }
    )
    unranked_last = table["rank_ub"].astype("Float64").fillna(len(table) + 1).to_numpy(dtype=float)
    order = np.lexsort((-table["score"].to_numpy(dtype=float), unranked_last))
    return rows.iloc[order].reset_index(drop=True)


def pairwise_rows(board: Leaderboard) -> pd.DataFrame:
    """Win rate (%) of the row's version against the column's ('–' where they never met)."""
    if board.pairwise.empty:
        return pd.DataFrame()
    cells = (100 * board.pairwise).map(lambda v: "–" if pd.isna(v) else f"{v:.1f}")
    return cells.rename_axis("Version (row) beats (column), %").reset_index()


def rating_rows(means: pd.DataFrame) -> pd.DataFrame:
    """Mean ratings per version on the 1-5 scale, with their 95% CIs in words."""
    if means.empty:
        return pd.DataFrame()
    too_few = means["too_few"]
    return pd.DataFrame(
        {
            "Version": means["model_version"],
            "Measure": means["axis"].map(MEASURES).fillna(means["axis"]),
            "Mean, 1–5 (95% CI)": [
                interval_words(m, lo, hi, digits=2, too_few=bool(few), words=TOO_FEW_RATINGS)
                for m, lo, hi, few in zip(means["mean"], means["ci_low"], means["ci_high"], too_few, strict=True)
            ],
            "Ratings": means["count"].astype(int),
        }
    )


def coefficient_rows(coefficients: pd.DataFrame | None) -> pd.DataFrame:
    """Style control's fitted coefficients (covariate, value, ci_low, ci_high) in words."""
    if coefficients is None or coefficients.empty:
        return pd.DataFrame()
    return pd.DataFrame(
        {
            "Style feature": coefficients["covariate"].astype(str).str.replace("_", " ").str.capitalize(),
            "Effect (95% CI)": [
                interval_words(v, lo, hi, digits=3)
                for v, lo, hi in zip(coefficients["value"], coefficients["ci_low"], coefficients["ci_high"], strict=True)
            ],
        }
    )
