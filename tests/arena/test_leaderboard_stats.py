"""Bradley-Terry scores, bootstrap CIs, win rates and rating means on fixed data."""

from __future__ import annotations

import choix
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from feedback_db.leaderboard import (
    ELO_SCALE,
    PRIOR_STRENGTH,
    compute_leaderboard,
    fit_bradley_terry,
    head_to_head,
    rating_means,
)


def battles(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["contestant_a", "contestant_b", "outcome"])


def score_gap(board, first: str, second: str) -> float:
    scores = board.table.set_index("contestant")["score"]
    return scores[first] - scores[second]


def test_two_versions_hand_checked():
    """3 wins to 1: the MLE odds are 3:1, so the gap is 400 * log10(3) = 190.85 Elo points."""
    board = compute_leaderboard(battles([("v1", "v2", "a")] * 2 + [("v2", "v1", "b")] + [("v1", "v2", "b")]), rounds=0)
    assert score_gap(board, "v1", "v2") == pytest.approx(400 * np.log10(3), abs=0.5)
    row = board.table.set_index("contestant").loc["v1"]
    assert (row.wins, row.losses, row.ties, row.battles) == (3, 1, 0, 4)
    assert row.win_rate == pytest.approx(0.75)
    assert list(board.table["contestant"]) == ["v1", "v2"]  # best first


def test_tie_counts_half_a_win_and_both_bad_is_left_out_of_the_scores():
    # v1: 1 win + 1 tie over v2 = 1.5 : 0.5, odds 3:1 again; both-bad changes nothing but its column.
    plain = battles([("v1", "v2", "a"), ("v1", "v2", "tie")])
    with_bad = battles([("v1", "v2", "a"), ("v2", "v1", "tie"), ("v1", "v2", "both_bad"), ("v2", "v1", "both_bad")])
    for frame in (plain, with_bad):
        board = compute_leaderboard(frame, rounds=0)
        # The weak prior shrinks two battles' worth of evidence by well under one point.
        assert score_gap(board, "v1", "v2") == pytest.approx(400 * np.log10(3), abs=1.0)
    table = compute_leaderboard(with_bad, rounds=0).table.set_index("contestant")
    assert table.loc["v1", "both_bad"] == 2 and table.loc["v1", "battles"] == 4
    assert table.loc["v1", "win_rate"] == pytest.approx(0.75)  # (1 + 0.5) / 2 ranked battles
    assert table.loc["v2", "ties"] == 1


def random_battles(seed: int, names: list[str], n: int, strengths: list[float], ties: bool) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        i, j = rng.choice(len(names), size=2, replace=False)
        p = 1 / (1 + np.exp(-(strengths[i] - strengths[j])))
        u = rng.random()
        outcome = "tie" if ties and u < 0.15 else ("a" if rng.random() < p else "b")
        rows.append((names[i], names[j], outcome))
    return battles(rows)


def choix_reference(frame: pd.DataFrame, names: list[str]) -> np.ndarray:
    """choix's MAP estimate with the same prior; a tie becomes one win each way, so every
    decisive battle is doubled (and the prior with it) to keep the tie at half a win."""
    index = {name: k for k, name in enumerate(names)}
    data = []
    for a, b, outcome in frame.itertuples(index=False):
        i, j = index[a], index[b]
        if outcome == "a":
            data += [(i, j), (i, j)]
        elif outcome == "b":
            data += [(j, i), (j, i)]
        elif outcome == "tie":
            data += [(i, j), (j, i)]
    params = choix.opt_pairwise(len(names), data, alpha=2 * PRIOR_STRENGTH, tol=1e-10)
    return params - params.mean()


@pytest.mark.parametrize("ties", [False, True])
def test_scores_match_choix(ties):
    names = ["base", "v1", "v2", "v3", "v4"]
    frame = random_battles(3, names, 400, [0.0, 0.4, -0.3, 1.0, 0.1], ties)
    board = compute_leaderboard(frame, rounds=0)
    ours = board.table.set_index("contestant")["score"].reindex(names).to_numpy()
    reference = 1000 + ELO_SCALE * choix_reference(frame, names)
    np.testing.assert_allclose(ours, reference, atol=0.05)  # Elo points


def test_fit_recovers_known_strengths_roughly():
    names = [f"v{k}" for k in range(6)]
    truth = np.array([0.0, 0.5, 1.0, -0.5, 0.2, -1.0])
    frame = random_battles(5, names, 20_000, list(truth), ties=False)
    board = compute_leaderboard(frame, rounds=0)
    ours = (board.table.set_index("contestant")["score"].reindex(names).to_numpy() - 1000) / ELO_SCALE
    np.testing.assert_allclose(ours, truth - truth.mean(), atol=0.06)


def test_unbeaten_version_gets_a_finite_score():
    strengths = fit_bradley_terry(np.array([[0.0, 3.0], [0.0, 0.0]]))
    assert np.all(np.isfinite(strengths)) and strengths[0] > strengths[1] + 2


def test_bootstrap_is_seeded_and_reproducible():
    frame = random_battles(7, ["a", "b", "c"], 300, [0.0, 0.3, 0.6], ties=True)
    first = compute_leaderboard(frame, rounds=50, seed=1).table
    again = compute_leaderboard(frame, rounds=50, seed=1).table
    other = compute_leaderboard(frame, rounds=50, seed=2).table
    pd.testing.assert_frame_equal(first, again)
    assert not np.allclose(first["ci_low"], other["ci_low"])
    assert np.all(first["ci_low"] <= first["score"]) and np.all(first["score"] <= first["ci_high"])


def test_ci_narrows_with_more_battles():
    small = compute_leaderboard(random_battles(1, ["a", "b"], 100, [0, 0.5], False), rounds=100)
    large = compute_leaderboard(random_battles(1, ["a", "b"], 3000, [0, 0.5], False), rounds=100)
    width = lambda board: (board.table["ci_high"] - board.table["ci_low"]).mean()  # noqa: E731
    assert width(large) < width(small) / 3


def test_pairwise_matrix_is_complementary_and_nan_where_never_met():
    frame = battles([("a", "b", "a"), ("a", "b", "b"), ("b", "a", "b"), ("b", "c", "tie")])
    pairwise = compute_leaderboard(frame, rounds=0).pairwise
    assert pairwise.loc["a", "b"] == pytest.approx(2 / 3)
    assert pairwise.loc["a", "b"] + pairwise.loc["b", "a"] == pytest.approx(1)
    assert pairwise.loc["b", "c"] == pytest.approx(0.5)
    assert np.isnan(pairwise.loc["a", "c"])


def test_fewer_than_two_contestants_is_an_empty_board():
    assert compute_leaderboard(battles([])).empty
    assert compute_leaderboard(battles([]), rounds=10).table.columns.tolist()[:2] == ["rank", "contestant"]


def test_head_to_head_win_rate_and_ci():
    frame = battles(
        [("cand", "act", "a")] * 60
        + [("act", "cand", "a")] * 20
        + [("act", "cand", "tie")] * 20
        + [("cand", "act", "both_bad")] * 5
        + [("cand", "other", "b")] * 9
    )
    result = head_to_head(frame, "cand", "act", seed=3)
    assert result.battles == 100
    assert result.win_rate == pytest.approx(0.7)  # (60 + 10) / 100
    assert 0.5 < result.ci_low < 0.7 < result.ci_high < 0.8
    assert head_to_head(frame, "cand", "act", seed=3) == result
    reverse = head_to_head(frame, "act", "cand", seed=3)
    assert reverse.win_rate == pytest.approx(0.3) and reverse.ci_high < 0.5
    assert head_to_head(frame, "cand", "nobody").battles == 0


def test_rating_means_match_scipy_t_interval():
    ratings = pd.DataFrame(
        {
            "model_version": ["base"] * 5 + ["v1"] * 3,
            "naturalness": [1, 2, 3, 4, 5, 5, 4, None],
            "reliability": [2, 2, 2, 2, 2, 3, 3, 3],
        }
    )
    set_ratings = pd.DataFrame({"model_version": ["v1"], "diversity": [4]})
    means = rating_means(ratings, set_ratings).set_index(["model_version", "axis"])
    row = means.loc[("base", "naturalness")]
    low, high = stats.t.interval(0.95, 4, loc=3.0, scale=stats.sem([1, 2, 3, 4, 5]))
    assert (row["mean"], row["count"]) == (3.0, 5)
    assert row["ci_low"] == pytest.approx(low) and row["ci_high"] == pytest.approx(high)
    assert means.loc[("v1", "naturalness"), "count"] == 2  # the missing score is not a zero
    assert means.loc[("v1", "diversity"), "count"] == 1 and np.isnan(means.loc[("v1", "diversity"), "ci_low"])
    assert rating_means(ratings.iloc[0:0], set_ratings.iloc[0:0]).empty
