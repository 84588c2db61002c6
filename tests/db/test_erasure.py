"""Delete my data (feedback_db/erasure.py), on SQLite and PostgreSQL: everything of one identity
goes - requests, outputs, ratings, set ratings, flags, sessions, personal versions and their
runs, the user - and nothing of anyone
else's, except others' ratings of the deleted outputs; image files still named by others stay."""

import pytest
from sqlalchemy import func, select

from feedback_db.erasure import erase_identity
from feedback_db.errors import UnknownIdError
from feedback_db.queries import NewOutput, record_request, set_flag, upsert_rating, upsert_set_rating
from feedback_db.runs import start_run
from feedback_db.schema import Flag, ModelVersion, Output, Rating, Request, SetRating, TrainingRun, User, UserSession
from feedback_db.users import anonymous_user_for_session
from feedback_db.versions import create_version, promote_version
from tests.db.helpers import add_rater

MINE, THEIRS = "a" * 64, "b" * 64


def image_request(session, session_id: str, path: str) -> Request:
    output = NewOutput(index=0, seed=1, latency_ms=5.0, image_path=path, image_sha256="0" * 64)
    return record_request(
        session, modality="image", prompt="a red circle", parameters={}, model_version="base", outputs=[output], session_id=session_id
    )


def text_request(session, session_id: str) -> Request:
    outputs = [NewOutput(index=i, seed=i, latency_ms=5.0, text=f"answer {i}") for i in range(2)]
    return record_request(
        session, modality="text", prompt="hi", parameters={}, model_version="base", outputs=outputs, session_id=session_id
    )


@pytest.fixture
def two_people(database):
    """Me: a text and two image requests, rated, set-rated and flagged; an annotator rated one of
    my answers. Them: a request of their own, with an image file that one of mine shares."""
    with database.sessions.begin() as session:
        me, _ = anonymous_user_for_session(session, session_id=MINE)
        them, _ = anonymous_user_for_session(session, session_id=THEIRS)
        annotator = add_rater(session, "ann", role="annotator")
        mine = text_request(session, MINE)
        image_request(session, MINE, "images/only-mine.png")
        image_request(session, MINE, "images/shared.png")
        theirs = text_request(session, THEIRS)
        image_request(session, THEIRS, "images/shared.png")
        first = mine.outputs[0].id
        upsert_rating(session, output_id=first, rater_id=me.id, source="end_user", naturalness=4)
        upsert_rating(session, output_id=first, rater_id=annotator.id, source="annotator", naturalness=2)
        upsert_set_rating(session, request_id=mine.id, rater_id=me.id, source="end_user", diversity=3, best_output_id=first)
        set_flag(session, output_id=mine.outputs[1].id, rater_id=me.id, flagged=True, reason="unsafe")
        upsert_rating(session, output_id=theirs.outputs[0].id, rater_id=them.id, source="end_user", naturalness=5)
        upsert_rating(session, output_id=theirs.outputs[0].id, rater_id=annotator.id, source="annotator", naturalness=3)
        for owner, name in ((me, "text-p-mine000001"), (them, "text-p-theirs0001")):  # a personal version each
            run = start_run(session, modality="text", data_counts={"rated_outputs": 40}, owner_id=owner.id)
            version = create_version(
                session,
                name=name,
                modality="text",
                base_model="embedded",
                adapter_path=f"/adapters/{name}",
                training_run_id=run.id,
                owner_id=owner.id,
            )
            promote_version(session, version_id=version.id)
        return me.id, them.id, annotator.id


def counts(database) -> dict[str, int]:
    with database.read_sessions() as session:
        tables = {"requests": Request, "outputs": Output, "ratings": Rating, "set_ratings": SetRating, "flags": Flag}
        tables |= {"users": User, "sessions": UserSession, "versions": ModelVersion, "runs": TrainingRun}
        return {name: session.scalar(select(func.count()).select_from(table)) for name, table in tables.items()}


def test_deleting_my_data_leaves_nothing_of_mine_and_all_of_theirs(database, two_people):
    me, them, annotator = two_people
    everything = {
        "requests": 5,
        "outputs": 7,
        "ratings": 4,
        "set_ratings": 1,
        "flags": 1,
        "users": 3,
        "sessions": 2,
        "versions": 2,
        "runs": 2,
    }
    assert counts(database) == everything
    with database.sessions.begin() as session:
        erased = erase_identity(session, user_id=me)
    # 1. What the person is told, and the image file only they used.
    assert (erased.requests, erased.ratings, erased.set_ratings, erased.flags) == (3, 2, 1, 1)
    assert erased.orphaned_images == ["images/only-mine.png"]
    assert erased.personal_versions == 1 and [f.name for f in erased.adapter_folders] == ["text-p-mine000001"]
    # 2. Theirs and the annotator's account stay; the annotator's rating of my answer went with it.
    left = {"requests": 2, "outputs": 3, "ratings": 2, "set_ratings": 0, "flags": 0, "users": 2, "sessions": 1, "versions": 1, "runs": 1}
    assert counts(database) == left
    with database.read_sessions() as session:
        assert session.scalars(select(Request.session_id).distinct()).all() == [THEIRS]
        assert sorted(session.scalars(select(Rating.rater_id))) == sorted([them, annotator])
        assert session.get(User, me) is None
        assert session.scalars(select(ModelVersion.owner_id)).all() == [them]


def test_an_unknown_identity_is_refused_and_nothing_changes(database, two_people):
    before = counts(database)
    with pytest.raises(UnknownIdError), database.sessions.begin() as session:
        erase_identity(session, user_id=10_000)
    assert counts(database) == before
