"""The Bradley-Terry model on a win matrix: the fit, the Elo scale, the win matrix of cells.

P(i beats j) = sigmoid(s_i - s_j), fitted by maximum likelihood on the pairwise win counts with a
weak Gaussian prior (`PRIOR_STRENGTH`) so an unbeaten version gets a finite score. Scores are
shown on the Elo scale (400 points = 10:1 odds), centred so the mean version scores 1000.
Shared by the leaderboard (feedback_db/leaderboard.py) and the outlier test of vote hygiene
(feedback_db/hygiene.py).
"""

from __future__ import annotations

import numpy as np
from scipy import optimize

ELO_SCALE = 400 / np.log(10)
ELO_CENTRE = 1000.0
PRIOR_STRENGTH = 1e-3  # alpha in alpha * sum(s^2), as `choix.opt_pairwise` writes it
# What a win is worth to side A for each outcome; both_bad is absent on purpose (it ranks nothing).
SCORE_OF_A = {"a": 1.0, "b": 0.0, "tie": 0.5}


def fit_bradley_terry(wins: np.ndarray, *, alpha: float = PRIOR_STRENGTH, start: np.ndarray | None = None) -> np.ndarray:
    """Log-strengths s maximising sum W_ij log sigmoid(s_i - s_j) - alpha * sum s^2, mean 0.

    `wins[i, j]` is how often i beat j (ties already split in halves).
    """
    size = wins.shape[0]

    def objective(s: np.ndarray) -> tuple[float, np.ndarray]:
        diff = s[:, None] - s[None, :]
        loss = float(np.sum(wins * np.logaddexp(0.0, -diff)) + alpha * np.sum(s * s))
        pull = wins * sigmoid(-diff)  # d loss / d diff_ij = -pull_ij
        gradient = -pull.sum(axis=1) + pull.sum(axis=0) + 2 * alpha * s
        return loss, gradient

    initial = np.zeros(size) if start is None else start
    result = optimize.minimize(objective, initial, jac=True, method="L-BFGS-B", options={"gtol": 1e-8})
    strengths: np.ndarray = result.x - result.x.mean()
    return strengths


def sigmoid(x: np.ndarray) -> np.ndarray:
    return np.asarray(0.5 * (1.0 + np.tanh(0.5 * x)))  # stable for large |x|


def to_elo(strengths: np.ndarray) -> np.ndarray:
    return np.asarray(ELO_CENTRE + ELO_SCALE * (strengths - strengths.mean()), dtype=float)


def win_matrix(size: int, a: np.ndarray, b: np.ndarray, score_a: np.ndarray, amounts: np.ndarray) -> np.ndarray:
    """W[i, j]: how much i beat j, from battles (or cells) a vs b with A's score (1, 0.5, 0)
    and each one's amount (a count, or a sum of vote weights)."""
    wins = np.zeros((size, size))
    np.add.at(wins, (a, b), amounts * score_a)
    np.add.at(wins, (b, a), amounts * (1.0 - score_a))
    return wins
