"""The Bradley-Terry model on a win matrix: the fit, the Elo scale, the win matrix of cells.

P(i beats j) = sigmoid(s_i - s_j), fitted by maximum likelihood on the pairwise win counts with a
weak Gaussian prior (`PRIOR_STRENGTH`) so an unbeaten version gets a finite score. Scores are
shown on the Elo scale (400 points = 10:1 odds), centred so the mean version scores 1000.
Shared by the leaderboard (feedback_db/leaderboard.py) and the outlier test of vote hygiene
(feedback_db/outliers.py).

The fit is Newton's method with step halving, run on a stack of win matrices at once (the
bootstrap's rounds, the outlier test's leave-one-voter-out fits): the objective is convex with a
contestants x contestants Hessian, so a few Newton steps from a warm start replace a quasi-Newton
run per matrix, and the whole stack costs a handful of array operations and batched solves
instead of hundreds of optimiser calls (whose many tiny BLAS calls were what made them slow on a
busy 2-core machine).
"""

from __future__ import annotations

import numpy as np

ELO_SCALE = 400 / np.log(10)
ELO_CENTRE = 1000.0
PRIOR_STRENGTH = 1e-3  # alpha in alpha * sum(s^2), as `choix.opt_pairwise` writes it
# What a win is worth to side A for each outcome; both_bad is absent on purpose (it ranks nothing).
SCORE_OF_A = {"a": 1.0, "b": 0.0, "tie": 0.5}
MAX_NEWTON_STEPS = 100
MAX_HALVINGS = 40
STEP_TOLERANCE = 1e-10  # stop once no strength moves by more than this against the others
STACK_ELEMENTS = 2_000_000  # matrices fitted together: at most this many cells (memory bound)


def fit_bradley_terry(wins: np.ndarray, *, alpha: float = PRIOR_STRENGTH, start: np.ndarray | None = None) -> np.ndarray:
    """Log-strengths s maximising sum W_ij log sigmoid(s_i - s_j) - alpha * sum s^2, mean 0.

    `wins[i, j]` is how often i beat j (ties already split in halves).
    """
    return np.asarray(fit_stack(wins[None], alpha=alpha, start=start)[0])


def fit_stack(wins: np.ndarray, *, alpha: float = PRIOR_STRENGTH, start: np.ndarray | None = None) -> np.ndarray:
    """The fit of each matrix of `wins` (stack x contestants x contestants): stack x contestants,
    each row of mean 0; every matrix starts from `start` (zeros when None)."""
    depth, size = wins.shape[0], wins.shape[1]
    per_chunk = max(1, STACK_ELEMENTS // max(size * size, 1))
    fits = [_newton(wins[k : k + per_chunk], alpha, start) for k in range(0, depth, per_chunk)]
    strengths = np.concatenate(fits) if fits else np.empty((0, size))
    return np.asarray(strengths - strengths.mean(axis=1, keepdims=True))


def _newton(wins: np.ndarray, alpha: float, start: np.ndarray | None) -> np.ndarray:
    # 1. Start every matrix from `start`; `met` (battles between i and j) shapes the curvature.
    depth, size = wins.shape[0], wins.shape[1]
    s = np.zeros((depth, size)) if start is None else np.tile(np.asarray(start, dtype=float), (depth, 1))
    met = wins + wins.transpose(0, 2, 1)
    ridge = 2 * alpha * np.eye(size)
    loss = _loss(wins, s, alpha)
    for _ in range(MAX_NEWTON_STEPS):
        # 2. Gradient and Hessian of the penalised negative log-likelihood, one per matrix.
        diff = s[:, :, None] - s[:, None, :]
        pull = wins * sigmoid(-diff)  # d loss / d diff_ij = -pull_ij
        gradient = pull.sum(axis=1) - pull.sum(axis=2) + 2 * alpha * s
        curvature = met * sigmoid(diff) * sigmoid(-diff)
        hessian = -curvature + ridge
        hessian[:, np.arange(size), np.arange(size)] += curvature.sum(axis=2)
        step = np.linalg.solve(hessian, gradient[:, :, None])[:, :, 0]
        # 3. Halve each matrix's step until its loss does not rise (a full step almost always).
        scale = np.ones(depth)
        for _ in range(MAX_HALVINGS):
            candidate = s - scale[:, None] * step
            new_loss = _loss(wins, candidate, alpha)
            worse = new_loss > loss + 1e-12 * np.abs(loss)
            if not worse.any():
                break
            scale[worse] /= 2
        s, loss = candidate, new_loss
        # The mean of s is pinned only by the weak prior, so rounding moves it more than the
        # differences, which are all the scores depend on: convergence is judged on those.
        moved = scale[:, None] * (step - step.mean(axis=1, keepdims=True))
        if np.max(np.abs(moved), initial=0.0) < STEP_TOLERANCE:
            break
    return s


def _loss(wins: np.ndarray, s: np.ndarray, alpha: float) -> np.ndarray:
    diff = s[:, :, None] - s[:, None, :]
    return np.asarray(np.sum(wins * np.logaddexp(0.0, -diff), axis=(1, 2)) + alpha * np.sum(s * s, axis=1))


def sigmoid(x: np.ndarray) -> np.ndarray:
    return np.asarray(0.5 * (1.0 + np.tanh(0.5 * x)))  # stable for large |x|


def to_elo(strengths: np.ndarray) -> np.ndarray:
    return np.asarray(ELO_CENTRE + ELO_SCALE * (strengths - strengths.mean()), dtype=float)


def scores_of_a(outcome: np.ndarray) -> np.ndarray:
    """`SCORE_OF_A` of each outcome ("a", "b", "tie"), NaN for both-bad or anything else."""
    outcome = np.asarray(outcome)
    return np.select([outcome == "a", outcome == "b", outcome == "tie"], [1.0, 0.0, 0.5], default=np.nan)


def win_matrix(size: int, a: np.ndarray, b: np.ndarray, score_a: np.ndarray, amounts: np.ndarray) -> np.ndarray:
    """W[i, j]: how much i beat j, from battles (or cells) a vs b with A's score (1, 0.5, 0)
    and each one's amount (a count, or a sum of vote weights). `amounts` may have a leading
    axis (one row per bootstrap round): then one matrix per row."""
    rows = np.atleast_2d(amounts)
    offset = (np.arange(len(rows)) * size * size)[:, None]
    cells = len(rows) * size * size
    forward = np.bincount((offset + a * size + b).ravel(), (rows * score_a).ravel(), cells)
    backward = np.bincount((offset + b * size + a).ravel(), (rows * (1.0 - score_a)).ravel(), cells)
    wins = (forward + backward).reshape(len(rows), size, size)
    return wins if np.ndim(amounts) > 1 else wins[0]
