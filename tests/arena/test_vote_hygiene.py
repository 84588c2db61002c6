"""Vote hygiene before the fit: daily cap, revealing answers, repeated prompts, outlier voters;
and what it keeps out of the scores (attackers) and what it leaves alone (honest voters)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from feedback_db.hygiene import VoteHygiene, apply_hygiene
from feedback_db.leaderboard import Leaderboard, compute_leaderboard

NAMES = ["v1", "v2", "v3", "v4", "v5", "v6"]
STRENGTH = np.array([-0.8, -0.4, 0.0, 0.3, 0.6, 0.9])
WEAK = "v2"
START = pd.Timestamp("2026-01-01", tz="UTC")


def honest_votes(seed: int, voters: int, per_voter: int, days: int = 10) -> pd.DataFrame:
    """Voters who vote as the Bradley-Terry model says, over `days` days, on 400 prompts."""
    rng = np.random.default_rng(seed)
    n = voters * per_voter
    a = rng.integers(0, len(NAMES), n)
    b = (a + rng.integers(1, len(NAMES), n)) % len(NAMES)
    p = 1 / (1 + np.exp(-(STRENGTH[a] - STRENGTH[b])))
    u = rng.random(n)
    outcome = np.where(u < 0.08, "tie", np.where(u < 0.12, "both_bad", np.where(rng.random(n) < p, "a", "b")))
    return frame(a, b, outcome, np.repeat(np.arange(voters), per_voter), START + pd.to_timedelta(rng.random(n) * days, unit="D"), rng)


def frame(a, b, outcome, user, voted_at, rng) -> pd.DataFrame:
    names = np.array(NAMES)
    return pd.DataFrame(
        {
            "contestant_a": names[a],
            "contestant_b": names[b],
            "version_a": names[a],
            "version_b": names[b],
            "outcome": outcome,
            "user_id": user,
            "voted_at": voted_at,
            "prompt": [f"prompt {k}" for k in rng.integers(0, 400, len(a))],
        }
    )


def attackers(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    weak = NAMES.index(WEAK)
    # 1. An always-A spammer: 300 votes over 10 days (under the daily cap).
    n = 300
    a = rng.integers(0, len(NAMES), n)
    b = (a + rng.integers(1, len(NAMES), n)) % len(NAMES)
    spammer = frame(a, b, np.full(n, "a"), np.full(n, 9001), START + pd.to_timedelta(rng.random(n) * 10, unit="D"), rng)
    # 2. A booster of the weak version: 300 votes over 10 days, each for it.
    other = (weak + rng.integers(1, len(NAMES), n)) % len(NAMES)
    first = rng.random(n) < 0.5
    a, b = np.where(first, weak, other), np.where(first, other, weak)
    booster = frame(a, b, np.where(first, "a", "b"), np.full(n, 9002), START + pd.to_timedelta(rng.random(n) * 10, unit="D"), rng)
    # 3. A bot: one vote a second for 1,000 seconds, each for the weak version.
    n = 1000
    other = (weak + rng.integers(1, len(NAMES), n)) % len(NAMES)
    first = rng.random(n) < 0.5
    a, b = np.where(first, weak, other), np.where(first, other, weak)
    bot = frame(a, b, np.where(first, "a", "b"), np.full(n, 9003), START + pd.to_timedelta(np.arange(n), unit="s"), rng)
    return pd.concat([spammer, booster, bot], ignore_index=True)


def scores(board: Leaderboard) -> pd.DataFrame:
    return board.table.set_index("contestant")


def test_attackers_do_not_move_any_score_outside_its_ci_without_them():
    honest = honest_votes(1, voters=150, per_voter=40)
    hygiene = VoteHygiene()
    clean = scores(compute_leaderboard(honest, rounds=200, seed=2, hygiene=hygiene))
    attacked_board = compute_leaderboard(pd.concat([honest, attackers(3)], ignore_index=True), rounds=200, seed=2, hygiene=hygiene)
    attacked = scores(attacked_board).reindex(clean.index)
    # 1. Every counted score stays inside its CI computed without the attackers.
    assert np.all((attacked["score"] >= clean["ci_low"]) & (attacked["score"] <= clean["ci_high"])), (attacked["score"], clean)
    # 2. What left them out: the bot's votes over the cap, then the three voters as outliers.
    assert attacked_board.excluded["daily_cap"] == 900
    assert attacked_board.outlier_voters >= 3 and attacked_board.excluded["outlier_voter"] >= 300 + 300 + 100
    total = len(honest) + 1600
    assert attacked_board.counted_votes == total - sum(attacked_board.excluded.values())
    # 3. Without hygiene the booster and the bot do move the weak version out of its CI.
    unguarded = scores(compute_leaderboard(pd.concat([honest, attackers(3)], ignore_index=True), rounds=0))
    assert unguarded.loc[WEAK, "score"] > clean.loc[WEAK, "ci_high"]


def test_honest_voters_are_rarely_flagged():
    """The stated false-flag rate: 0.001 per tested voter; here 300 honest voters are tested."""
    honest = honest_votes(4, voters=300, per_voter=30)
    board = compute_leaderboard(honest, rounds=0, hygiene=VoteHygiene())
    assert board.outlier_voters <= 2
    assert board.excluded["daily_cap"] == 0 and board.counted_votes >= len(honest) - 2 * 30


def test_only_voters_with_enough_votes_are_tested():
    honest = honest_votes(5, voters=100, per_voter=30)
    spam = attackers(6).query("user_id == 9001").head(15)  # 15 always-A votes: below the minimum
    board = compute_leaderboard(pd.concat([honest, spam], ignore_index=True), rounds=0, hygiene=VoteHygiene(outlier_min_votes=20))
    assert board.excluded["outlier_voter"] == 0


def battles(rows: list[dict[str, object]]) -> pd.DataFrame:
    base = {"contestant_a": "v1", "contestant_b": "v2", "version_a": "v1", "version_b": "v2", "outcome": "a", "user_id": 1}
    return pd.DataFrame([base | row for row in rows])


def indices(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    index = {name: k for k, name in enumerate(NAMES)}
    return {"a": frame["contestant_a"].map(index).to_numpy(), "b": frame["contestant_b"].map(index).to_numpy()}


def test_daily_cap_counts_per_voter_and_utc_day():
    day = pd.Timestamp("2026-03-01 10:00", tz="UTC")
    times = [day + pd.Timedelta(minutes=k) for k in range(5)] + [day + pd.Timedelta(days=1)]
    frame = battles([{"voted_at": t} for t in times] + [{"voted_at": day, "user_id": 2}])
    result = apply_hygiene(frame, VoteHygiene(daily_cap=3, outlier_rate=0), size=len(NAMES), **indices(frame))
    assert result.excluded["daily_cap"] == 2
    assert list(result.keep) == [True, True, True, False, False, True, True]


def test_answers_that_name_a_version_or_model_are_left_out():
    frame = battles(
        [
            {"text_a": "I am v2, happy to help.", "text_b": "Hello."},  # names a version
            {"text_a": "Hi", "text_b": "As SMOLLM I think..."},  # a model name, any case
            {"text_a": "The base of a triangle", "text_b": "v22 and v1x are not names here"},
            {"text_a": None, "text_b": "plain"},
        ]
    )
    result = apply_hygiene(frame, VoteHygiene(model_names=("SmolLM",), outlier_rate=0), size=len(NAMES), **indices(frame))
    assert result.excluded["reveals_model"] == 2 and list(result.keep) == [False, False, True, True]
    off = apply_hygiene(frame, VoteHygiene(reveal_filter=False, outlier_rate=0), size=len(NAMES), **indices(frame))
    assert off.excluded["reveals_model"] == 0 and off.keep.all()


def test_repeated_prompts_are_down_weighted_not_left_out():
    frame = battles([{"prompt": f"p{k}"} for k in range(100)] + [{"prompt": " Same Prompt "}] * 25 + [{"prompt": "same prompt"}] * 25)
    result = apply_hygiene(frame, VoteHygiene(repeat_factor=10, outlier_rate=0), size=len(NAMES), **indices(frame))
    assert result.keep.all() and result.down_weighted == 50
    np.testing.assert_allclose(result.weight[100:], np.sqrt(10 / 50))  # threshold 10 x median 1, 50 votes
    assert np.all(result.weight[:100] == 1)
    board = compute_leaderboard(frame, rounds=0, hygiene=VoteHygiene(repeat_factor=10, outlier_rate=0))
    assert board.down_weighted == 50 and board.counted_votes == 150


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="vote hygiene"):
        VoteHygiene(daily_cap=-1)
    with pytest.raises(ValueError, match="vote hygiene"):
        VoteHygiene(outlier_rate=1.5)
