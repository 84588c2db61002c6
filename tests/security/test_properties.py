"""Property-based tests: any input to the query API or the rating handlers either stores a
valid row or raises a clear error - never a partial write, never an out-of-range value."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from feedback_db.errors import FeedbackDBError
from feedback_db.queries import NewOutput, record_request, upsert_rating
from feedback_db.schema import Output, Rating, Request, SetRating
from playground.core.errors import PlaygroundError
from playground.services.identity import viewer_for_token
from playground.services.ratings import rate_output, rate_set
from playground.web.ui.values import score_value
from tests.db.helpers import add_text_request

ANY = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True),
    st.text(max_size=20),
    st.lists(st.integers(), max_size=2),
)
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _counts(database) -> tuple[int, int, int, int]:
    with database.read_sessions() as session:
        return tuple(session.scalar(select(func.count()).select_from(m)) for m in (Request, Output, Rating, SetRating))


@FAST
@given(
    prompt=st.one_of(st.text(max_size=50), ANY),
    texts=st.lists(st.one_of(st.text(max_size=20), st.none()), max_size=3),
    modality=st.sampled_from(["text", "image", "audio", ""]),
    finish=st.sampled_from(["stop", "length", "bogus"]),
)
def test_record_request_is_all_or_nothing(database, prompt, texts, modality, finish):
    before = _counts(database)
    outputs = [NewOutput(index=i, seed=i, latency_ms=1.0, text=t, finish_reason=finish) for i, t in enumerate(texts)]
    try:
        with database.sessions.begin() as session:
            request = record_request(
                session,
                modality=modality,
                prompt=prompt,
                parameters={"p": prompt if isinstance(prompt, str) else 1},
                model_version="base",
                outputs=outputs,
            )
            request_id = request.id
    except FeedbackDBError as error:
        assert str(error)
        assert _counts(database) == before
        return
    with database.read_sessions() as session:
        stored = session.get(Request, request_id)
        assert stored.prompt.strip() and "\x00" not in stored.prompt
        assert len(stored.outputs) == len(texts) > 0
    assert _counts(database)[1] == before[1] + len(texts)


@FAST
@given(naturalness=ANY, reliability=ANY, thumbs=ANY, comment=st.one_of(st.none(), st.text(max_size=30), st.integers()))
def test_upsert_rating_stores_valid_values_or_refuses(database, naturalness, reliability, thumbs, comment):
    with database.sessions.begin() as session:
        request = add_text_request(session, n=1, prompt="p")
        output_id = request.outputs[0].id
    viewer = viewer_for_token(database, None)
    before = _counts(database)
    try:
        with database.sessions.begin() as session:
            upsert_rating(
                session,
                output_id=output_id,
                rater_id=viewer.user_id,
                source="end_user",
                naturalness=naturalness,
                reliability=reliability,
                thumbs=thumbs,
                comment=comment,
            )
    except FeedbackDBError as error:
        assert str(error) and _counts(database) == before
        return
    with database.read_sessions() as session:
        rating = session.scalar(select(Rating).where(Rating.output_id == output_id))
        for value in (rating.naturalness, rating.reliability):
            assert value is None or (type(value) is int and 1 <= value <= 5)
        assert rating.thumbs in (None, -1, 1)


@FAST
@given(index=ANY, score=ANY, diversity=ANY)
def test_the_rating_endpoints_parse_or_refuse_and_never_write_partially(database, index, score, diversity):
    viewer = viewer_for_token(database, None)
    with database.sessions.begin() as session:
        request = add_text_request(session, n=2, prompt="q")
        request.session_id = viewer.browser_session
        output_ids = [o.id for o in request.outputs]
        request_id = request.id
    before = _counts(database)
    try:
        position = score_value("the candidate index", index, low=0, high=1)
        natural = score_value("naturalness", score, low=1, high=5)
        spread = score_value("diversity", diversity, low=1, high=5)
        if position is None or natural is None:
            raise PlaygroundError("nothing to save")
        rate_output(database, viewer, output_ids[position], naturalness=natural)
        rate_set(database, viewer, request_id, diversity=spread, best_output_id=output_ids[position])
    except (FeedbackDBError, PlaygroundError) as error:
        assert str(error)
        after = _counts(database)
        assert after[3] == before[3]  # the set rating was not written
        assert after[2] in (before[2], before[2] + 1)
        return
    assert _counts(database)[2:] == (before[2] + 1, before[3] + 1)
