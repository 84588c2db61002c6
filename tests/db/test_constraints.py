"""The database itself refuses bad scores and duplicate ratings, whatever the client does."""

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from feedback_db.schema import Rating, SetRating
from tests.db.conftest import CHECK_VIOLATION, FOREIGN_KEY_VIOLATION, UNIQUE_VIOLATION
from tests.db.helpers import add_rater, add_text_request


@pytest.mark.parametrize("column", ["naturalness", "reliability"])
@pytest.mark.parametrize("score", [0, 6, -1, 100])
def test_out_of_range_rating_is_refused_by_sql(database, column, score):
    with database.sessions.begin() as session:
        output_id = add_text_request(session).outputs[0].id
        rater_id = add_rater(session, "r1").id
    with pytest.raises(IntegrityError, match=CHECK_VIOLATION), database.sessions.begin() as session:
        session.execute(
            text(
                f"INSERT INTO ratings (output_id, rater_id, {column}, source, created_at, updated_at)"
                " VALUES (:o, :r, :s, 'end_user', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            ),
            {"o": output_id, "r": rater_id, "s": score},
        )


def test_out_of_range_diversity_is_refused_through_the_orm(database):
    with database.sessions.begin() as session:
        request_id = add_text_request(session).id
        rater_id = add_rater(session, "r1").id
    with pytest.raises(IntegrityError, match=CHECK_VIOLATION), database.sessions.begin() as session:
        session.add(SetRating(request_id=request_id, rater_id=rater_id, diversity=9, source="end_user"))


def test_one_rating_per_rater_and_output(database):
    with database.sessions.begin() as session:
        output_id = add_text_request(session).outputs[0].id
        rater_id = add_rater(session, "r1").id
        session.add(Rating(output_id=output_id, rater_id=rater_id, naturalness=3, source="end_user"))
    with pytest.raises(IntegrityError, match=UNIQUE_VIOLATION), database.sessions.begin() as session:
        session.add(Rating(output_id=output_id, rater_id=rater_id, naturalness=4, source="end_user"))


def test_rating_for_unknown_output_is_refused_by_foreign_key(database):
    with database.sessions.begin() as session:
        rater_id = add_rater(session, "r1").id
    with pytest.raises(IntegrityError, match=FOREIGN_KEY_VIOLATION), database.sessions.begin() as session:
        session.add(Rating(output_id=999, rater_id=rater_id, naturalness=3, source="end_user"))


def test_unknown_role_is_refused(database):
    with pytest.raises(IntegrityError, match=CHECK_VIOLATION), database.sessions.begin() as session:
        add_rater(session, "x", role="superuser")
