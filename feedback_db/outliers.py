"""The per-voter outlier test of vote hygiene (feedback_db/hygiene.py, docs/ARENA.md).

A voter with at least `min_votes` decisive votes (A or B; ties and both-bad carry no likelihood
here) is tested. Their statistic is the log-likelihood of their votes under the Bradley-Terry fit
of everyone's counted votes, L = sum log P(the side they chose). For a voter who holds at least
`LEAVE_OUT_SHARE` of the votes the fit is redone without their votes, so a heavy voter cannot
make their own votes look likely; a smaller voter moves the fit by less than their share, and the
fit of all votes stands in for the fit without them.

Under the null "this voter votes like the model says", each vote picks A with the model's
probability, so L has a known distribution. A voter is flagged when L is lower than that null
would give with probability `rate` (the false-flag rate per honest voter): first a normal screen
(exact mean and variance of L, for all voters at once), then, for the few voters the screen lets
through, a parametric bootstrap of `max(2000, 5 / rate)` simulated vote sets whose p-value decides.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from feedback_db.bradley_terry import fit_bradley_terry, fit_stack, scores_of_a, sigmoid, win_matrix

LEAVE_OUT_SHARE = 0.01  # voters with at least this share of the votes are left out of their own fit


def outlier_voters(
    size: int,
    a: np.ndarray,
    b: np.ndarray,
    outcome: np.ndarray,
    voters: np.ndarray,
    keep: np.ndarray,
    weight: np.ndarray,
    rate: float,
    min_votes: int,
    seed: int,
) -> set[object]:
    """The voters whose counted votes fail the test (see the module)."""
    # 1. The fit on all counted ranked votes.
    score = scores_of_a(outcome)
    ranked = keep & ~np.isnan(score)
    everyone = win_matrix(size, a[ranked], b[ranked], score[ranked], weight[ranked])
    strengths = fit_bradley_terry(everyone)
    # 2. The voters to test: enough decisive counted votes; their votes grouped by voter.
    all_codes, names = pd.factorize(pd.Series(voters))
    decisive = ranked & (score != 0.5)
    codes = all_codes[decisive]
    tested = np.flatnonzero(np.bincount(codes, minlength=len(names)) >= min_votes)
    share = np.bincount(all_codes[ranked], weight[ranked], minlength=len(names)) / max(float(weight[ranked].sum()), 1e-12)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(names) + 1))
    da, db, dy, dcode = a[decisive][order], b[decisive][order], score[decisive][order], codes[order]
    # 3. Each decisive vote's probability under the reference fit: the fit of all votes, or for
    #    a heavy voter the fit without their own votes (all such refits solved together).
    q = sigmoid(strengths[da] - strengths[db])
    heavy = tested[share[tested] >= LEAVE_OUT_SHARE]
    if len(heavy):
        own = [ranked & (all_codes == code) for code in heavy]
        without = np.stack([np.clip(everyone - win_matrix(size, a[m], b[m], score[m], weight[m]), 0.0, None) for m in own])
        for code, reference in zip(heavy, fit_stack(without, start=strengths), strict=True):
            mine = slice(bounds[code], bounds[code + 1])
            q[mine] = sigmoid(reference[da[mine]] - reference[db[mine]])
    q = np.clip(q, 1e-12, 1 - 1e-12)
    # 4. Screen every voter with the normal approximation, then decide with the parametric
    #    bootstrap, voter by voter in code order (the order the seeded draws are taken in).
    z = _z(q, dy, dcode, len(names))
    screen = stats.norm.ppf(min(0.5, max(0.02, 20 * rate)))
    rng = np.random.default_rng(seed)
    flagged: set[object] = set()
    for code in tested[z[tested] < screen]:
        mine = slice(bounds[code], bounds[code + 1])
        if _bootstrap_p(q[mine], dy[mine], rate, rng) <= rate:
            flagged.add(names[code])
    return flagged


def _log_likelihood(q: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.asarray(np.where(y == 1.0, np.log(q), np.log1p(-q)))


def _z(q: np.ndarray, y: np.ndarray, code: np.ndarray, voters: int) -> np.ndarray:
    """Per voter, (L - E L) / sd L under the null, summed over their votes (`code`); +inf when
    the votes carry no information (all q = 1/2)."""
    logit = np.log(q) - np.log1p(-q)
    observed = np.bincount(code, _log_likelihood(q, y), voters)
    mean = np.bincount(code, q * np.log(q) + (1 - q) * np.log1p(-q), voters)
    var = np.bincount(code, q * (1 - q) * logit * logit, voters)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(var > 1e-12, (observed - mean) / np.sqrt(var), np.inf)


def _bootstrap_p(q: np.ndarray, y: np.ndarray, rate: float, rng: np.random.Generator) -> float:
    """P(L* <= L) with L* from votes simulated under the model (add-one estimate)."""
    draws = max(2000, int(np.ceil(5 / rate)))
    observed = _log_likelihood(q, y).sum()
    simulated = np.where(rng.random((draws, len(q))) < q, np.log(q), np.log1p(-q)).sum(axis=1)
    return float((1 + np.sum(simulated <= observed + 1e-9)) / (draws + 1))
