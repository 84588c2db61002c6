"""Standings read from the database: the arena leaderboards, rating means, the arena's verdict.

Each function reads frames (feedback_db.arena, feedback_db.frames) in the caller's session and
hands them to the pure statistics of feedback_db.leaderboard.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import pandas as pd
from sqlalchemy.orm import Session

from feedback_db.arena import BASE_VERSION, battles_frame
from feedback_db.frames import ratings_frame, set_ratings_frame
from feedback_db.hygiene import VoteHygiene
from feedback_db.leaderboard import (
    DEFAULT_ROUNDS,
    SCORE_OF_A,
    HeadToHead,
    Leaderboard,
    compute_leaderboard,
    head_to_head,
    rating_means,
)
from feedback_db.personal import personal_version_names
from feedback_db.versions import active_version

Decision = Literal["promote", "retire", "wait"]
# Which arena battles: two versions on their own defaults, or two sampling presets of one version.
BattleKind = Literal["versions", "presets"]


@dataclass(frozen=True)
class ArenaVerdict:
    """What the arena says about a candidate against the active version."""

    decision: Decision
    candidate: str
    opponent: str
    result: HeadToHead
    reason: str


def _battles(session: Session, kind: BattleKind, *, modality: str, since: datetime | None = None) -> pd.DataFrame:
    """The voted battles of one kind (`feedback_db.arena.battles_frame` holds both kinds)."""
    battles = battles_frame(session, modality=modality, since=since)
    return battles[battles["kind"] == kind]


def leaderboard(
    session: Session,
    kind: BattleKind,
    *,
    modality: str,
    since: datetime | None = None,
    rounds: int = DEFAULT_ROUNDS,
    seed: int = 0,
    hygiene: VoteHygiene | None = None,
    battle_ids: Collection[int] | None = None,
) -> Leaderboard:
    """The arena leaderboard of one kind of battle ("versions": versions against each other on
    their own defaults; "presets": sampling presets of one version), voted on since `since` (all
    when None), with `rounds` bootstrap rounds for its CIs drawn from `seed` (`feedback_db.leaderboard`),
    its votes filtered by `hygiene` first (feedback_db/hygiene.py; None: every vote counts).
    `battle_ids`: only these battles (a category leaderboard); all when None."""
    battles = battles_frame(session, modality=modality, since=since)
    return board_of(battles, kind, rounds=rounds, seed=seed, hygiene=hygiene, battle_ids=battle_ids)


def board_of(
    battles: pd.DataFrame,
    kind: BattleKind,
    *,
    rounds: int = DEFAULT_ROUNDS,
    seed: int = 0,
    hygiene: VoteHygiene | None = None,
    battle_ids: Collection[int] | None = None,
) -> Leaderboard:
    """`leaderboard` over battles already read (`feedback_db.arena.battles_frame` of one
    modality), so a page that shows several boards reads and parses the votes once."""
    battles = battles[battles["kind"] == kind]
    if battle_ids is not None:
        battles = battles[battles["battle_id"].isin(list(battle_ids))]
    return compute_leaderboard(battles, rounds=rounds, seed=seed, hygiene=hygiene)


def preset_votes(session: Session, *, modality: str, since: datetime | None = None) -> pd.DataFrame:
    """Arena votes per sampling preset, for the learned sampling defaults.

    One row per (version, preset): the knob and value it sets (e.g. temperature 0.7), battles,
    wins, losses, ties, both-bad and the win rate (ties half, both-bad left out). Empty when
    no preset battle has been voted on.
    """
    battles = _battles(session, "presets", modality=modality, since=since)
    columns = ["version", "preset", "knob", "value", "battles", "wins", "losses", "ties", "both_bad", "win_rate"]
    if battles.empty:
        return pd.DataFrame(columns=columns)
    # 1. Each battle seen from both sides: the preset, and its score (1, 0.5, 0; NaN for both-bad).
    sides = pd.concat(
        [
            pd.DataFrame(
                {
                    "version": battles["version_a"],
                    "preset": battles["preset_a"],
                    "score": battles["outcome"].map(SCORE_OF_A),
                    "outcome": battles["outcome"],
                }
            ),
            pd.DataFrame(
                {
                    "version": battles["version_b"],
                    "preset": battles["preset_b"],
                    "score": 1.0 - battles["outcome"].map(SCORE_OF_A),
                    "outcome": battles["outcome"],
                }
            ),
        ],
        ignore_index=True,
    )
    # 2. Count per preset.
    grouped = sides.groupby(["version", "preset"])
    table = grouped.agg(
        battles=("outcome", "size"),
        wins=("score", lambda s: int((s == 1.0).sum())),
        losses=("score", lambda s: int((s == 0.0).sum())),
        ties=("score", lambda s: int((s == 0.5).sum())),
        both_bad=("outcome", lambda s: int((s == "both_bad").sum())),
        win_rate=("score", "mean"),
    ).reset_index()
    knob_value = table["preset"].str.split("=", n=1, expand=True)
    table["knob"] = knob_value[0].replace({"guidance": "guidance_scale"})
    table["value"] = pd.to_numeric(knob_value[1], errors="coerce")
    return table[columns]


def version_rating_means(session: Session, *, modality: str, since: datetime | None = None) -> pd.DataFrame:
    """Mean naturalness, reliability and diversity per global version, with 95% CIs and counts
    (personal versions are left out: this table is shown to everyone)."""
    personal = personal_version_names(session, modality=modality)
    ratings = ratings_frame(session, modality=modality, since=since, include_withheld=True)
    sets = set_ratings_frame(session, modality=modality, since=since, include_withheld=True)
    return rating_means(_without(ratings, personal), _without(sets, personal))


def _without(frame: pd.DataFrame, versions: set[str]) -> pd.DataFrame:
    return frame[~frame["model_version"].isin(versions)] if not frame.empty else frame


def arena_verdict(session: Session, *, modality: str, candidate: str, min_battles: int, seed: int = 0) -> ArenaVerdict:
    """Promote, retire or wait, from the candidate's direct battles with the active version.

    The rule (docs/RETRAIN.md, "Arena gate"): with at least `min_battles` ranked battles (ties
    count half, both-bad is left out), promote when the 95% CI of the candidate's win rate lies
    above 0.5, retire when it lies below, and wait otherwise.
    """
    active = active_version(session, modality=modality)
    opponent = active.name if active is not None else BASE_VERSION
    return judge(head_to_head(_battles(session, "versions", modality=modality), candidate, opponent, seed=seed), min_battles=min_battles)


def judge(result: HeadToHead, *, min_battles: int) -> ArenaVerdict:
    """The arena gate's rule on one head-to-head record (`arena_verdict`; the personal gate,
    feedback_db/personal_arena.py, reads its owner's record the same way)."""
    if min_battles < 1:
        raise ValueError("min_battles must be at least 1")
    candidate, opponent = result.contestant, result.opponent
    if result.battles < min_battles:
        return ArenaVerdict("wait", candidate, opponent, result, f"{result.battles} of {min_battles} battles against {opponent} so far")
    ci = f"win rate {result.win_rate:.2f}, 95% CI [{result.ci_low:.2f}, {result.ci_high:.2f}] over {result.battles} battles"
    if result.ci_low > 0.5:
        return ArenaVerdict("promote", candidate, opponent, result, f"beats {opponent}: {ci}")
    if result.ci_high < 0.5:
        return ArenaVerdict("retire", candidate, opponent, result, f"loses to {opponent}: {ci}")
    return ArenaVerdict("wait", candidate, opponent, result, f"no clear winner yet against {opponent}: {ci}")
