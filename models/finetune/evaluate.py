"""The gate: is a new version better than the active one on held-out feedback, with evidence?

Both versions score the same held-out rows (summed log-probabilities for text, minus denoising
losses for images). The unit of evidence is the held-out *prompt*: rows of one prompt share
completions and are not independent, so each prompt gives one vote.

With pairs (the usual case), as in DPO's implicit reward:

    margin(v) = score_v(chosen) - score_v(rejected)
    gain      = margin(new) - margin(old)          per pair; averaged per prompt

A prompt is a *win* when its mean gain is above `tie_tolerance`, a *loss* below minus it, else a
*tie*. Ties carry no evidence either way and are left out (the sign test's usual treatment).
Under "the new version is no better", wins and losses are equally likely, so the number of
wins among the non-tied prompts is Binomial(n, 1/2): a one-sided exact binomial (sign) test
gives the p-value. The verdict:

- `better`: p <= alpha (default 0.05): a version that is no better is promoted at most 5% of
  the time, whatever the size of the held-out set;
- `insufficient-evidence`: more wins than losses, but p > alpha: this many prompts cannot show a
  difference of this size (`units_needed` says how many could);
- `not-better`: no more wins than losses (including no measurable change at all).

Without held-out pairs, labelled outputs are used: each (prompt, label) group gives its mean
per-token score change, and a one-sided Mann-Whitney U test asks whether desirable groups rose
more than undesirable ones (invariant to a shift that raises every completion alike).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

import numpy as np
from scipy.stats import binom, binomtest, mannwhitneyu

from models.finetune.data import FeedbackDatasets

# Scores (prompt, completion) rows under one version: a score and a token count per row.
Scorer = Callable[[Sequence[str], Sequence[str]], list[tuple[float, int]]]
Verdict = Literal["better", "insufficient-evidence", "not-better"]
SIGN_TEST = "one-sided sign test (exact binomial) on held-out prompts"
RANK_TEST = "one-sided Mann-Whitney U test, desirable vs undesirable held-out prompts"


@dataclass(frozen=True)
class GateConfig:
    alpha: float = 0.05  # one-sided: the most often a version that is no better gets promoted
    tie_tolerance: float = 1e-6  # |mean gain| at or below this is a tie (e.g. an identical version)
    power: float = 0.8  # for "how many prompts would show this difference"


@dataclass
class Evaluation:
    metric: str  # what was compared (pairs or labels)
    test: str  # the statistical test, in words
    verdict: Verdict
    p_value: float
    prompts: int  # held-out prompts that gave a vote (wins + losses + ties)
    wins: int
    losses: int
    ties: int
    rows: int  # held-out rows scored
    old: dict[str, float]
    new: dict[str, float]
    reason: str
    prompts_needed: int | None = None  # to show the observed difference with `power`
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def better(self) -> bool:
        return self.verdict == "better"


def evaluate_pairs(pairs: list[dict[str, Any]], score_old: Scorer, score_new: Scorer, gate: GateConfig = GateConfig()) -> Evaluation:
    """Sign test on per-prompt reward-margin gains of the new version over the old one."""
    # 1. Both versions score chosen and rejected of every held-out pair.
    prompts = [p["prompt"] for p in pairs]
    chosen, rejected = [p["chosen"] for p in pairs], [p["rejected"] for p in pairs]
    margin_old = _values(score_old(prompts, chosen)) - _values(score_old(prompts, rejected))
    margin_new = _values(score_new(prompts, chosen)) - _values(score_new(prompts, rejected))
    gain = margin_new - margin_old
    # 2. One vote per prompt: its mean gain.
    votes = np.array([float(np.mean(g)) for g in _group(prompts, gain).values()])
    wins, losses, ties = _tally(votes, gate.tie_tolerance)
    p_value = sign_test_p(wins, losses)
    old = {"preference_accuracy": float(np.mean(margin_old > 0)), "mean_margin": float(np.mean(margin_old))}
    new = {
        "preference_accuracy": float(np.mean(margin_new > 0)),
        "mean_margin": float(np.mean(margin_new)),
        "mean_reward_margin": float(np.mean(gain)),
    }
    evaluation = Evaluation(
        "held-out pairs: reward margin per prompt",
        SIGN_TEST,
        "not-better",
        p_value,
        len(votes),
        wins,
        losses,
        ties,
        len(pairs),
        old,
        new,
        "",
    )
    return _decide(evaluation, gate)


def evaluate_votes(
    metric: str, votes: np.ndarray, rows: int, old: dict[str, float], new: dict[str, float], gate: GateConfig = GateConfig()
) -> Evaluation:
    """The sign test on per-prompt votes (new minus old, one per prompt) of any kind of evidence."""
    wins, losses, ties = _tally(votes, gate.tie_tolerance)
    evaluation = Evaluation(metric, SIGN_TEST, "not-better", sign_test_p(wins, losses), len(votes), wins, losses, ties, rows, old, new, "")
    return _decide(evaluation, gate)


def evaluate_labels(rows: list[dict[str, Any]], score_old: Scorer, score_new: Scorer, gate: GateConfig = GateConfig()) -> Evaluation:
    """Rank test: did desirable held-out outputs rise more (per token) than undesirable ones?"""
    # 1. Per-token score change of every labelled row.
    prompts, completions = [r["prompt"] for r in rows], [r["completion"] for r in rows]
    old_scores, new_scores = score_old(prompts, completions), score_new(prompts, completions)
    delta = np.array([(n - o) / max(t, 1) for (o, t), (n, _) in zip(old_scores, new_scores, strict=True)])
    # 2. One value per (prompt, label): rows of a prompt are not independent.
    groups = _group([(r["prompt"], bool(r["label"])) for r in rows], delta)
    good = np.array([float(np.mean(v)) for (_, label), v in groups.items() if label])
    bad = np.array([float(np.mean(v)) for (_, label), v in groups.items() if not label])
    # 3. Mann-Whitney U: P(a desirable group rose more than an undesirable one) > 1/2?
    if len(good) and len(bad) and np.ptp(np.concatenate([good, bad])) > gate.tie_tolerance:
        result = mannwhitneyu(good, bad, alternative="greater")
        p_value, u = float(result.pvalue), float(result.statistic)
    else:
        p_value, u = 1.0, 0.5 * len(good) * len(bad)
    wins = int(sum((g > b + gate.tie_tolerance) for g in good for b in bad))
    losses = int(sum((g < b - gate.tie_tolerance) for g in good for b in bad))
    new = {
        "desirable_change": float(good.mean()) if len(good) else 0.0,
        "undesirable_change": float(bad.mean()) if len(bad) else 0.0,
        "win_probability": u / (len(good) * len(bad)) if len(good) and len(bad) else 0.5,
    }
    new["advantage"] = new["desirable_change"] - new["undesirable_change"]
    evaluation = Evaluation(
        "held-out labels: per-token change, desirable vs undesirable",
        RANK_TEST,
        "not-better",
        p_value,
        len(good) + len(bad),
        wins,
        losses,
        len(good) * len(bad) - wins - losses,
        len(rows),
        {"advantage": 0.0},
        new,
        "",
    )
    if not len(good) or not len(bad):
        evaluation.verdict = "insufficient-evidence"
        evaluation.reason = (
            f"the {len(rows)} held-out labelled outputs are all {'desirable' if len(good) else 'undesirable'}: nothing to compare"
        )
        return evaluation
    return _decide(evaluation, gate)


def evaluate_heldout(datasets: FeedbackDatasets, score_old: Scorer, score_new: Scorer, gate: GateConfig = GateConfig()) -> Evaluation:
    """The gate for any modality: held-out pairs where there are any, else held-out labels."""
    if datasets.heldout_pairs:
        return evaluate_pairs(datasets.heldout_pairs, score_old, score_new, gate)
    if datasets.heldout_unpaired:
        return evaluate_labels(datasets.heldout_unpaired, score_old, score_new, gate)
    return Evaluation(
        "no held-out feedback",
        SIGN_TEST,
        "insufficient-evidence",
        1.0,
        0,
        0,
        0,
        0,
        0,
        {},
        {},
        f"no held-out feedback yet ({len(datasets.heldout_prompts)} held-out prompts, none rated apart)",
    )


def _decide(evaluation: Evaluation, gate: GateConfig) -> Evaluation:
    """Verdict and reason from the tally and the p-value."""
    e = evaluation
    e.details["alpha"] = gate.alpha
    compared = f"on {e.prompts} held-out prompts the new version was better on {e.wins}, worse on {e.losses}"
    if e.ties:
        compared += f", level on {e.ties}"
    if e.test == RANK_TEST:
        compared = (
            f"on {e.prompts} held-out prompt groups, desirable outputs rose more than undesirable ones in "
            f"{e.wins} of {e.wins + e.losses + e.ties} comparisons"
        )
    test = f"{e.test}: p = {e.p_value:.3g}, promotion needs p <= {gate.alpha:g}"
    if e.p_value <= gate.alpha and e.wins > e.losses:
        e.verdict, e.reason = "better", f"{compared} ({test})"
    elif e.wins > e.losses:
        rate = e.wins / (e.wins + e.losses)
        e.prompts_needed = units_needed(rate, gate.alpha, gate.power) if e.test == SIGN_TEST else None
        need = f"; about {e.prompts_needed} would show it {gate.power:.0%} of the time" if e.prompts_needed else ""
        e.verdict = "insufficient-evidence"
        e.reason = f"{compared} ({test}): {e.prompts} held-out prompts cannot show a difference of this size{need}"
    elif e.wins == e.losses == 0:
        e.verdict, e.reason = "not-better", f"no measurable difference on {e.prompts} held-out prompts"
    else:
        e.verdict, e.reason = "not-better", f"{compared}: the new version is not better ({test})"
    return e


def _values(scores: list[tuple[float, int]]) -> np.ndarray:
    return np.array([score for score, _ in scores], dtype=float)


def _group(keys: Sequence[Any], values: np.ndarray) -> dict[Any, list[float]]:
    groups: dict[Any, list[float]] = defaultdict(list)
    for key, value in zip(keys, values, strict=True):
        groups[key].append(float(value))
    return groups


def _tally(votes: np.ndarray, tolerance: float) -> tuple[int, int, int]:
    wins, losses = int((votes > tolerance).sum()), int((votes < -tolerance).sum())
    return wins, losses, len(votes) - wins - losses


def sign_test_p(wins: int, losses: int) -> float:
    """One-sided exact binomial p of at least `wins` wins among `wins + losses` under one half."""
    if wins + losses == 0:
        return 1.0
    return float(binomtest(wins, wins + losses, 0.5, alternative="greater").pvalue)


# -- power: how many held-out prompts a given difference needs --------------------------------


@lru_cache(maxsize=4096)
def sign_test_power(prompts: int, win_rate: float, alpha: float = 0.05) -> float:
    """Chance that the sign test promotes a version that truly wins `win_rate` of prompts."""
    # The smallest win count significant at alpha, then its probability under the true rate.
    critical = int(binom.isf(alpha, prompts, 0.5)) + 1  # P(X >= critical | 1/2) <= alpha
    return float(binom.sf(critical - 1, prompts, win_rate))


def units_needed(win_rate: float, alpha: float = 0.05, power: float = 0.8, limit: int = 5000) -> int | None:
    """Fewest held-out prompts (without ties) with which the sign test detects `win_rate` with
    probability `power`; None above `limit` (differences that small need another kind of evidence)."""
    if win_rate <= 0.5:
        return None
    for prompts in range(1, limit + 1):
        if sign_test_power(prompts, win_rate, alpha) >= power:
            return prompts
    return None


def power_table(
    win_rates: Sequence[float] = (0.6, 0.65, 0.7, 0.75, 0.8, 0.9), alpha: float = 0.05, power: float = 0.8
) -> list[tuple[float, int | None]]:
    """(true win rate, held-out prompts needed) rows for docs/RETRAIN.md."""
    return [(rate, units_needed(rate, alpha, power)) for rate in win_rates]
