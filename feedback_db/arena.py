"""Arena battles: which two contestants meet, the battle rows, the one vote per battle.

A contestant is a published model version of a modality ("base", active, candidates, retired),
or, while a modality has a single version, a sampling preset of it. The pair sampler
(`choose_pair`) favours pairs with few votes and puts the newest candidate in every battle until
it has `PairPolicy.focus_votes` votes. Callers own the session and the transaction.

Personal versions (feedback_db/personal.py) are never published: one meets the global version
only in its owner's battles (`personal_share`, feedback_db/personal_arena.py), and every battle
that names one is left out of what this module reads for everyone (`pair_votes`, `battles_frame`).
"""

from __future__ import annotations

import itertools
import random
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import ColumnElement, ScalarSelect, and_, delete, func, select
from sqlalchemy.orm import Session

from feedback_db.clean_text import clean_text
from feedback_db.engine import rows_changed
from feedback_db.errors import ArenaError, InvalidInputError, UnknownIdError
from feedback_db.personal import personal_names
from feedback_db.schema import BATTLE_OUTCOMES, MODALITIES, Battle, BattleVote, ModelVersion, Output, utcnow
from feedback_db.style import STYLE_COLUMNS, feature_columns

BASE_VERSION = "base"  # the base model with no adapter; not a row in model_versions
MAX_REASON_CHARS = 500


class BattleNotFinishedError(ArenaError):
    """A vote came before both sides of the battle had finished."""


class AlreadyVotedError(ArenaError):
    """The battle already has its vote."""


class NotYourBattleError(ArenaError):
    """Only the viewer who started a battle votes on it."""


@dataclass(frozen=True, order=True)
class Contestant:
    version: str
    preset: str = ""  # '' = the version's own sampling defaults

    @property
    def label(self) -> str:
        return f"{self.version} · {self.preset}" if self.preset else self.version


@dataclass(frozen=True)
class PublishedVersion:
    name: str
    status: str  # base | candidate | active | retired
    adapter_path: str | None
    created_at: datetime | None


@dataclass(frozen=True)
class PairPolicy:
    """How the server picks the two sides of a battle.

    `focus_votes` defaults to 96: at n votes the 95% CI of a win rate near 0.5 is about
    +/- 1.96 * sqrt(0.25 / n), which is +/- 0.10 at n = 96, so a candidate that wins 60% of its
    battles is told apart from a coin flip after about that many votes.
    `active_weight` makes the active version the newest candidate's most frequent opponent,
    since the promotion gate reads their direct battles.

    A viewer with a personal version of its own gets it against the global version in a share
    of its battles (`personal_share`): every battle (`personal_share_alone`) while the personal
    version has fewer than `focus_votes` of its owner's ranked votes against that global version
    and no global candidate needs votes, since then only the owner can give the evidence its gate
    reads (the same 96 as the personal gate's default minimum); half of them
    (`personal_share_shared`) while a global candidate needs votes too, so neither gate starves;
    a quarter (`personal_share_settled`) once it has them, so the record stays fresh (it is
    read again every night, and a new global version starts it from nought).
    """

    focus_votes: int = 96
    active_weight: float = 3.0
    personal_share_alone: float = 1.0
    personal_share_shared: float = 0.5
    personal_share_settled: float = 0.25


def published_versions(session: Session, *, modality: str) -> list[PublishedVersion]:
    """The base model, then every global version of `modality`, oldest first (never a personal one)."""
    _check_modality(modality)
    rows = session.scalars(
        select(ModelVersion).where(ModelVersion.modality == modality, ModelVersion.owner_id.is_(None)).order_by(ModelVersion.id)
    )
    return [PublishedVersion(BASE_VERSION, "base", None, None)] + [
        PublishedVersion(r.name, r.status, r.adapter_path, r.created_at) for r in rows
    ]


def public_battle() -> ColumnElement[bool]:
    """A battle that names no personal version: the ones any standing shown to everyone reads."""
    personal = personal_names()
    return and_(Battle.version_a.not_in(personal), Battle.version_b.not_in(personal))


def pair_votes(session: Session, *, modality: str) -> Counter[frozenset[Contestant]]:
    """Votes so far per unordered pair of published contestants (personal battles left out)."""
    statement = (
        select(Battle.version_a, Battle.preset_a, Battle.version_b, Battle.preset_b, func.count())
        .join(BattleVote, BattleVote.battle_id == Battle.id)
        .where(Battle.modality == modality, public_battle())
        .group_by(Battle.version_a, Battle.preset_a, Battle.version_b, Battle.preset_b)
    )
    counts: Counter[frozenset[Contestant]] = Counter()
    for version_a, preset_a, version_b, preset_b, count in session.execute(statement):
        counts[frozenset((Contestant(version_a, preset_a), Contestant(version_b, preset_b)))] += count
    return counts


def choose_pair(
    contestants: Sequence[Contestant],
    votes: Mapping[frozenset[Contestant], int],
    rng: random.Random,
    *,
    focus: Contestant | None = None,
    active: Contestant | None = None,
    policy: PairPolicy = PairPolicy(),
) -> tuple[Contestant, Contestant]:
    """Two distinct contestants in random A/B order; pairs with fewer votes are likelier."""
    # 1. Candidate pairs: every pair, or only the focus's pairs while it still needs votes.
    if len(set(contestants)) < 2:
        raise ArenaError("the arena needs two contestants")
    pairs = [frozenset(p) for p in itertools.combinations(sorted(set(contestants)), 2)]
    if needs_votes(focus, votes, policy):
        pairs = [p for p in pairs if focus in p]
    # 2. Weights: 1 / (1 + votes so far), boosted for pairs with the active version.
    weights = [(policy.active_weight if active is not None and active in p else 1.0) / (1 + votes.get(p, 0)) for p in pairs]
    first, second = sorted(rng.choices(pairs, weights=weights, k=1)[0])
    # 3. Random sides, so "A" says nothing about which contestant it is.
    return (first, second) if rng.random() < 0.5 else (second, first)


def needs_votes(focus: Contestant | None, votes: Mapping[frozenset[Contestant], int], policy: PairPolicy = PairPolicy()) -> bool:
    """Whether the focus (the newest global candidate) still has fewer than `focus_votes` votes."""
    return focus is not None and sum(count for pair, count in votes.items() if focus in pair) < policy.focus_votes


def personal_share(owner_votes: int, *, candidate_needs_votes: bool, policy: PairPolicy = PairPolicy()) -> float:
    """The share of a viewer's battles that pit its personal version against the global one,
    given its ranked votes on that pair so far (the reasons: `PairPolicy`)."""
    if owner_votes >= policy.focus_votes:
        return policy.personal_share_settled
    return policy.personal_share_shared if candidate_needs_votes else policy.personal_share_alone


def create_battle(session: Session, *, modality: str, prompt: str, side_a: Contestant, side_b: Contestant, user_id: int) -> Battle:
    _check_modality(modality)
    if side_a == side_b:
        raise InvalidInputError("a battle needs two different contestants")
    battle = Battle(
        modality=modality,
        prompt=prompt,
        version_a=side_a.version,
        preset_a=side_a.preset,
        version_b=side_b.version,
        preset_b=side_b.preset,
        user_id=user_id,
    )
    session.add(battle)
    session.flush()
    return battle


def finish_battle(session: Session, *, battle_id: int, request_a_id: int, request_b_id: int) -> Battle:
    """Both sides have answered: attach their requests; from now on the battle takes a vote."""
    battle = _battle(session, battle_id)
    battle.request_a_id, battle.request_b_id = request_a_id, request_b_id
    battle.finished_at = utcnow()
    session.flush()
    return battle


def forget_unfinished_battle(session: Session, *, battle_id: int) -> None:
    """Remove a battle whose answers never both finished (the stream was cut off, or a direct
    API call returned after its first update); a finished battle is kept. Such a battle could
    never take a vote, so nothing that counts is lost."""
    session.execute(delete(Battle).where(Battle.id == battle_id, Battle.finished_at.is_(None)))


def forget_stale_battles(session: Session, *, started_before: datetime) -> int:
    """Remove battles left unfinished by a process that died while they streamed."""
    removed = session.execute(delete(Battle).where(Battle.finished_at.is_(None), Battle.created_at < started_before))
    return rows_changed(removed)


def record_vote(session: Session, *, battle_id: int, voter_id: int, outcome: str, reason: str | None = None) -> BattleVote:
    """The battle's one vote; refused before both sides finished, twice, or from another viewer."""
    # 1. Validate the input, then the battle's state.
    if outcome not in BATTLE_OUTCOMES:
        raise InvalidInputError(f"a vote is one of {', '.join(BATTLE_OUTCOMES)}, got {outcome!r}")
    reason = clean_text(reason or "").strip() or None
    if reason is not None and len(reason) > MAX_REASON_CHARS:
        raise InvalidInputError(f"the reason is {len(reason)} characters long; the limit is {MAX_REASON_CHARS}")
    battle = _battle(session, battle_id, for_update=True)
    if battle.user_id != voter_id:
        raise NotYourBattleError("this battle belongs to another viewer: start your own battle")
    if battle.finished_at is None:
        raise BattleNotFinishedError("wait until both answers have finished, then vote")
    if session.scalar(select(BattleVote.id).where(BattleVote.battle_id == battle_id)) is not None:
        raise AlreadyVotedError("you already voted on this battle: start a new battle to vote again")
    # 2. The winner is named by version, so the database can check it against the battle.
    winner = {"a": battle.version_a, "b": battle.version_b}.get(outcome)
    vote = BattleVote(
        battle_id=battle.id,
        version_a=battle.version_a,
        version_b=battle.version_b,
        outcome=outcome,
        winner=winner,
        voter_id=voter_id,
        reason=reason,
    )
    session.add(vote)
    session.flush()
    return vote


def battle_vote(session: Session, *, battle_id: int) -> BattleVote | None:
    return session.scalar(select(BattleVote).where(BattleVote.battle_id == battle_id))


def get_battle(session: Session, *, battle_id: int) -> Battle:
    return _battle(session, battle_id)


def battles_frame(session: Session, *, modality: str | None = None, since: datetime | None = None) -> pd.DataFrame:
    """One row per voted public battle, with contestant labels as the leaderboard reads them,
    the two answers' texts (`text_a`, `text_b`; None for images) and their style features
    (feedback_db.style STYLE_COLUMNS; NaN for images).

    `kind` is "versions" (two versions on their own defaults) or "presets" (two sampling
    presets of one version); the two kinds are ranked separately. Battles of a personal version
    are left out (their owner's record: feedback_db/personal_arena.py).
    """
    statement = (
        select(
            Battle.id.label("battle_id"),
            Battle.modality,
            Battle.prompt,
            Battle.version_a,
            Battle.preset_a,
            Battle.version_b,
            Battle.preset_b,
            Battle.request_a_id,
            Battle.request_b_id,
            Battle.user_id,
            _answer_text(Battle.request_a_id).label("text_a"),
            _answer_text(Battle.request_b_id).label("text_b"),
            BattleVote.outcome,
            BattleVote.winner,
            BattleVote.reason,
            BattleVote.created_at.label("voted_at"),
        )
        .join(BattleVote, BattleVote.battle_id == Battle.id)
        .where(public_battle())
        .order_by(Battle.id)
    )
    if modality is not None:
        statement = statement.where(Battle.modality == modality)
    if since is not None:
        statement = statement.where(BattleVote.created_at >= since)
    frame = pd.read_sql(statement, session.connection())
    frame["voted_at"] = pd.to_datetime(frame["voted_at"], utc=True)
    frame["kind"] = (frame["version_a"] == frame["version_b"]).map({True: "presets", False: "versions"})
    frame["contestant_a"] = [Contestant(v, p).label for v, p in zip(frame["version_a"], frame["preset_a"], strict=True)]
    frame["contestant_b"] = [Contestant(v, p).label for v, p in zip(frame["version_b"], frame["preset_b"], strict=True)]
    # Style features of text answers, for style control (images have none: NaN).
    features = feature_columns(frame["text_a"], frame["text_b"])
    features.index = frame.index
    is_text = (frame["modality"] == "text").to_numpy()
    for column in STYLE_COLUMNS:
        frame[column] = features[column].where(is_text)
    return frame


def _answer_text(request_id: Any) -> ScalarSelect[str | None]:
    """The text of a battle side's answer (its request's first output; None for an image)."""
    return select(Output.text).where(Output.request_id == request_id).order_by(Output.index).limit(1).scalar_subquery()


def _battle(session: Session, battle_id: int, *, for_update: bool = False) -> Battle:
    statement = select(Battle).where(Battle.id == battle_id)
    battle = session.scalar(statement.with_for_update() if for_update else statement)
    if battle is None:
        raise UnknownIdError(f"battle {battle_id} does not exist")
    return battle


def _check_modality(modality: str) -> None:
    if modality not in MODALITIES:
        raise InvalidInputError(f"unknown modality {modality!r}")
