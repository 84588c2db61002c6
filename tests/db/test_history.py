"""A browser's history: its own playground requests only, newest first, paged, with its ratings."""

from datetime import UTC, datetime, timedelta

import pytest

from feedback_db.errors import InvalidInputError, UnknownIdError
from feedback_db.history import history_page, last_request_id, request_view
from feedback_db.queries import NewOutput, record_request, set_flag, upsert_rating, upsert_set_rating
from feedback_db.schema import Request
from feedback_db.users import anonymous_user_for_session
from tests.db.helpers import add_text_request

MINE, THEIRS = "a" * 64, "b" * 64


@pytest.fixture
def two_browsers(database):
    """Five text requests and one image request of mine, one of theirs, one arena request of mine."""
    with database.sessions.begin() as session:
        me, _ = anonymous_user_for_session(session, session_id=MINE)
        them, _ = anonymous_user_for_session(session, session_id=THEIRS)
        start = datetime(2026, 1, 1, tzinfo=UTC)
        for i in range(5):
            request = add_text_request(session, prompt=f"mine {i}")
            request.session_id, request.created_at = MINE, start + timedelta(minutes=i)
        image = record_request(
            session,
            modality="image",
            prompt="a red square",
            parameters={},
            model_version="base",
            outputs=[NewOutput(index=0, seed=1, latency_ms=3.0, image_path="images/x.png")],
            session_id=MINE,
        )
        image.created_at = start + timedelta(minutes=10)
        add_text_request(session, prompt="theirs").session_id = THEIRS
        arena = add_text_request(session, prompt="arena side")
        arena.session_id, arena.source = MINE, "arena"
        session.flush()
        return {"me": me.id, "them": them.id, "image": image.id}


def test_pages_are_newest_first_and_hold_only_my_playground_requests(database, two_browsers):
    with database.read_sessions() as session:
        first = history_page(session, session_id=MINE, rater_id=two_browsers["me"], per_page=4)
        second = history_page(session, session_id=MINE, rater_id=two_browsers["me"], page=2, per_page=4)
        past_the_end = history_page(session, session_id=MINE, rater_id=two_browsers["me"], page=9, per_page=4)
        texts = history_page(session, session_id=MINE, rater_id=two_browsers["me"], modality="text")
    assert (first.total, first.pages) == (6, 2)
    assert [e.prompt for e in first.entries] == ["a red square", "mine 4", "mine 3", "mine 2"]
    assert [e.prompt for e in second.entries] == ["mine 1", "mine 0"]
    assert past_the_end.page == 2
    assert texts.total == 5


def test_a_view_carries_my_ratings_flags_and_set_rating_but_not_theirs(database, two_browsers):
    with database.sessions.begin() as session:
        request_id = last_request_id(session, session_id=MINE, modality="text")
        request = session.get(Request, request_id)
        first, second = (o.id for o in request.outputs)
        upsert_rating(
            session, output_id=first, rater_id=two_browsers["me"], source="end_user", naturalness=4, thumbs=-1, reason="wrong: no"
        )
        upsert_rating(session, output_id=first, rater_id=two_browsers["them"], source="end_user", naturalness=1)
        set_flag(session, output_id=second, rater_id=two_browsers["me"], flagged=True, reason="unsafe")
        upsert_set_rating(
            session, request_id=request_id, rater_id=two_browsers["me"], source="end_user", diversity=2, best_output_id=second
        )
        request.outputs[1].moderation = "blocklist"
    with database.read_sessions() as session:
        view = request_view(session, request_id=request_id, session_id=MINE, rater_id=two_browsers["me"])
        page = history_page(session, session_id=MINE, rater_id=two_browsers["me"])
    assert view.prompt == "mine 4"
    one, two = view.candidates
    assert (one.naturalness, one.thumbs, one.reason, one.flagged) == (4, -1, "wrong: no", False)
    assert (two.naturalness, two.flagged, two.flag_reason, two.moderation) == (None, True, "unsafe", "blocklist")
    assert (view.diversity, view.best_index) == (2, 1)
    assert page.entries[1].rated == 1


def test_someone_elses_or_an_arena_request_is_refused_like_a_missing_one(database, two_browsers):
    with database.read_sessions() as session:
        theirs = last_request_id(session, session_id=THEIRS, modality="text")
        arena = session.query(Request).filter_by(source="arena").one().id
        for request_id in (theirs, arena, 999_999):
            with pytest.raises(UnknownIdError, match="not in this browser's history"):
                request_view(session, request_id=request_id, session_id=MINE, rater_id=two_browsers["me"])
        assert last_request_id(session, session_id=MINE, modality="image") == two_browsers["image"]
        assert last_request_id(session, session_id="c" * 64, modality="text") is None


@pytest.mark.parametrize("paging", [{"page": 0}, {"page": "2"}, {"per_page": 0}, {"per_page": 101}])
def test_bad_paging_is_refused(database, two_browsers, paging):
    with database.read_sessions() as session, pytest.raises(InvalidInputError):
        history_page(session, session_id=MINE, rater_id=two_browsers["me"], **paging)


def test_a_view_carries_each_candidates_first_token_time_and_speed(database, two_browsers):
    """What a restored card shows: the stored time to the first token and the derived tokens/s."""
    with database.sessions.begin() as session:
        request = record_request(
            session,
            modality="text",
            prompt="count to four",
            parameters={},
            model_version="base",
            outputs=[NewOutput(index=0, seed=1, latency_ms=500.0, text="1 2 3 4", tokens=40, time_to_first_token_ms=20.0)],
            session_id=MINE,
        )
        session.flush()
        view = request_view(session, request_id=request.id, session_id=MINE, rater_id=two_browsers["me"])
        image = request_view(session, request_id=two_browsers["image"], session_id=MINE, rater_id=two_browsers["me"])
    assert (view.candidates[0].time_to_first_token_ms, view.candidates[0].tokens_per_s) == (20.0, 80.0)
    assert (image.candidates[0].time_to_first_token_ms, image.candidates[0].tokens_per_s) == (None, None)
