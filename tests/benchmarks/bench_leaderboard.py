"""Leaderboard speed: 100,000 votes over 20 versions, Bradley-Terry + 200 bootstrap rounds.

Prints the point fit alone and the full leaderboard side by side (a ratio, since the machine
is shared), and the naive bootstrap that resamples every battle for comparison. Target: the
full leaderboard in under 5 s.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd

sys.path.insert(0, ".")
from feedback_db.leaderboard import compute_leaderboard, fit_bradley_terry  # noqa: E402
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
    battles = synthetic_battles()
    print(f"{VOTES:,} votes, {VERSIONS} versions, {ROUNDS} bootstrap rounds")
    point = timed("point estimate only (rounds=0)", lambda: compute_leaderboard(battles, rounds=0))
    full = timed(f"leaderboard with {ROUNDS} bootstrap rounds", lambda: compute_leaderboard(battles, rounds=ROUNDS))
    naive = timed(f"naive bootstrap, {ROUNDS // 10} rounds (x10 = estimate)", lambda: naive_bootstrap(battles, ROUNDS // 10))
    print(f"full / point: {full / point:.1f}x; naive (est. {naive * 10:.1f} s) / full: {naive * 10 / full:.1f}x")
    print("PASS" if full < 5 else "FAIL", "(target: under 5 s)")
    return 0 if full < 5 else 1


if __name__ == "__main__":
    sys.exit(main())
