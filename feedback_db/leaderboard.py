"""Leaderboard statistics: Bradley-Terry scores with bootstrap CIs, win rates, rating means.

Pure functions of pandas frames (see `feedback_db.arena.battles_frame` and
`feedback_db.frames`); numpy/scipy only. How votes count (docs/ARENA.md):

- A win is 1, a loss 0, a tie half a win for each side.
- "Both bad" says nothing about which side is better, so it is left out of the scores and win
  rates (counting it as a tie, as Chatbot Arena does, would pull a weak version towards the
  middle); it is reported per version as its own column instead.
- Bradley-Terry: P(i beats j) = sigmoid(s_i - s_j), fitted by maximum likelihood on the pairwise
  win counts (the same model FastChat fits with a logistic regression), with a weak Gaussian
  prior (`PRIOR_STRENGTH`) so an unbeaten version gets a finite score. Scores are shown on the
  Elo scale (400 points = 10:1 odds), centred so the mean version scores 1000.
- 95% CIs come from a seeded bootstrap over battles: resampling N battles with replacement is a
  multinomial draw over the distinct (pair, outcome) cells, which is what makes 100,000 votes x
  200 rounds cheap.
- Rank(UB) (`rank_ub`), as Chatbot Arena ranks: 1 + the number of contestants whose lower CI
  bound lies above this one's upper bound, so contestants that the data cannot tell apart share a
  rank. Without CIs (no bootstrap rounds) the point scores stand in for both bounds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize, stats

ELO_SCALE = 400 / np.log(10)
ELO_CENTRE = 1000.0
PRIOR_STRENGTH = 1e-3  # alpha in alpha * sum(s^2), as `choix.opt_pairwise` writes it
DEFAULT_ROUNDS = 200
RATING_AXES = ("naturalness", "reliability", "diversity")
# What a win is worth to side A for each outcome; both_bad is absent on purpose (see above).
SCORE_OF_A = {"a": 1.0, "b": 0.0, "tie": 0.5}


@dataclass(frozen=True)
class Leaderboard:
    table: pd.DataFrame  # one row per contestant, best first
    pairwise: pd.DataFrame  # win rate of row against column (NaN where they never met)
    # Style control and vote hygiene (docs/ARENA.md): the style-controlled table (same columns as
    # `table`; None when not fitted), its covariates' coefficients (covariate, value, ci_low,
    # ci_high), votes not counted per rule, and the votes that were counted.
    style_table: pd.DataFrame | None = None
    coefficients: pd.DataFrame | None = None
    excluded: dict[str, int] = field(default_factory=dict)
    counted_votes: int = 0

    @property
    def empty(self) -> bool:
        return bool(self.table.empty)


@dataclass(frozen=True)
class HeadToHead:
    """How often `contestant` beat `opponent` (ties half), with a bootstrap 95% CI."""

    contestant: str
    opponent: str
    battles: int  # decisive or tied battles between the two (both-bad left out)
    win_rate: float
    ci_low: float
    ci_high: float


# -- Bradley-Terry ---------------------------------------------------------------------------


def fit_bradley_terry(wins: np.ndarray, *, alpha: float = PRIOR_STRENGTH, start: np.ndarray | None = None) -> np.ndarray:
    """Log-strengths s maximising sum W_ij log sigmoid(s_i - s_j) - alpha * sum s^2, mean 0.

    `wins[i, j]` is how often i beat j (ties already split in halves).
    """
    size = wins.shape[0]

    def objective(s: np.ndarray) -> tuple[float, np.ndarray]:
        diff = s[:, None] - s[None, :]
        loss = float(np.sum(wins * np.logaddexp(0.0, -diff)) + alpha * np.sum(s * s))
        pull = wins * _sigmoid(-diff)  # d loss / d diff_ij = -pull_ij
        gradient = -pull.sum(axis=1) + pull.sum(axis=0) + 2 * alpha * s
        return loss, gradient

    initial = np.zeros(size) if start is None else start
    result = optimize.minimize(objective, initial, jac=True, method="L-BFGS-B", options={"gtol": 1e-8})
    strengths: np.ndarray = result.x - result.x.mean()
    return strengths


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return np.asarray(0.5 * (1.0 + np.tanh(0.5 * x)))  # stable for large |x|


def to_elo(strengths: np.ndarray) -> np.ndarray:
    return np.asarray(ELO_CENTRE + ELO_SCALE * (strengths - strengths.mean()), dtype=float)


# -- from battles to a leaderboard -----------------------------------------------------------


def compute_leaderboard(battles: pd.DataFrame, *, rounds: int = DEFAULT_ROUNDS, seed: int = 0) -> Leaderboard:
    """The leaderboard of the contestants in `battles` (columns: contestant_a, contestant_b, outcome)."""
    # 1. Contestants, and the battles that rank them (both-bad only counts in its own column).
    names = sorted(set(battles["contestant_a"]) | set(battles["contestant_b"])) if len(battles) else []
    if len(names) < 2:
        return Leaderboard(_empty_table(), pd.DataFrame(), counted_votes=len(battles))
    index = {name: i for i, name in enumerate(names)}
    a = battles["contestant_a"].map(index).to_numpy()
    b = battles["contestant_b"].map(index).to_numpy()
    outcome = battles["outcome"].to_numpy(dtype=str)
    ranked = outcome != "both_bad"
    # 2. Distinct (a, b, outcome) cells with their counts: the unit of the bootstrap.
    cells = pd.DataFrame({"a": a[ranked], "b": b[ranked], "outcome": outcome[ranked]})
    cells = cells.groupby(["a", "b", "outcome"], sort=True).size().reset_index(name="count")
    score_a = cells["outcome"].map(SCORE_OF_A).to_numpy()
    counts = cells["count"].to_numpy()
    ca, cb = cells["a"].to_numpy(), cells["b"].to_numpy()
    # 3. The point estimate on all battles, then the bootstrap around it.
    wins = _wins(len(names), ca, cb, score_a, counts)
    strengths = fit_bradley_terry(wins)
    elo = to_elo(strengths)
    low, high = _bootstrap_ci(len(names), ca, cb, score_a, counts, strengths, rounds, seed)
    # 4. Per-contestant counts and the pairwise matrix.
    table = _table(names, a, b, outcome, elo, low, high)
    return Leaderboard(table, _pairwise(names, wins), counted_votes=len(battles))


def _wins(size: int, a: np.ndarray, b: np.ndarray, score_a: np.ndarray, counts: np.ndarray) -> np.ndarray:
    wins = np.zeros((size, size))
    np.add.at(wins, (a, b), counts * score_a)
    np.add.at(wins, (b, a), counts * (1.0 - score_a))
    return wins


def _bootstrap_ci(
    size: int,
    a: np.ndarray,
    b: np.ndarray,
    score_a: np.ndarray,
    counts: np.ndarray,
    start: np.ndarray,
    rounds: int,
    seed: int,
) -> tuple[np.ndarray, np.ndarray]:
    total = int(counts.sum())
    if rounds < 1 or total == 0:
        nan = np.full(size, np.nan)
        return nan, nan
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(total, counts / total, size=rounds)
    samples = np.stack([to_elo(fit_bradley_terry(_wins(size, a, b, score_a, draw), start=start)) for draw in draws])
    return np.percentile(samples, 2.5, axis=0), np.percentile(samples, 97.5, axis=0)


def _table(
    names: list[str],
    a: np.ndarray,
    b: np.ndarray,
    outcome: np.ndarray,
    elo: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
) -> pd.DataFrame:
    # Counted with bincount over the outcome masks: one pass per outcome, not per contestant.
    size = len(names)

    def count(mask: np.ndarray, sides: tuple[np.ndarray, ...]) -> np.ndarray:
        return np.asarray(np.sum([np.bincount(side[mask], minlength=size) for side in sides], axis=0))

    is_a, is_b, is_tie, is_bad = (outcome == "a"), (outcome == "b"), (outcome == "tie"), (outcome == "both_bad")
    won = np.bincount(a[is_a], minlength=size) + np.bincount(b[is_b], minlength=size)
    lost = np.bincount(b[is_a], minlength=size) + np.bincount(a[is_b], minlength=size)
    tied, both_bad = count(is_tie, (a, b)), count(is_bad, (a, b))
    ranked = won + lost + tied
    with np.errstate(invalid="ignore", divide="ignore"):
        win_rate = np.where(ranked > 0, (won + 0.5 * tied) / ranked, np.nan)
    rows = [
        {
            "contestant": name,
            "score": elo[i],
            "ci_low": low[i],
            "ci_high": high[i],
            "battles": int(ranked[i] + both_bad[i]),
            "wins": int(won[i]),
            "losses": int(lost[i]),
            "ties": int(tied[i]),
            "both_bad": int(both_bad[i]),
            "win_rate": win_rate[i],
        }
        for i, name in enumerate(names)
    ]
    table = pd.DataFrame(rows).sort_values("score", ascending=False, kind="stable")
    table.insert(0, "rank", range(1, len(table) + 1))
    table["rank_ub"] = rank_upper_bound(table["score"], table["ci_low"], table["ci_high"])
    return table.reset_index(drop=True)


def rank_upper_bound(score: pd.Series, low: pd.Series, high: pd.Series) -> np.ndarray:
    """Rank(UB): 1 + how many contestants' lower bounds lie above this one's upper bound."""
    lower = low.fillna(score).to_numpy(dtype=float)
    upper = high.fillna(score).to_numpy(dtype=float)
    return np.asarray(1 + (lower[None, :] > upper[:, None]).sum(axis=1), dtype=int)


def _empty_table() -> pd.DataFrame:
    return pd.DataFrame(
        columns=[
            "rank",
            "contestant",
            "score",
            "ci_low",
            "ci_high",
            "battles",
            "wins",
            "losses",
            "ties",
            "both_bad",
            "win_rate",
            "rank_ub",
        ]
    )


def _pairwise(names: list[str], wins: np.ndarray) -> pd.DataFrame:
    met = wins + wins.T
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(met > 0, wins / met, np.nan)
    return pd.DataFrame(rate, index=pd.Index(names, name="contestant"), columns=names)


# -- one pair, for the promotion gate --------------------------------------------------------


def head_to_head(battles: pd.DataFrame, contestant: str, opponent: str, *, rounds: int = 2000, seed: int = 0) -> HeadToHead:
    """Win rate of `contestant` over `opponent` in their direct battles, with a 95% bootstrap CI."""
    forward = (battles["contestant_a"] == contestant) & (battles["contestant_b"] == opponent)
    backward = (battles["contestant_a"] == opponent) & (battles["contestant_b"] == contestant)
    scores = np.concatenate(
        [
            battles.loc[forward, "outcome"].map(SCORE_OF_A).dropna().to_numpy(),
            1.0 - battles.loc[backward, "outcome"].map(SCORE_OF_A).dropna().to_numpy(),
        ]
    )
    if len(scores) == 0:
        return HeadToHead(contestant, opponent, 0, np.nan, np.nan, np.nan)
    values, counts = np.unique(scores, return_counts=True)
    draws = np.random.default_rng(seed).multinomial(len(scores), counts / len(scores), size=rounds)
    means = draws @ values / len(scores)
    low, high = np.percentile(means, [2.5, 97.5])
    return HeadToHead(contestant, opponent, len(scores), float(scores.mean()), float(low), float(high))


# -- mean ratings per version ----------------------------------------------------------------


def rating_means(ratings: pd.DataFrame, set_ratings: pd.DataFrame) -> pd.DataFrame:
    """Mean naturalness, reliability and diversity per model version, with t-based 95% CIs."""
    long = pd.concat(
        [
            _long(ratings, ("naturalness", "reliability")),
            _long(set_ratings, ("diversity",)),
        ],
        ignore_index=True,
    )
    if long.empty:
        return pd.DataFrame(columns=["model_version", "axis", "mean", "ci_low", "ci_high", "count"])
    grouped = long.groupby(["model_version", "axis"])["score"]
    summary = grouped.agg(mean="mean", std="std", count="count").reset_index()
    half = summary.apply(_t_half_width, axis=1)
    summary["ci_low"], summary["ci_high"] = summary["mean"] - half, summary["mean"] + half
    order = {axis: i for i, axis in enumerate(RATING_AXES)}
    summary = summary.sort_values(["model_version", "axis"], key=lambda c: c.map(order) if c.name == "axis" else c)
    return summary[["model_version", "axis", "mean", "ci_low", "ci_high", "count"]].reset_index(drop=True)


def _long(frame: pd.DataFrame, axes: tuple[str, ...]) -> pd.DataFrame:
    if frame.empty:
        return pd.DataFrame(columns=["model_version", "axis", "score"])
    long = frame.melt(id_vars=["model_version"], value_vars=list(axes), var_name="axis", value_name="score")
    long = long.dropna(subset=["score"])
    long["score"] = long["score"].astype(float)
    return long


def _t_half_width(row: pd.Series) -> float:
    if row["count"] < 2 or not np.isfinite(row["std"]):
        return np.nan
    return float(stats.t.ppf(0.975, row["count"] - 1) * row["std"] / np.sqrt(row["count"]))
