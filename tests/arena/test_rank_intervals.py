"""Rank(UB), "too few votes" instead of a degenerate CI, rating-mean intervals within the scale."""

from __future__ import annotations

import numpy as np
import pandas as pd

from feedback_db.leaderboard import MIN_CI_BATTLES, compute_leaderboard, rank_upper_bound, rating_means
from playground.services.standings import version_rows


def test_rank_ub_on_a_known_case():
    # A [90, 110], B [85, 105], C [60, 80], D [10, 40], E: no CI.
    low = np.array([90.0, 85.0, 60.0, 10.0, np.nan])
    high = np.array([110.0, 105.0, 80.0, 40.0, np.nan])
    ranks = rank_upper_bound(low, high)
    # C: A and B lie wholly above it; D: A, B and C; E has no rank and never counts as above.
    assert ranks.tolist()[:4] == [1, 1, 3, 4] and pd.isna(ranks.iloc[4])


def battles(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["contestant_a", "contestant_b", "outcome"])


def test_rank_ub_in_the_table_follows_the_cis():
    rng = np.random.default_rng(0)
    strength = {"top": 1.5, "mid-a": 0.0, "mid-b": 0.05, "low": -1.5}
    names = list(strength)
    rows = []
    for _ in range(3000):
        i, j = rng.choice(4, 2, replace=False)
        p = 1 / (1 + np.exp(-(strength[names[i]] - strength[names[j]])))
        rows.append((names[i], names[j], "a" if rng.random() < p else "b"))
    table = compute_leaderboard(battles(rows), rounds=100).table.set_index("contestant")
    assert table.loc["top", "rank_ub"] == 1
    assert table.loc["mid-a", "rank_ub"] == 2 and table.loc["mid-b", "rank_ub"] == 2  # tied: both second
    assert table.loc["low", "rank_ub"] == 4
    assert not table["too_few"].any()


def test_one_battle_says_too_few_votes_not_a_zero_width_interval():
    board = compute_leaderboard(battles([("slow", "fast", "a")]), rounds=100)
    assert board.table["too_few"].all() and board.table["ci_low"].isna().all() and board.table["rank_ub"].isna().all()
    shown = version_rows(board)
    assert all(words.endswith("(too few votes)") for words in shown["Score (95% CI)"]) and set(shown["Rank (UB)"]) == {"–"}


def test_enough_battles_all_one_way_still_say_too_few_when_the_bootstrap_never_varies():
    board = compute_leaderboard(battles([("x", "y", "a")] * (MIN_CI_BATTLES + 5)), rounds=100)
    assert board.table["too_few"].all()


def test_rating_mean_intervals_stay_on_the_scale_and_flag_few_ratings():
    ratings = pd.DataFrame(
        {
            "model_version": ["few"] * 3 + ["many"] * 6,
            "naturalness": [1, 5, 5, 5, 5, 5, 5, 5, 2],
            "reliability": [3, 3, 3, 4, 4, 4, 4, 4, 4],
        }
    )
    sets = pd.DataFrame(columns=["model_version", "diversity"])
    means = rating_means(ratings, sets).set_index(["model_version", "axis"])
    few = means.loc[("few", "naturalness")]
    assert bool(few["too_few"]) and np.isnan(few["ci_low"]) and np.isnan(few["ci_high"])  # was -0.46 to 7.13-like
    many = means.loc[("many", "naturalness")]
    assert not many["too_few"] and 1 <= many["ci_low"] <= many["mean"] <= many["ci_high"] == 5
