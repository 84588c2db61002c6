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
  200 rounds cheap. A contestant with fewer than `MIN_CI_BATTLES` ranked battles, or whose
  bootstrap never varied (one battle resampled is the same battle), gets no CI: NaN bounds and
  `too_few` True, instead of a zero-width interval.
- `rank_ub` is Rank(UB): 1 + the number of contestants whose CI lies wholly above this one's.
- The fits run with one BLAS thread (feedback_db/blas_threads.py): faster on a busy 2-core host.
- Before the fit, optional vote hygiene (feedback_db/hygiene.py) leaves votes out or down-weights
  them; with style features in the frame, a second table is fitted under style control
  (feedback_db/style_fit.py), with the style coefficients and their CIs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from feedback_db.blas_threads import one_blas_thread
from feedback_db.bradley_terry import ELO_CENTRE as ELO_CENTRE
from feedback_db.bradley_terry import ELO_SCALE as ELO_SCALE
from feedback_db.bradley_terry import PRIOR_STRENGTH as PRIOR_STRENGTH
from feedback_db.bradley_terry import SCORE_OF_A as SCORE_OF_A
from feedback_db.bradley_terry import fit_bradley_terry as fit_bradley_terry
from feedback_db.bradley_terry import fit_stack, scores_of_a, to_elo, win_matrix
from feedback_db.hygiene import VoteHygiene, apply_hygiene
from feedback_db.style import STYLE_COLUMNS, STYLE_FEATURES, has_style, style_covariates
from feedback_db.style_fit import fit_style

DEFAULT_ROUNDS = 200
MIN_CI_BATTLES = 10  # fewer ranked battles than this: no CI, the row says too few votes
RATING_AXES = ("naturalness", "reliability", "diversity")
RATING_SCALE = (1.0, 5.0)
MIN_CI_RATINGS = 5  # fewer ratings than this: no CI, the row says too few ratings
TABLE_COLUMNS = [
    "rank",
    "contestant",
    "score",
    "ci_low",
    "ci_high",
    "rank_ub",
    "too_few",
    "battles",
    "wins",
    "losses",
    "ties",
    "both_bad",
    "win_rate",
]


@dataclass(frozen=True)
class Leaderboard:
    table: pd.DataFrame  # one row per contestant, best first
    pairwise: pd.DataFrame  # win rate of row against column (NaN where they never met)
    # The same table with scores fitted under style control (text battles; None for images).
    style_table: pd.DataFrame | None = None
    coefficients: pd.DataFrame | None = None  # covariate, value, ci_low, ci_high (logit scale)
    excluded: dict[str, int] = field(default_factory=dict)  # hygiene rule -> votes not counted
    counted_votes: int = 0  # votes that count (all votes less the excluded)
    outlier_voters: int = 0  # voters whose votes the outlier test left out
    down_weighted: int = 0  # counted votes on repeated prompts, given a weight below 1

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


# -- from battles to a leaderboard -----------------------------------------------------------


def compute_leaderboard(
    battles: pd.DataFrame, *, rounds: int = DEFAULT_ROUNDS, seed: int = 0, hygiene: VoteHygiene | None = None
) -> Leaderboard:
    """The leaderboard of the contestants in `battles` (columns: contestant_a, contestant_b,
    outcome; for hygiene user_id, voted_at, prompt, text_a, text_b; for style control the
    feedback_db.style STYLE_COLUMNS), its votes filtered by `hygiene` first (None: all count).
    BLAS runs on one thread meanwhile (feedback_db/blas_threads.py)."""
    with one_blas_thread():
        return _compute_leaderboard(battles, rounds=rounds, seed=seed, hygiene=hygiene)


def _compute_leaderboard(battles: pd.DataFrame, *, rounds: int, seed: int, hygiene: VoteHygiene | None) -> Leaderboard:
    # 1. Contestants as integer codes (column-wise: a Python loop over 100,000 labels is slow).
    names = sorted(set(battles["contestant_a"].unique()) | set(battles["contestant_b"].unique())) if len(battles) else []
    if len(names) < 2:
        return Leaderboard(_empty_table(), pd.DataFrame(), counted_votes=len(battles))
    a = pd.Index(names).get_indexer(battles["contestant_a"])
    b = pd.Index(names).get_indexer(battles["contestant_b"])
    # 2. Vote hygiene: which votes count, with what weight.
    keep, weight = np.ones(len(battles), dtype=bool), np.ones(len(battles))
    excluded, flagged, down = {}, 0, 0
    if hygiene is not None:
        result = apply_hygiene(battles, hygiene, size=len(names), a=a, b=b)
        keep, weight, excluded, flagged, down = result.keep, result.weight, result.excluded, result.outlier_voters, result.down_weighted
    outcome = battles["outcome"].to_numpy(dtype=str)
    style = battles.loc[keep, list(STYLE_COLUMNS)] if has_style(battles) else None
    a, b, outcome, weight = a[keep], b[keep], outcome[keep], weight[keep]
    # 3. The plain fit and its bootstrap, then the fit under style control.
    elo, low, high, wins = _plain_scores(len(names), a, b, outcome, weight, rounds, seed)
    table = _table(names, a, b, outcome, elo, low, high)
    style_table, coefficients = None, None
    if style is not None and len(style):
        style_table, coefficients = _style_scores(names, style, a, b, outcome, weight, rounds, seed)
    return Leaderboard(table, _pairwise(names, wins), style_table, coefficients, excluded, int(keep.sum()), flagged, down)


def _plain_scores(
    size: int, a: np.ndarray, b: np.ndarray, outcome: np.ndarray, weight: np.ndarray, rounds: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Elo scores, CI bounds and the win matrix of the plain Bradley-Terry fit."""
    # 1. Distinct (a, b, outcome) cells with their counts and weights: the unit of the bootstrap.
    ranked = outcome != "both_bad"
    cells = pd.DataFrame({"a": a[ranked], "b": b[ranked], "outcome": outcome[ranked], "weight": weight[ranked]})
    cells = cells.groupby(["a", "b", "outcome"], sort=True)["weight"].agg(["size", "sum"]).reset_index()
    score_a = scores_of_a(cells["outcome"].to_numpy())
    counts, mean_weight = cells["size"].to_numpy(), (cells["sum"] / cells["size"]).to_numpy()
    ca, cb = cells["a"].to_numpy(), cells["b"].to_numpy()
    # 2. The point estimate on all battles, then the bootstrap around it.
    wins = win_matrix(size, ca, cb, score_a, counts * mean_weight)
    strengths = fit_bradley_terry(wins)
    low, high = _bootstrap_ci(size, ca, cb, score_a, counts, mean_weight, strengths, rounds, seed)
    return to_elo(strengths), low, high, wins


def _bootstrap_ci(
    size: int,
    a: np.ndarray,
    b: np.ndarray,
    score_a: np.ndarray,
    counts: np.ndarray,
    mean_weight: np.ndarray,
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
    samples = to_elo_rows(fit_stack(win_matrix(size, a, b, score_a, draws * mean_weight), start=start))
    return np.percentile(samples, 2.5, axis=0), np.percentile(samples, 97.5, axis=0)


def _style_scores(
    names: list[str],
    counted: pd.DataFrame,
    a: np.ndarray,
    b: np.ndarray,
    outcome: np.ndarray,
    weight: np.ndarray,
    rounds: int,
    seed: int,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The table under style control and the style coefficients with their CIs."""
    ranked = outcome != "both_bad"
    x = style_covariates(counted[ranked])
    y = scores_of_a(outcome[ranked])
    fit = fit_style(len(names), a[ranked], b[ranked], x, y, weight[ranked], rounds=rounds, seed=seed)
    elo = to_elo(fit.strengths)
    low, high = _percentiles(to_elo_rows(fit.strength_samples), len(names))
    table = _table(names, a, b, outcome, elo, low, high)
    c_low, c_high = _percentiles(fit.coefficient_samples, len(STYLE_FEATURES))
    coefficients = pd.DataFrame({"covariate": list(STYLE_FEATURES), "value": fit.coefficients, "ci_low": c_low, "ci_high": c_high})
    return table, coefficients


def to_elo_rows(samples: np.ndarray) -> np.ndarray:
    """Each row of log-strengths on the Elo scale."""
    return np.asarray(ELO_CENTRE + ELO_SCALE * (samples - samples.mean(axis=1, keepdims=True))) if len(samples) else samples


def _percentiles(samples: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    if len(samples) == 0:
        return np.full(width, np.nan), np.full(width, np.nan)
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
    # 1. Counted with bincount over the outcome masks: one pass per outcome, not per contestant.
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
    # 2. Too few votes for a CI: few ranked battles, or a bootstrap that never varied.
    too_few = (ranked < MIN_CI_BATTLES) | (np.isfinite(low) & (high - low < 1e-6))
    low, high = np.where(too_few, np.nan, low), np.where(too_few, np.nan, high)
    table = pd.DataFrame(
        {
            "contestant": names,
            "score": elo,
            "ci_low": low,
            "ci_high": high,
            "rank_ub": rank_upper_bound(low, high),
            "too_few": too_few,
            "battles": (ranked + both_bad).astype(int),
            "wins": won.astype(int),
            "losses": lost.astype(int),
            "ties": tied.astype(int),
            "both_bad": both_bad.astype(int),
            "win_rate": win_rate,
        }
    ).sort_values("score", ascending=False, kind="stable")
    table.insert(0, "rank", range(1, len(table) + 1))
    return table.reset_index(drop=True)


def rank_upper_bound(low: np.ndarray, high: np.ndarray) -> pd.Series:
    """Rank(UB): 1 + the number of contestants whose CI lies wholly above this one's (whose
    lower bound is above its upper bound). <NA> where a contestant has no CI; a contestant
    without one never counts as above another."""
    known = np.isfinite(low) & np.isfinite(high)
    above = (low[None, :] > high[:, None]) & known[None, :]
    ranks = pd.Series(1 + above.sum(axis=1), dtype="Int64")
    return ranks.where(known, pd.NA)


def _empty_table() -> pd.DataFrame:
    return pd.DataFrame(columns=TABLE_COLUMNS)


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
    """Mean naturalness, reliability and diversity per model version, with 95% CIs.

    The CI is the t-interval clipped to the 1-5 scale; with fewer than `MIN_CI_RATINGS` ratings
    there is none (NaN bounds, `too_few` True), since a t-interval on 2 or 3 ratings is mostly
    outside the scale."""
    columns = ["model_version", "axis", "mean", "ci_low", "ci_high", "too_few", "count"]
    long = pd.concat(
        [
            _long(ratings, ("naturalness", "reliability")),
            _long(set_ratings, ("diversity",)),
        ],
        ignore_index=True,
    )
    if long.empty:
        return pd.DataFrame(columns=columns)
    grouped = long.groupby(["model_version", "axis"])["score"]
    summary = grouped.agg(mean="mean", std="std", count="count").reset_index()
    half = summary.apply(_t_half_width, axis=1)
    summary["too_few"] = summary["count"] < MIN_CI_RATINGS
    bottom, top = RATING_SCALE
    summary["ci_low"] = (summary["mean"] - half).clip(bottom, top).where(~summary["too_few"])
    summary["ci_high"] = (summary["mean"] + half).clip(bottom, top).where(~summary["too_few"])
    order = {axis: i for i, axis in enumerate(RATING_AXES)}
    summary = summary.sort_values(["model_version", "axis"], key=lambda c: c.map(order) if c.name == "axis" else c)
    return summary[columns].reset_index(drop=True)


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
