"""Battles through the plain arena functions, on fake generators (the real models: tests/e2e)."""

from __future__ import annotations

import random

import pytest

from feedback_db.arena import AlreadyVotedError, BattleNotFinishedError, battles_frame
from feedback_db.schema import Request
from feedback_db.standings import leaderboard, preset_votes
from feedback_db.versions import create_version, promote_version
from models.base import InvalidParameterError
from playground.core.errors import NotAllowedError
from playground.services.arena import PRESETS, reveal, start_battle, stream_battle, vote
from playground.services.identity import viewer_for_token

ACTIVE, CANDIDATE = "text-active-7c1e", "text-cand-93ab"


@pytest.fixture
def two_versions(database):
    with database.sessions.begin() as session:
        active = create_version(
            session, name=ACTIVE, modality="text", base_model="m", adapter_path=None, sampling_defaults={"temperature": 0.5}
        )
        promote_version(session, version_id=active.id)
        create_version(session, name=CANDIDATE, modality="text", base_model="m", adapter_path=None)


def play(context, viewer, modality="text", prompt="Name a colour", seed=0) -> int:
    battle_id = start_battle(context, viewer, modality, prompt, random.Random(seed))
    updates = list(stream_battle(context, viewer, battle_id))
    assert updates[-1].side == "b" and updates[-1].done
    return battle_id


def test_battle_generates_both_sides_as_normal_requests_and_reveals_after_the_vote(context, viewer, database, fake_text, two_versions):
    battle_id = play(context, viewer)
    with pytest.raises(NotAllowedError, match="vote first"):
        reveal(context, viewer, battle_id)
    result = vote(context, viewer, battle_id, "a", "clearer")
    names = {result.sides["a"].contestant.version, result.sides["b"].contestant.version}
    assert CANDIDATE in names  # the newest candidate is in every battle until it has enough votes
    assert result.sides["a"].latency_ms == 50.0 and result.sides["a"].tokens is not None
    with database.read_sessions() as session:
        requests = session.query(Request).order_by(Request.id).all()
        frame = battles_frame(session)
    assert [r.source for r in requests] == ["arena", "arena"]
    assert [r.model_version for r in requests] == [result.sides["a"].contestant.version, result.sides["b"].contestant.version]
    assert requests[0].parameters["seed"] == requests[1].parameters["seed"]  # same seed both sides
    assert [v for v, _ in fake_text.versions][-2:] == [r.model_version for r in requests]
    temperatures = {r.model_version: r.parameters["temperature"] for r in requests}
    if ACTIVE in temperatures:
        assert temperatures[ACTIVE] == 0.5  # the version's learned default
    assert frame.loc[0, "winner"] == result.sides["a"].contestant.version
    # The answers' texts and their style features travel with the battle, for style control.
    assert frame.loc[0, "text_a"] and frame.loc[0, "length_a"] == len(frame.loc[0, "text_a"].split())
    assert frame.loc[0, "length_b"] == len(frame.loc[0, "text_b"].split())


def test_one_vote_per_battle_and_none_before_both_sides_finished(context, viewer, two_versions):
    battle_id = start_battle(context, viewer, "text", "hi", random.Random(1))
    with pytest.raises(BattleNotFinishedError):
        vote(context, viewer, battle_id, "tie")
    list(stream_battle(context, viewer, battle_id))
    with pytest.raises(NotAllowedError, match="already been played"):
        list(stream_battle(context, viewer, battle_id))
    vote(context, viewer, battle_id, "both_bad")
    with pytest.raises(AlreadyVotedError, match="already voted on this battle"):
        vote(context, viewer, battle_id, "a")


def test_another_viewer_can_neither_play_vote_nor_see_names(context, viewer, database, two_versions):
    battle_id = play(context, viewer)
    stranger = viewer_for_token(database, None)
    with pytest.raises(Exception, match="another viewer"):
        vote(context, stranger, battle_id, "a")
    vote(context, viewer, battle_id, "a")
    with pytest.raises(NotAllowedError, match="another viewer"):
        reveal(context, stranger, battle_id)


@pytest.mark.parametrize(
    ("modality", "prompt", "message"),
    [
        ("text", "   ", "prompt is empty"),
        ("text", "x" * 4001, "limit is 4000"),
        ("audio", "hi", "unknown modality .audio.; use one of text, image"),
    ],
)
def test_bad_input_writes_nothing(context, viewer, database, modality, prompt, message):
    with pytest.raises(Exception, match=message):
        start_battle(context, viewer, modality, prompt)
    with database.read_sessions() as session:
        assert battles_frame(session).empty and session.query(Request).count() == 0


def test_single_version_pits_sampling_presets_and_their_votes_form_a_frame(context, viewer, database):
    for seed in range(6):
        battle_id = play(context, viewer, seed=seed)
        vote(context, viewer, battle_id, "a" if seed % 3 else "tie")
    with database.read_sessions() as session:
        frame = battles_frame(session)
        presets = preset_votes(session, modality="text")
        board = leaderboard(session, "versions", modality="text")
        requests = session.query(Request).all()
    assert set(frame["kind"]) == {"presets"} and set(frame["version_a"]) == {"base"}
    assert set(frame["preset_a"]) | set(frame["preset_b"]) <= set(PRESETS["text"])
    assert {r.parameters["temperature"] for r in requests} <= {0.4, 0.7, 1.0}
    assert presets["battles"].sum() == 12 and set(presets["knob"]) == {"temperature"}
    assert presets["wins"].sum() == presets["losses"].sum() == 4 and presets["ties"].sum() == 4
    assert board.empty  # presets are ranked separately from versions


def test_image_battle(context, viewer, database):
    battle_id = play(context, viewer, modality="image", prompt="a red circle")
    result = vote(context, viewer, battle_id, "b")
    assert {result.sides[s].contestant.preset for s in "ab"} <= set(PRESETS["image"])
    with database.read_sessions() as session:
        guidance = {r.parameters["guidance_scale"] for r in session.query(Request).all()}
    assert len(guidance) == 2 and guidance <= {2.0, 3.0, 4.0}


def test_an_unknown_version_in_a_battle_is_a_clear_error(context, viewer, database, two_versions):
    from playground.serving.context import UnknownServedVersionError

    with pytest.raises(UnknownServedVersionError, match="no text version named"), context.serving("text", "nope"):
        pass
    with pytest.raises(InvalidParameterError):
        start_battle(context, viewer, "text", "")
