"""Vote hygiene: which arena votes count, and with what weight, before the leaderboard's fit.

Pure functions of a battles frame (feedback_db/arena.py `battles_frame`). The rules, in order
(docs/ARENA.md, "Vote hygiene"); each is a field of `VoteHygiene`, which the caller builds from
its settings, and each can be switched off:

1. Daily cap: a voter's votes after the first `daily_cap` of a UTC day are not counted.
2. Revealing answers: a vote is not counted when either answer names a version of the battle
   or a model name (`model_names`), as a whole word, case-insensitive (the voter may have
   voted for the name). The version "base" is not looked for: it is an ordinary word.
3. Repeated prompts: a prompt asked more than `repeat_factor` times the median count of the
   prompts is down-weighted, each vote to sqrt(threshold / count), so its total weight grows
   like the square root of its count instead of linearly. Such votes still count.
4. Outlier voters: feedback_db/outliers.py; all the votes of a flagged voter are not counted.

A rule whose columns the frame lacks (user_id, voted_at, prompt, text_a/text_b) is skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from feedback_db.outliers import outlier_voters
from feedback_db.style import text_array

BASE_VERSION_NAME = "base"
RULES = ("daily_cap", "reveals_model", "outlier_voter")


@dataclass(frozen=True)
class VoteHygiene:
    """The rules' settings; defaults as in playground/core/settings.py (README settings table)."""

    daily_cap: int = 100  # votes per voter per UTC day; 0: no cap
    reveal_filter: bool = True  # leave out votes whose answers name a version or model
    model_names: tuple[str, ...] = ()  # model names looked for besides the battle's versions
    repeat_factor: float = 10.0  # down-weight prompts asked more than this x the median; 0: off
    outlier_rate: float = 0.001  # false-flag rate of the per-voter test; 0: off
    outlier_min_votes: int = 20  # decisive votes a voter needs before being tested
    seed: int = 0

    def __post_init__(self) -> None:
        if self.daily_cap < 0 or self.repeat_factor < 0 or self.outlier_min_votes < 1 or not 0 <= self.outlier_rate < 1:
            raise ValueError("vote hygiene: daily_cap and repeat_factor must be >= 0, outlier_min_votes >= 1, outlier_rate in [0, 1)")


@dataclass(frozen=True)
class HygieneResult:
    keep: np.ndarray  # per battle: counted or not
    weight: np.ndarray  # per battle: its weight in the fit (1 unless its prompt is repeated)
    excluded: dict[str, int] = field(default_factory=dict)  # rule -> votes not counted
    outlier_voters: int = 0  # voters flagged by the outlier test
    down_weighted: int = 0  # counted votes with weight below 1


def apply_hygiene(battles: pd.DataFrame, hygiene: VoteHygiene, *, size: int, a: np.ndarray, b: np.ndarray) -> HygieneResult:
    """Which of `battles` count and their weights; `a`, `b` are the contestants' indices."""
    keep = np.ones(len(battles), dtype=bool)
    excluded = dict.fromkeys(RULES, 0)
    # 1. The daily cap.
    if hygiene.daily_cap and {"user_id", "voted_at"} <= set(battles.columns):
        over = _over_daily_cap(battles, hygiene.daily_cap)
        excluded["daily_cap"] = int(np.sum(over & keep))
        keep &= ~over
    # 2. Answers that name a version or model.
    if hygiene.reveal_filter and {"text_a", "text_b"} <= set(battles.columns):
        reveals = _reveals_model(battles, hygiene.model_names)
        excluded["reveals_model"] = int(np.sum(reveals & keep))
        keep &= ~reveals
    # 3. Weights for repeated prompts (among the votes still counted).
    weight = np.ones(len(battles))
    if hygiene.repeat_factor and "prompt" in battles.columns:
        weight = _prompt_weights(battles["prompt"], keep, hygiene.repeat_factor)
    # 4. Outlier voters, tested on what is left.
    flagged_voters = 0
    if hygiene.outlier_rate and "user_id" in battles.columns:
        voters = battles["user_id"].to_numpy()
        rule = (hygiene.outlier_rate, hygiene.outlier_min_votes, hygiene.seed)
        flagged = outlier_voters(size, a, b, battles["outcome"].to_numpy(dtype=str), voters, keep, weight, *rule)
        out = pd.Series(voters).isin(flagged).to_numpy(dtype=bool) & keep
        excluded["outlier_voter"], flagged_voters = int(out.sum()), len(flagged)
        keep &= ~out
    return HygieneResult(keep, weight, excluded, flagged_voters, int(np.sum(keep & (weight < 1))))


def _over_daily_cap(battles: pd.DataFrame, cap: int) -> np.ndarray:
    """True for a vote after its voter's first `cap` votes of the same UTC day."""
    # 1. One group per (voter, UTC day); votes in time order within it (ties: frame order).
    moments = pd.to_datetime(battles["voted_at"], utc=True).to_numpy(dtype="datetime64[ns]").astype(np.int64)
    voter, _ = pd.factorize(battles["user_id"])
    day = moments // (86_400 * 10**9)
    day = day - (day.min() if len(day) else 0)
    group = voter * (int(day.max()) + 1 if len(day) else 1) + day
    order = np.lexsort((np.arange(len(moments)), moments, group))
    # 2. Each vote's place in its group: its position less where the group starts.
    sorted_group = group[order]
    starts = np.flatnonzero(np.r_[True, sorted_group[1:] != sorted_group[:-1]])
    place = np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)]))
    over = np.zeros(len(battles), dtype=bool)
    over[order] = place >= cap
    return over


def _reveals_model(battles: pd.DataFrame, model_names: tuple[str, ...]) -> np.ndarray:
    """True where either answer names one of the versions in the frame or a model name."""
    versions: set[str] = set()
    for column in ("version_a", "version_b"):
        if column in battles.columns:
            versions |= {str(name) for name in battles[column].dropna().unique()}
    names = sorted({n.strip() for n in (versions | set(model_names)) if len(n.strip()) >= 2} - {BASE_VERSION_NAME}, key=len, reverse=True)
    if not names:
        return np.zeros(len(battles), dtype=bool)
    # A whole word: no letter, digit, _ or - on either side (RE2, run by pyarrow over all answers).
    pattern = r"(?:^|[^\w-])(?:" + "|".join(re.escape(n) for n in names) + r")(?:[^\w-]|$)"
    found = np.zeros(len(battles), dtype=bool)
    for column in ("text_a", "text_b"):
        answers = text_array(battles[column])
        hits = pc.match_substring_regex(answers, pattern, ignore_case=True).fill_null(False)
        found |= hits.to_numpy(zero_copy_only=False).astype(bool)
    return found


def _prompt_weights(prompts: pd.Series, keep: np.ndarray, factor: float) -> np.ndarray:
    """sqrt(threshold / count) for votes on a prompt counted more than threshold = factor x median."""
    # Prompts as integer codes, counted with bincount over the counted votes only.
    codes, _ = pd.factorize(prompts.fillna("").astype(str).str.strip().str.lower())
    counts = np.bincount(codes[keep], minlength=int(codes.max(initial=-1)) + 1).astype(float)
    weight = np.ones(len(codes))
    if not keep.any():
        return weight
    threshold = factor * float(np.median(counts[counts > 0]))
    per_vote = counts[codes]  # 0 for a prompt whose votes are all left out
    heavy = per_vote > threshold
    weight[heavy] = np.sqrt(threshold / per_vote[heavy])
    return weight
