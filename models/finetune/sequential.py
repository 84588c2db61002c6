"""Evidence that accumulates: an always-valid sign test for a candidate judged night after night.

A candidate kept for "too little evidence" meets new held-out prompts with every night's
feedback. Re-running the fixed-size sign test on the growing tally each night and promoting the
first time p <= alpha would promote a no-better version far more often than alpha (each look is
another chance). The mixture sequential probability ratio test does not have that problem:

    E(wins, losses) = integral over theta in [1/2, 1] of (2 theta)^wins (2 (1 - theta))^losses  d(2 theta)

is the likelihood ratio of "the new version wins a share theta of prompts" against "one half",
averaged over a uniform prior on theta above one half. Under the null it is a nonnegative
supermartingale starting at 1, so by Ville's inequality the chance that it *ever* reaches
1/alpha, however often it is looked at, is at most alpha. Promotion when E >= 1/alpha is
therefore safe to check every night (tests/retrain/test_gate_combination.py simulates 30 nights).

Each prompt counts once: a night adds the votes of held-out prompts this candidate has not been
judged on before.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy.special import betaln
from scipy.stats import beta


def log_e_value(wins: int, losses: int) -> float:
    """log E of the mixture SPRT for the sign test (see the module docstring)."""
    # 2^(w+l+1) * B(w+1, l+1) * P(Beta(w+1, l+1) > 1/2)
    return (wins + losses + 1) * math.log(2) + float(betaln(wins + 1, losses + 1)) + float(beta.logsf(0.5, wins + 1, losses + 1))


def e_value(wins: int, losses: int) -> float:
    return math.exp(log_e_value(wins, losses))


@dataclass(frozen=True)
class RunningEvidence:
    """A candidate's tally over every night so far (each held-out prompt counted once)."""

    wins: int = 0
    losses: int = 0
    ties: int = 0
    nights: int = 0

    def add(self, wins: int, losses: int, ties: int) -> RunningEvidence:
        return RunningEvidence(self.wins + wins, self.losses + losses, self.ties + ties, self.nights + 1)

    @property
    def e_value(self) -> float:
        return e_value(self.wins, self.losses)

    def passes(self, alpha: float) -> bool:
        return log_e_value(self.wins, self.losses) >= math.log(1 / alpha)

    def describe(self, alpha: float) -> str:
        return (
            f"running evidence over {self.nights} night(s): better on {self.wins}, worse on {self.losses} "
            f"of {self.wins + self.losses + self.ties} held-out prompts; e-value {self.e_value:.3g} "
            f"(promotion at {1 / alpha:g})"
        )
