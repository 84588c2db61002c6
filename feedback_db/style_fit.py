"""Bradley-Terry with style covariates (style control), fitted by Newton's method, with bootstrap CIs.

The model (docs/ARENA.md, "Style control"): for battle i between versions a and b with style
covariates x_i (feedback_db/style.py),

    P(A wins) = sigmoid(s_a - s_b + x_i . beta)

so a version's strength s is what is left of its wins once voters' taste for length and Markdown
(beta) is accounted for. A tie is half a win, both-bad is left out, votes may carry weights (vote
hygiene's down-weighted prompts). The same weak Gaussian prior as the plain fit
(feedback_db/bradley_terry.py) keeps every parameter finite.

CIs: a bootstrap over battles, made cheap by linearising the estimator around the full-data fit
(the one-step bootstrap): each round draws battle counts c (multinomial, as resampling N battles
with replacement) and moves the fit by one Newton step, H^-1 * sum_i (c_i - 1) g_i, where g_i is
battle i's score vector and H the full-data Hessian. With hundreds of votes per version this
agrees with refitting each round to well under the CI's width, and costs one matrix product
instead of one fit per round.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from feedback_db.bradley_terry import PRIOR_STRENGTH, sigmoid

MAX_NEWTON_STEPS = 50
ROUNDS_PER_CHUNK = 25  # bootstrap rounds drawn at once: 25 x N weights in memory


@dataclass(frozen=True)
class StyleFit:
    strengths: np.ndarray  # log-strengths, mean 0, one per contestant
    coefficients: np.ndarray  # one per covariate, on the logit scale
    strength_samples: np.ndarray  # bootstrap rounds x contestants (empty without rounds)
    coefficient_samples: np.ndarray  # bootstrap rounds x covariates


@dataclass(frozen=True)
class _Design:
    size: int
    a: np.ndarray
    b: np.ndarray
    x: np.ndarray  # battles x covariates
    y: np.ndarray  # A's score: 1, 0.5 or 0
    w: np.ndarray  # vote weights

    def logits(self, theta: np.ndarray) -> np.ndarray:
        s, beta = theta[: self.size], theta[self.size :]
        return np.asarray(s[self.a] - s[self.b] + self.x @ beta)


def fit_style(
    size: int,
    a: np.ndarray,
    b: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    *,
    rounds: int,
    seed: int,
    alpha: float = PRIOR_STRENGTH,
) -> StyleFit:
    """Strengths of `size` contestants and coefficients of the columns of `x` (see the module)."""
    # 1. The point estimate.
    design = _Design(size, a, b, np.asarray(x, dtype=float), np.asarray(y, dtype=float), np.asarray(w, dtype=float))
    theta = _newton(design, alpha)
    strengths = theta[:size] - theta[:size].mean()
    # 2. The linearised bootstrap around it.
    samples = _bootstrap(design, theta, alpha, rounds, seed)
    centred = samples[:, :size] - samples[:, :size].mean(axis=1, keepdims=True)
    return StyleFit(strengths, theta[size:], centred, samples[:, size:])


def _loss(design: _Design, theta: np.ndarray, alpha: float) -> float:
    z = design.logits(theta)
    nll = design.w * (design.y * np.logaddexp(0.0, -z) + (1.0 - design.y) * np.logaddexp(0.0, z))
    return float(nll.sum() + alpha * np.sum(theta * theta))


def _gradient_hessian(design: _Design, theta: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Gradient and Hessian of the penalised negative log-likelihood, summed with bincount."""
    size, a, b, x = design.size, design.a, design.b, design.x
    p = sigmoid(design.logits(theta))
    r = design.w * (design.y - p)
    h = design.w * p * (1.0 - p)
    gradient = -np.concatenate([np.bincount(a, r, size) - np.bincount(b, r, size), x.T @ r]) + 2 * alpha * theta
    pair = np.bincount(a * size + b, h, size * size).reshape(size, size)
    block_ss = np.diag(np.bincount(a, h, size) + np.bincount(b, h, size)) - pair - pair.T
    hx = h[:, None] * x
    block_sx = np.column_stack([np.bincount(a, hx[:, f], size) - np.bincount(b, hx[:, f], size) for f in range(x.shape[1])])
    hessian = np.block([[block_ss, block_sx.reshape(size, -1)], [block_sx.reshape(size, -1).T, x.T @ hx]])
    return gradient, hessian + 2 * alpha * np.eye(len(theta))


def _newton(design: _Design, alpha: float) -> np.ndarray:
    """Newton's method with step halving (the loss is convex; halving guards the first steps)."""
    theta = np.zeros(design.size + design.x.shape[1])
    loss = _loss(design, theta, alpha)
    for _ in range(MAX_NEWTON_STEPS):
        gradient, hessian = _gradient_hessian(design, theta, alpha)
        step = np.linalg.solve(hessian, gradient)
        scale = 1.0
        while scale > 1e-6:
            candidate = theta - scale * step
            new_loss = _loss(design, candidate, alpha)
            if new_loss <= loss + 1e-12:
                break
            scale /= 2
        theta, loss = candidate, new_loss
        if np.max(np.abs(scale * step)) < 1e-9:
            break
    return theta


def _bootstrap(design: _Design, theta: np.ndarray, alpha: float, rounds: int, seed: int) -> np.ndarray:
    """Rounds x parameters: theta + H^-1 * sum_i (c_i - 1) * g_i for multinomial counts c."""
    n, width = len(design.y), len(theta)
    if rounds < 1 or n == 0:
        return np.empty((0, width))
    # 1. Each battle's score g_i = w_i (y_i - p_i) (e_a - e_b, x_i), one row per battle, so a
    #    round's sum over its resampled battles is one matrix product with its counts. Rows are
    #    in pair order, the order the seeded draws below have always indexed.
    order = np.argsort(design.a * design.size + design.b, kind="stable")
    residual = (design.w * (design.y - sigmoid(design.logits(theta))))[order]
    scores = np.zeros((n, width))
    scores[np.arange(n), design.a[order]] += residual
    scores[np.arange(n), design.b[order]] -= residual
    scores[:, design.size :] = residual[:, None] * design.x[order]
    total = scores.sum(axis=0)
    _, hessian = _gradient_hessian(design, theta, alpha)
    inverse = np.linalg.inv(hessian)
    # 2. Counts per round (resampling N battles is a bincount of N draws), in chunks, and the
    #    one Newton step each.
    rng = np.random.default_rng(seed)
    samples = []
    counts = np.empty((min(ROUNDS_PER_CHUNK, rounds), n))
    for start in range(0, rounds, ROUNDS_PER_CHUNK):
        chunk = min(ROUNDS_PER_CHUNK, rounds - start)
        for k in range(chunk):
            counts[k] = np.bincount(rng.integers(0, n, n), minlength=n)
        shift = counts[:chunk] @ scores - total  # sum_i (c_i - 1) g_i, one row per round
        samples.append(theta + shift @ inverse.T)
    return np.concatenate(samples)
