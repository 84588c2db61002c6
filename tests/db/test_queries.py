import pytest

from feedback_db.errors import InvalidInputError, UnknownIdError
from feedback_db.queries import NewOutput, record_request, set_flag, upsert_rating, upsert_set_rating
from feedback_db.schema import Rating, Request
from feedback_db.users import anonymous_user_for_session
from tests.db.helpers import add_rater, add_text_request


def test_request_is_stored_with_all_outputs(database):
    with database.sessions.begin() as session:
        request = add_text_request(session, n=3)
        request_id = request.id
    with database.sessions() as session:
        stored = session.get(Request, request_id)
        assert [o.index for o in stored.outputs] == [0, 1, 2]
        assert stored.parameters == {"temperature": 0.7, "n": 3}
        assert stored.outputs[1].seed == 101


def test_every_seed_a_generation_may_draw_is_stored(database):
    """Seeds run to 2**32 - 1 (models/base.py); PostgreSQL's INTEGER stopped at 2**31 - 1."""
    seeds = [0, 2**31 - 1, 2**31, 2**32 - 1]
    with database.sessions.begin() as session:
        outputs = [NewOutput(index=i, seed=seed, latency_ms=1, text=f"s{i}") for i, seed in enumerate(seeds)]
        request_id = record_request(session, modality="text", prompt="p", parameters={}, model_version="base", outputs=outputs).id
    with database.sessions() as session:
        assert [o.seed for o in session.get(Request, request_id).outputs] == seeds


@pytest.mark.parametrize(
    ("prompt", "outputs", "message"),
    [
        ("   ", [NewOutput(index=0, seed=1, latency_ms=1, text="a")], "empty"),
        ("x" * 100_001, [NewOutput(index=0, seed=1, latency_ms=1, text="a")], "longer"),
        ("ok", [], "at least one"),
        ("ok", [NewOutput(index=0, seed=1, latency_ms=1)], "neither text nor an image"),
        ("ok", [NewOutput(index=0, seed=1, latency_ms=1, text="a")] * 2, "unique"),
    ],
)
def test_bad_request_is_refused_and_nothing_is_written(database, prompt, outputs, message):
    with pytest.raises(InvalidInputError, match=message), database.sessions.begin() as session:
        record_request(
            session,
            modality="text",
            prompt=prompt,
            parameters={},
            model_version="base",
            outputs=outputs,
        )
    with database.sessions() as session:
        assert session.query(Request).count() == 0


def test_upsert_rating_updates_only_given_fields(database):
    with database.sessions.begin() as session:
        output_id = add_text_request(session).outputs[0].id
        rater_id = add_rater(session, "r1").id
    with database.sessions.begin() as session:
        upsert_rating(session, output_id=output_id, rater_id=rater_id, source="end_user", naturalness=2)
    with database.sessions.begin() as session:
        rating = upsert_rating(
            session,
            output_id=output_id,
            rater_id=rater_id,
            source="end_user",
            reliability=5,
            comment="<script>alert(1)</script> fine",
        )
        assert (rating.naturalness, rating.reliability) == (2, 5)
    with database.sessions.begin() as session:
        rating = upsert_rating(session, output_id=output_id, rater_id=rater_id, source="end_user", naturalness=4)
    with database.sessions() as session:
        rows = session.query(Rating).all()
        assert len(rows) == 1
        assert (rows[0].naturalness, rows[0].reliability) == (4, 5)
        assert rows[0].comment == "<script>alert(1)</script> fine"  # stored verbatim, escaped on display


@pytest.mark.parametrize(
    "kwargs",
    [
        {"naturalness": 0},
        {"naturalness": 6},
        {"reliability": 2.5},
        {"reliability": True},
        {"thumbs": 2},
        {"comment": "x" * 5001},
        {"naturalness": "3"},
    ],
)
def test_bad_rating_values_are_refused_before_the_database(database, kwargs):
    with database.sessions.begin() as session:
        output_id = add_text_request(session).outputs[0].id
        rater_id = add_rater(session, "r1").id
    with pytest.raises(InvalidInputError), database.sessions.begin() as session:
        upsert_rating(session, output_id=output_id, rater_id=rater_id, source="end_user", **kwargs)
    with database.sessions() as session:
        assert session.query(Rating).count() == 0


def test_unknown_ids_give_a_clear_error(database):
    with database.sessions.begin() as session:
        request = add_text_request(session)
        other = add_text_request(session, prompt="other")
        rater_id = add_rater(session, "r1").id
        request_id, foreign_output_id = request.id, other.outputs[0].id
    with database.sessions.begin() as session:
        with pytest.raises(UnknownIdError, match="output 424242"):
            upsert_rating(session, output_id=424242, rater_id=rater_id, source="end_user", naturalness=3)
        with pytest.raises(UnknownIdError, match="user 77"):
            upsert_rating(session, output_id=foreign_output_id, rater_id=77, source="end_user", naturalness=3)
        with pytest.raises(UnknownIdError, match="not a candidate"):
            upsert_set_rating(
                session,
                request_id=request_id,
                rater_id=rater_id,
                source="end_user",
                best_output_id=foreign_output_id,
            )


def test_set_rating_upserts_diversity_and_best(database):
    with database.sessions.begin() as session:
        request = add_text_request(session, n=3)
        rater_id = add_rater(session, "r1").id
        request_id, best_id = request.id, request.outputs[2].id
    with database.sessions.begin() as session:
        upsert_set_rating(session, request_id=request_id, rater_id=rater_id, source="end_user", diversity=2)
    with database.sessions.begin() as session:
        rating = upsert_set_rating(session, request_id=request_id, rater_id=rater_id, source="end_user", best_output_id=best_id)
        assert (rating.diversity, rating.best_output_id) == (2, best_id)


def test_flag_and_unflag(database):
    with database.sessions.begin() as session:
        output_id = add_text_request(session).outputs[0].id
        rater_id = add_rater(session, "r1").id
        set_flag(session, output_id=output_id, rater_id=rater_id, flagged=True)
        set_flag(session, output_id=output_id, rater_id=rater_id, flagged=True)
    from feedback_db.frames import flags_frame

    with database.sessions() as session:
        assert len(flags_frame(session)) == 1
    with database.sessions.begin() as session:
        set_flag(session, output_id=output_id, rater_id=rater_id, flagged=False)
    with database.sessions() as session:
        assert len(flags_frame(session)) == 0


def test_anonymous_user_keeps_one_identity_per_browser_session(database):
    with database.sessions.begin() as session:
        user, browser = anonymous_user_for_session(session)
    with database.sessions.begin() as session:
        again, _ = anonymous_user_for_session(session, session_id=browser.id)
    assert again.id == user.id
    assert user.role == "end_user"
