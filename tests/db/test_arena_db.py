"""Battles and votes in the database: constraints, one vote per battle, the pair sampler."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from feedback_db.arena import (
    AlreadyVotedError,
    BattleNotFinishedError,
    Contestant,
    NotYourBattleError,
    PairPolicy,
    battles_frame,
    choose_pair,
    create_battle,
    finish_battle,
    pair_votes,
    published_versions,
    record_vote,
)
from feedback_db.errors import InvalidInputError, UnknownIdError
from feedback_db.schema import Battle, BattleVote
from feedback_db.versions import create_version, promote_version
from tests.db.conftest import CHECK_VIOLATION, FOREIGN_KEY_VIOLATION, UNIQUE_VIOLATION
from tests.db.helpers import add_rater, add_text_request

BASE, V1 = Contestant("base"), Contestant("text-v1")


def finished_battle(session, user_id: int, a: Contestant = BASE, b: Contestant = V1) -> Battle:
    battle = create_battle(session, modality="text", prompt="Say hi", side_a=a, side_b=b, user_id=user_id)
    first, second = add_text_request(session, n=1), add_text_request(session, n=1)
    return finish_battle(session, battle_id=battle.id, request_a_id=first.id, request_b_id=second.id)


def test_vote_names_the_winning_version_and_ties_name_none(database):
    with database.sessions.begin() as session:
        user = add_rater(session, "u")
        votes = {}
        for outcome in ("a", "b", "tie", "both_bad"):
            battle = finished_battle(session, user.id)
            votes[outcome] = record_vote(session, battle_id=battle.id, voter_id=user.id, outcome=outcome, reason="  <b>clearer</b>  ")
        assert votes["a"].winner == "base" and votes["b"].winner == "text-v1"
        assert votes["tie"].winner is None and votes["both_bad"].winner is None
        assert votes["a"].reason == "<b>clearer</b>"  # stored as given; the UI escapes it
    with database.read_sessions() as session:
        frame = battles_frame(session, modality="text")
    assert list(frame["outcome"]) == ["a", "b", "tie", "both_bad"]
    assert set(frame["kind"]) == {"versions"} and list(frame["contestant_b"].unique()) == ["text-v1"]


def test_database_refuses_a_winner_outside_the_battle(database):
    with database.sessions.begin() as session:
        user = add_rater(session, "u")
        battle = finished_battle(session, user.id)
        battle_id, user_id = battle.id, user.id
    bad_rows = [
        ({"outcome": "a", "winner": "text-v1"}, CHECK_VIOLATION),  # A won but B's name given
        ({"outcome": "tie", "winner": "base"}, CHECK_VIOLATION),
        ({"outcome": "left", "winner": None}, CHECK_VIOLATION),
        ({"outcome": "a", "winner": "text-v9", "version_a": "text-v9"}, FOREIGN_KEY_VIOLATION),  # not this battle's
    ]
    for values, message in bad_rows:
        row = {"battle_id": battle_id, "version_a": "base", "version_b": "text-v1", "voter_id": user_id, **values}
        with pytest.raises(IntegrityError, match=message), database.sessions.begin() as session:
            session.execute(insert(BattleVote).values(**row))


def test_database_refuses_a_battle_with_two_identical_sides(database):
    with pytest.raises(IntegrityError, match=CHECK_VIOLATION), database.sessions.begin() as session:
        user = add_rater(session, "u")
        session.add(Battle(modality="text", prompt="p", version_a="base", version_b="base", user_id=user.id))
    with database.sessions.begin() as session:  # a preset battle of one version is fine
        user = add_rater(session, "w")
        session.add(
            Battle(
                modality="text",
                prompt="p",
                version_a="base",
                version_b="base",
                preset_a="temperature=0.7",
                preset_b="temperature=1.0",
                user_id=user.id,
            )
        )


def test_one_vote_per_battle_with_a_clear_message(database):
    with database.sessions.begin() as session:
        user = add_rater(session, "u")
        battle_id, user_id = finished_battle(session, user.id).id, user.id
        record_vote(session, battle_id=battle_id, voter_id=user_id, outcome="a")
    with pytest.raises(AlreadyVotedError, match="already voted"), database.sessions.begin() as session:
        record_vote(session, battle_id=battle_id, voter_id=user_id, outcome="b")
    with pytest.raises(IntegrityError, match=UNIQUE_VIOLATION), database.sessions.begin() as session:
        session.execute(
            insert(BattleVote).values(
                battle_id=battle_id, version_a="base", version_b="text-v1", outcome="tie", winner=None, voter_id=user_id
            )
        )


def test_vote_refused_before_both_sides_finished_for_others_and_for_bad_input(database):
    with database.sessions.begin() as session:
        user, other = add_rater(session, "u"), add_rater(session, "o")
        pending = create_battle(session, modality="text", prompt="p", side_a=BASE, side_b=V1, user_id=user.id)
        done = finished_battle(session, user.id)
        ids = (user.id, other.id, pending.id, done.id)
    user_id, other_id, pending_id, done_id = ids
    cases = [
        (dict(battle_id=pending_id, voter_id=user_id, outcome="a"), BattleNotFinishedError, "both answers"),
        (dict(battle_id=done_id, voter_id=other_id, outcome="a"), NotYourBattleError, "another viewer"),
        (dict(battle_id=done_id, voter_id=user_id, outcome="A"), InvalidInputError, "one of a, b, tie"),
        (dict(battle_id=done_id, voter_id=user_id, outcome="a", reason="x" * 501), InvalidInputError, "limit"),
        (dict(battle_id=10_000, voter_id=user_id, outcome="a"), UnknownIdError, "does not exist"),
    ]
    for kwargs, error, message in cases:
        with pytest.raises(error, match=message), database.sessions.begin() as session:
            record_vote(session, **kwargs)
    with database.read_sessions() as session:
        assert battles_frame(session).empty


def test_published_versions_and_pair_votes(database):
    with database.sessions.begin() as session:
        first = create_version(session, name="text-v1", modality="text", base_model="m", adapter_path="/a")
        promote_version(session, version_id=first.id)
        create_version(session, name="text-v2", modality="text", base_model="m", adapter_path="/b")
        create_version(session, name="image-v1", modality="image", base_model="m", adapter_path="/c")
        user = add_rater(session, "u")
        for _ in range(3):
            record_vote(session, battle_id=finished_battle(session, user.id).id, voter_id=user.id, outcome="tie")
        versions = published_versions(session, modality="text")
        counts = pair_votes(session, modality="text")
    assert [(v.name, v.status) for v in versions] == [("base", "base"), ("text-v1", "active"), ("text-v2", "candidate")]
    assert counts == Counter({frozenset((BASE, V1)): 3})


def test_pair_sampler_keeps_the_newest_candidate_in_until_it_has_enough_votes():
    contestants = [BASE, V1, Contestant("text-v2")]
    newest = Contestant("text-v2")
    rng = random.Random(0)
    policy = PairPolicy(focus_votes=10)
    few = {frozenset((newest, BASE)): 4}
    draws = [choose_pair(contestants, few, rng, focus=newest, active=V1, policy=policy) for _ in range(600)]
    assert all(newest in pair for pair in draws)
    opponents = Counter(next(c for c in pair if c != newest) for pair in draws)
    assert opponents[V1] > 4 * opponents[BASE]  # active weight 3, and base already has 4 votes
    sides = Counter(pair[0] == newest for pair in draws)
    assert 240 < sides[True] < 360  # random A/B order
    enough = {frozenset((newest, BASE)): 6, frozenset((newest, V1)): 6}
    later = [choose_pair(contestants, enough, rng, focus=newest, active=V1, policy=policy) for _ in range(300)]
    assert any(newest not in pair for pair in later)


def test_pair_sampler_favours_pairs_with_few_votes():
    a, b, c = Contestant("base", "temperature=0.4"), Contestant("base", "temperature=0.7"), Contestant("base", "temperature=1.0")
    votes = {frozenset((a, b)): 99, frozenset((a, c)): 99}  # (b, c) never met
    rng = random.Random(1)
    draws = Counter(frozenset(choose_pair([a, b, c], votes, rng)) for _ in range(1000))
    assert draws[frozenset((b, c))] > 0.9 * 1000
    with pytest.raises(Exception, match="two contestants"):
        choose_pair([a], {}, rng)
