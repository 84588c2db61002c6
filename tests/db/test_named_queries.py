"""The named queries the app calls instead of building SQL itself (tests/test_architecture.py
keeps SQL inside feedback_db): log-in sessions, ownership, one rater's rating and flag, counts."""

from __future__ import annotations

from datetime import timedelta

import pytest

from feedback_db.activity import FeedbackCounts, feedback_counts, rating_times, request_count, vote_count
from feedback_db.arena import record_vote
from feedback_db.errors import UnknownIdError
from feedback_db.ownership import output_session, rater_flag, rater_rating, request_session
from feedback_db.queries import NewOutput, record_request, set_flag, upsert_rating, upsert_set_rating
from feedback_db.runs import start_run
from feedback_db.schema import UserSession, utcnow
from feedback_db.users import anonymous_user_for_session, close_login_session, open_login_session, user_id_for_session
from feedback_db.versions import create_version, version_by_name, version_of_run
from tests.db.helpers import add_rater, add_text_request
from tests.db.test_arena_db import finished_battle


def test_a_login_session_replaces_its_key_and_drops_only_expired_ones(database):
    now = utcnow()
    with database.sessions.begin() as session:
        user = add_rater(session, "ann", role="annotator")
        other = add_rater(session, "bob", role="annotator")
        open_login_session(session, user_id=user.id, session_id="old", expires_at=now - timedelta(hours=1), now=now - timedelta(days=1))
        open_login_session(session, user_id=user.id, session_id="live", expires_at=now + timedelta(hours=1), now=now - timedelta(days=1))
        open_login_session(
            session, user_id=other.id, session_id="bob-old", expires_at=now - timedelta(hours=1), now=now - timedelta(days=1)
        )
    with database.sessions.begin() as session:
        open_login_session(session, user_id=user.id, session_id="live", expires_at=now + timedelta(hours=8), now=now)
    with database.read_sessions() as session:
        assert session.get(UserSession, "old") is None  # this user's expired session went
        assert session.get(UserSession, "bob-old") is not None  # another user's is not touched
        assert user_id_for_session(session, session_id="live") == user.id
        assert user_id_for_session(session, session_id="nobody") is None
    with database.sessions.begin() as session:
        assert close_login_session(session, session_id="live") == user.id
        assert close_login_session(session, session_id="live") is None


def test_ownership_names_the_browser_session_and_refuses_unknown_ids(database):
    with database.sessions.begin() as session:
        _, browser = anonymous_user_for_session(session, session_id="browser-1")
        request = record_request(
            session,
            modality="text",
            prompt="hi",
            parameters={},
            model_version="base",
            outputs=[NewOutput(index=0, seed=1, latency_ms=1, text="hello")],
            session_id=browser.id,
        )
        bulk = add_text_request(session, n=1)
    with database.read_sessions() as session:
        assert request_session(session, request_id=request.id) == "browser-1"
        assert output_session(session, output_id=request.outputs[0].id) == "browser-1"
        assert request_session(session, request_id=bulk.id) is None
        with pytest.raises(UnknownIdError, match="request 999999"):
            request_session(session, request_id=999999)
        with pytest.raises(UnknownIdError, match="output 999999"):
            output_session(session, output_id=999999)


def test_one_raters_rating_and_flag_and_the_counts(database):
    with database.sessions.begin() as session:
        rater, other = add_rater(session, "r"), add_rater(session, "o")
        request = add_text_request(session, n=2)
        first, second = request.outputs
        upsert_rating(session, output_id=first.id, rater_id=rater.id, source="end_user", thumbs=-1)
        upsert_rating(session, output_id=second.id, rater_id=other.id, source="end_user", naturalness=4)
        upsert_set_rating(session, request_id=request.id, rater_id=rater.id, source="end_user", diversity=3)
        set_flag(session, output_id=first.id, rater_id=rater.id, flagged=True, reason="spam")
        record_vote(session, battle_id=finished_battle(session, rater.id).id, voter_id=rater.id, outcome="a")
    with database.read_sessions() as session:
        assert rater_rating(session, output_id=first.id, rater_id=rater.id).thumbs == -1
        assert rater_rating(session, output_id=second.id, rater_id=rater.id) is None
        assert rater_flag(session, output_id=first.id, rater_id=rater.id).reason == "spam"
        assert rater_flag(session, output_id=first.id, rater_id=other.id) is None
        # A thumb rates an output (no score); a set's diversity is a score (no rated output).
        assert sorted((r.modality, r.rated_outputs, r.scores) for r in rating_times(session, rater_id=rater.id)) == [
            ("text", 0, 1),
            ("text", 1, 0),
        ]
        assert len(rating_times(session, rater_id=other.id)) == 1
        assert vote_count(session, voter_id=rater.id) == 1 and vote_count(session, voter_id=other.id) == 0
        assert request_count(session) == 3  # the request above and the battle's two sides
        assert feedback_counts(session) == FeedbackCounts(rated_outputs=2, scores=2)
        assert feedback_counts(session, rater_id=rater.id) == FeedbackCounts(rated_outputs=1, scores=1)


def test_a_rated_output_counts_once_and_a_score_is_one_axis_value(database):
    with database.sessions.begin() as session:
        rater, other = add_rater(session, "r"), add_rater(session, "o")
        first, second = add_text_request(session, n=2).outputs
        # Two axes from one person and one from another: one rated output, three scores.
        upsert_rating(session, output_id=first.id, rater_id=rater.id, source="end_user", naturalness=4, reliability=2)
        upsert_rating(session, output_id=first.id, rater_id=other.id, source="end_user", naturalness=5)
        upsert_rating(session, output_id=second.id, rater_id=rater.id, source="end_user", comment="a comment alone")
        picture = NewOutput(index=0, seed=1, latency_ms=5.0, image_path="a.png")
        image = record_request(session, modality="image", prompt="a cat", parameters={}, model_version="base", outputs=[picture])
        upsert_rating(session, output_id=image.outputs[0].id, rater_id=rater.id, source="end_user", reliability=3)
    with database.read_sessions() as session:
        assert feedback_counts(session) == FeedbackCounts(rated_outputs=2, scores=4)
        assert feedback_counts(session, modality="text") == FeedbackCounts(rated_outputs=1, scores=3)
        assert feedback_counts(session, rater_id=rater.id) == FeedbackCounts(rated_outputs=2, scores=3)
        assert feedback_counts(session, since=utcnow() + timedelta(days=1)) == FeedbackCounts(rated_outputs=0, scores=0)
        assert [(r.rated_outputs, r.scores) for r in rating_times(session, rater_id=rater.id)] == [(1, 2), (1, 1)]


def test_a_version_by_name_of_one_modality_and_the_version_of_a_run(database):
    with database.sessions.begin() as session:
        run = start_run(session, modality="text", data_counts={})
        version = create_version(session, name="text-v1", modality="text", base_model="m", adapter_path="a", training_run_id=run.id)
        other_run = start_run(session, modality="text", data_counts={})
    with database.read_sessions() as session:
        assert version_by_name(session, name="text-v1", modality="text").id == version.id
        with pytest.raises(UnknownIdError, match="no image model version named 'text-v1'"):
            version_by_name(session, name="text-v1", modality="image")
        assert version_of_run(session, run_id=run.id).id == version.id
        assert version_of_run(session, run_id=other_run.id) is None
