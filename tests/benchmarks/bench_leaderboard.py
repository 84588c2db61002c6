"""Leaderboard speed: 100,000 votes over 20 versions, Bradley-Terry + 200 bootstrap rounds.

Prints the point fit alone and the full leaderboard side by side (a ratio, since the machine
is shared), and the naive bootstrap that resamples every battle for comparison. Target: the
full leaderboard in under 5 s. Then, in the same run, the leaderboard with style control and
vote hygiene (2,000 voters over 30 days, repeated prompts, 60-word answers): target under 2 s;
and the style features' extraction from the 200,000 answers (done when the battles are read).
Run it with numpy's default BLAS threads: the leaderboard limits BLAS to one thread itself
(feedback_db/blas_threads.py), so OMP_NUM_THREADS=1 is no longer needed for the target.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_info

sys.path.insert(0, ".")
from feedback_db.hygiene import VoteHygiene  # noqa: E402
from feedback_db.leaderboard import compute_leaderboard, fit_bradley_terry  # noqa: E402
from feedback_db.style import STYLE_COLUMNS, feature_columns  # noqa: E402
from tests.benchmarks.machine import describe_machine  # noqa: E402

VOTES, VERSIONS, ROUNDS = 100_000, 20, 200


def synthetic_battles(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    strengths = rng.normal(0, 0.6, VERSIONS)
    a = rng.integers(0, VERSIONS, VOTES)
    b = (a + rng.integers(1, VERSIONS, VOTES)) % VERSIONS
    p = 1 / (1 + np.exp(-(strengths[a] - strengths[b])))
    u = rng.random(VOTES)
    outcome = np.where(u < 0.1, "tie", np.where(u < 0.15, "both_bad", np.where(rng.random(VOTES) < p, "a", "b")))
    names = np.array([f"v{k:02d}" for k in range(VERSIONS)])
    return pd.DataFrame({"contestant_a": names[a], "contestant_b": names[b], "outcome": outcome})


VOTERS, DAYS, WORDS = 2_000, 30, 60


def with_voters_and_answers(battles: pd.DataFrame, seed: int = 1) -> pd.DataFrame:
    """The same battles with voters, times, prompts (3% on 10 hot ones) and two answers each
    (0.5% of them naming a version)."""
    rng = np.random.default_rng(seed)
    n = len(battles)
    vocabulary = np.array([f"word{k}" for k in range(500)] + ["- item", "**bold**", "\n# Head"])

    def answers() -> list[str]:
        return [" ".join(row) for row in vocabulary[rng.integers(0, len(vocabulary), (n, WORDS))]]

    texts_a = answers()
    for k in np.flatnonzero(rng.random(n) < 0.005):
        texts_a[k] += f" I am {battles['contestant_a'].iat[k]}."
    hot = rng.random(n) < 0.03
    prompts = np.where(hot, rng.integers(0, 10, n), 10 + rng.integers(0, 30_000, n))
    frame = battles.assign(
        version_a=battles["contestant_a"],
        version_b=battles["contestant_b"],
        user_id=rng.integers(0, VOTERS, n),
        voted_at=pd.Timestamp("2026-01-01", tz="UTC") + pd.to_timedelta(rng.random(n) * DAYS, unit="D"),
        prompt=[f"prompt {k}" for k in prompts],
        text_a=texts_a,
        text_b=answers(),
    )
    features = feature_columns(frame["text_a"], frame["text_b"])
    for column in STYLE_COLUMNS:
        frame[column] = features[column].to_numpy()
    return frame


def naive_bootstrap(battles: pd.DataFrame, rounds: int) -> None:
    """Resample every battle and refit: what the multinomial-over-cells shortcut replaces."""
    names = sorted(set(battles["contestant_a"]))
    index = {n: i for i, n in enumerate(names)}
    a = battles["contestant_a"].map(index).to_numpy()
    b = battles["contestant_b"].map(index).to_numpy()
    score = battles["outcome"].map({"a": 1.0, "b": 0.0, "tie": 0.5}).to_numpy()
    keep = ~np.isnan(score)
    a, b, score = a[keep], b[keep], score[keep]
    rng = np.random.default_rng(0)
    for _ in range(rounds):
        pick = rng.integers(0, len(a), len(a))
        wins = np.zeros((len(names), len(names)))
        np.add.at(wins, (a[pick], b[pick]), score[pick])
        np.add.at(wins, (b[pick], a[pick]), 1 - score[pick])
        fit_bradley_terry(wins)


def timed(label: str, run) -> float:
    started = time.perf_counter()
    run()
    seconds = time.perf_counter() - started
    print(f"{label:<48} {seconds:7.2f} s", flush=True)
    return seconds


def main() -> int:
    print(describe_machine())
    blas = {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"}
    print(f"BLAS threads outside the leaderboard: {sorted(blas)}")
    battles = synthetic_battles()
    print(f"{VOTES:,} votes, {VERSIONS} versions, {ROUNDS} bootstrap rounds")
    point = timed("point estimate only (rounds=0)", lambda: compute_leaderboard(battles, rounds=0))
    full = timed(f"leaderboard with {ROUNDS} bootstrap rounds", lambda: compute_leaderboard(battles, rounds=ROUNDS))
    naive = timed(f"naive bootstrap, {ROUNDS // 10} rounds (x10 = estimate)", lambda: naive_bootstrap(battles, ROUNDS // 10))
    print(f"full / point: {full / point:.1f}x; naive (est. {naive * 10:.1f} s) / full: {naive * 10 / full:.1f}x")
    rich = with_voters_and_answers(battles)
    board = compute_leaderboard(rich, rounds=ROUNDS, hygiene=VoteHygiene())
    plain = timed(f"plain leaderboard, {ROUNDS} rounds (again)", lambda: compute_leaderboard(battles, rounds=ROUNDS))
    styled = timed("with style control + vote hygiene", lambda: compute_leaderboard(rich, rounds=ROUNDS, hygiene=VoteHygiene()))
    extract = timed("style features of 200,000 answers (reading)", lambda: feature_columns(rich["text_a"], rich["text_b"]))
    print(
        f"style + hygiene / plain: {styled / plain:.1f}x; counted {board.counted_votes:,}, excluded {board.excluded}, "
        f"down-weighted {board.down_weighted:,}, outlier voters {board.outlier_voters}; extraction {extract:.2f} s"
    )
    ok = full < 5 and styled < 2
    print("PASS" if ok else "FAIL", "(targets: plain under 5 s, style control + hygiene under 2 s)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
