"""End-user rating handlers: saved at once, changeable, and only for one's own candidates."""

import pytest

from feedback_db.errors import InvalidInputError, UnknownIdError
from feedback_db.frames import ratings_frame, set_ratings_frame
from models.base import TextParams
from playground.core.errors import NotAllowedError
from playground.services.generation import stream_text
from playground.services.identity import viewer_for_token
from playground.services.ratings import flag_output, rate_output, rate_set


@pytest.fixture
def recorded(context, viewer):
    return list(stream_text(context, viewer, "hello there", TextParams(n=2)))[-1].recorded


def test_each_click_is_saved_and_a_change_updates_the_same_row(database, viewer, recorded):
    first, second = recorded.output_ids
    assert rate_output(database, viewer, first, naturalness=4) == "Saved naturalness 4"
    rate_output(database, viewer, first, reliability=2)
    rate_output(database, viewer, first, naturalness=5)
    rate_output(database, viewer, second, thumbs=-1, comment="<img src=x onerror=alert(1)>")

    with database.read_sessions() as session:
        frame = ratings_frame(session).set_index("output_id")
    assert len(frame) == 2
    assert (frame.loc[first, "naturalness"], frame.loc[first, "reliability"]) == (5, 2)
    assert frame.loc[second, "comment"] == "<img src=x onerror=alert(1)>"


def test_set_rating_and_flag(database, viewer, recorded):
    rate_set(database, viewer, recorded.request_id, diversity=3)
    rate_set(database, viewer, recorded.request_id, best_output_id=recorded.output_ids[1])
    assert flag_output(database, viewer, recorded.output_ids[0], True).startswith("Flagged")
    with database.read_sessions() as session:
        sets = set_ratings_frame(session)
    assert (sets.loc[0, "diversity"], sets.loc[0, "best_output_index"]) == (3, 1)


def test_another_browser_cannot_rate_my_candidates(database, recorded):
    stranger = viewer_for_token(database, None)
    with pytest.raises(NotAllowedError):
        rate_output(database, stranger, recorded.output_ids[0], naturalness=1)
    with pytest.raises(NotAllowedError):
        rate_set(database, stranger, recorded.request_id, diversity=1)


def test_bad_scores_and_unknown_ids_are_refused(database, viewer, recorded):
    with pytest.raises(InvalidInputError):
        rate_output(database, viewer, recorded.output_ids[0], naturalness=9)
    with pytest.raises(UnknownIdError):
        rate_output(database, viewer, 999_999, naturalness=3)
    with database.read_sessions() as session:
        assert ratings_frame(session).empty


def test_the_same_browser_token_keeps_its_identity(database, viewer):
    again = viewer_for_token(database, viewer.browser_session)
    assert again == viewer
    assert viewer_for_token(database, "not-a-token").browser_session != viewer.browser_session
