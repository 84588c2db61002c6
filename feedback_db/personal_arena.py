"""Personal versions in the arena: each owner's battles of its own version against the global one.

A personal version is never published (feedback_db/arena.py): it meets the global version (the
active one, or the base model where none is active) only in its owner's battles, and every
battle naming it is left out of the standings shown to everyone. This module reads them:

- `personal_votes`: the owner's ranked votes on its version against an opponent (how often the
  pair sampler picks that pair, `feedback_db.arena.personal_share`);
- `personal_verdicts`: the personal arena gate, the same rule as the global gate
  (`feedback_db.standings.judge`) on each active personal version's record in its owner's votes;
- `global_against_personal`: every owner's votes pooled, personal side against global side,
  for admins (Insights) and the gate's report; never per identity.

Only the owner's own votes count (a battle is its voter's, so no other identity ever votes on a
personal version). Callers own the session and the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, aliased

from feedback_db.arena import BASE_VERSION
from feedback_db.leaderboard import HeadToHead, head_to_head
from feedback_db.schema import Battle, BattleVote, ModelVersion
from feedback_db.standings import ArenaVerdict, judge
from feedback_db.versions import active_version

# The labels of the pooled record: every owner's version as one side, the global one as the other.
PERSONAL, GLOBAL = "personal", "global"


@dataclass(frozen=True)
class PersonalVerdict:
    """The personal gate's verdict on one active personal version (its id, never shown)."""

    version_id: int
    owner_id: int
    verdict: ArenaVerdict


@dataclass(frozen=True)
class PooledStanding:
    """Personal versions against the global one in their owners' votes, pooled (ties half,
    both-bad left out), and how many identities voted."""

    result: HeadToHead
    voters: int


def personal_votes(session: Session, *, modality: str, owner_id: int, version: str, opponent: str) -> int:
    """The owner's ranked votes (both-bad left out, as the gate counts them) on `version` against `opponent`."""
    pair = or_(
        and_(Battle.version_a == version, Battle.version_b == opponent),
        and_(Battle.version_a == opponent, Battle.version_b == version),
    )
    statement = (
        select(func.count())
        .select_from(Battle)
        .join(BattleVote, BattleVote.battle_id == Battle.id)
        .where(Battle.modality == modality, BattleVote.voter_id == owner_id, BattleVote.outcome != "both_bad", pair)
    )
    return int(session.scalar(statement) or 0)


def personal_battles_frame(session: Session, *, modality: str, since: datetime | None = None) -> pd.DataFrame:
    """One row per voted battle of a personal version, voted by its owner: battle_id, owner_id,
    version_id, personal (its name), opponent, outcome and contestant_a/b (names) as the
    leaderboard's `head_to_head` reads them."""
    personal = aliased(ModelVersion)
    statement = (
        select(
            Battle.id.label("battle_id"),
            personal.owner_id,
            personal.id.label("version_id"),
            personal.name.label("personal"),
            Battle.version_a.label("contestant_a"),
            Battle.version_b.label("contestant_b"),
            BattleVote.outcome,
        )
        .join(BattleVote, BattleVote.battle_id == Battle.id)
        .join(
            personal,
            and_(personal.owner_id == BattleVote.voter_id, or_(personal.name == Battle.version_a, personal.name == Battle.version_b)),
        )
        .where(Battle.modality == modality)
        .order_by(Battle.id)
    )
    if since is not None:
        statement = statement.where(BattleVote.created_at >= since)
    frame = pd.read_sql(statement, session.connection()).drop_duplicates("battle_id")
    frame["opponent"] = frame["contestant_b"].where(frame["contestant_a"] == frame["personal"], frame["contestant_a"])
    return frame


def personal_verdicts(session: Session, *, modality: str, min_battles: int, seed: int = 0) -> list[PersonalVerdict]:
    """The gate's verdict on every active personal version of `modality`, from its owner's
    battles against the active global version (a new global version starts the record afresh)."""
    active = active_version(session, modality=modality)
    opponent = active.name if active is not None else BASE_VERSION
    battles = personal_battles_frame(session, modality=modality)
    versions = session.execute(
        select(ModelVersion.id, ModelVersion.owner_id, ModelVersion.name)
        .where(ModelVersion.modality == modality, ModelVersion.owner_id.is_not(None), ModelVersion.status == "active")
        .order_by(ModelVersion.id)
    )
    verdicts = []
    for version_id, owner_id, name in versions.all():
        result = head_to_head(battles[battles["version_id"] == version_id], name, opponent, seed=seed)
        verdicts.append(PersonalVerdict(version_id, int(owner_id or 0), judge(result, min_battles=min_battles)))
    return verdicts


def global_against_personal(
    session: Session, *, modality: str, opponent: str | None = None, since: datetime | None = None, seed: int = 0
) -> PooledStanding:
    """Every owner's votes on its personal version against the global one, pooled as one
    record of `PERSONAL` against `GLOBAL`; `opponent` keeps only battles against that global
    version (None: whichever was active at the time). The CI resamples battles, so with few
    voters it reads narrower than the spread between identities."""
    battles = personal_battles_frame(session, modality=modality, since=since)
    if opponent is not None:
        battles = battles[battles["opponent"] == opponent]
    personal_on_a = battles["contestant_a"] == battles["personal"]
    pooled = pd.DataFrame(
        {
            "contestant_a": personal_on_a.map({True: PERSONAL, False: GLOBAL}),
            "contestant_b": personal_on_a.map({True: GLOBAL, False: PERSONAL}),
            "outcome": battles["outcome"],
        }
    )
    ranked = battles[battles["outcome"] != "both_bad"]
    return PooledStanding(head_to_head(pooled, PERSONAL, GLOBAL, seed=seed), int(ranked["owner_id"].nunique()))


def owned_versions(session: Session, *, modality: str, owner_id: int) -> dict[str, str]:
    """Name -> status of `owner_id`'s own personal versions of `modality` (its battle's reveal)."""
    rows = session.execute(
        select(ModelVersion.name, ModelVersion.status).where(ModelVersion.modality == modality, ModelVersion.owner_id == owner_id)
    )
    return {name: status for name, status in rows.all()}
