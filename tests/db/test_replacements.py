"""Regenerating one card (feedback_db/replacements.py): a new output takes the card, the old one
stays with its ratings; the history, the frames and the annotation queue read it the right way;
bad input changes nothing."""

import dataclasses

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from feedback_db.assignments import load_item, next_item
from feedback_db.errors import InvalidInputError, OutputReplacedError, UnknownIdError
from feedback_db.frames import outputs_frame, ratings_frame
from feedback_db.history import history_page, request_view
from feedback_db.queries import NewOutput, set_flag, upsert_rating, upsert_set_rating
from feedback_db.replacements import current_outputs, replace_output, replaceable_output
from feedback_db.schema import Output
from feedback_db.users import anonymous_user_for_session
from tests.db.conftest import UNIQUE_VIOLATION
from tests.db.helpers import add_rater, add_text_request

MINE, THEIRS = "a" * 64, "b" * 64


def new_text(seed: int = 999, text: str = "a new answer") -> NewOutput:
    return NewOutput(index=0, seed=seed, latency_ms=4.0, text=text, tokens=12)


@pytest.fixture
def three(database):
    """My request with three candidates, each rated by me, the third picked as best."""
    with database.sessions.begin() as session:
        me, _ = anonymous_user_for_session(session, session_id=MINE)
        anonymous_user_for_session(session, session_id=THEIRS)
        request = add_text_request(session, n=3, prompt="three")
        request.session_id = MINE
        ids = [o.id for o in request.outputs]
        for score, output_id in zip((2, 3, 4), ids, strict=True):
            upsert_rating(session, output_id=output_id, rater_id=me.id, source="end_user", naturalness=score)
        upsert_set_rating(session, request_id=request.id, rater_id=me.id, source="end_user", diversity=3, best_output_id=ids[2])
        return {"me": me.id, "request": request.id, "outputs": ids}


def replace_third(database, three, seed: int = 999) -> int:
    with database.sessions.begin() as session:
        return replace_output(session, output_id=three["outputs"][2], session_id=MINE, output=new_text(seed)).id


def test_a_replacement_takes_the_card_and_the_old_output_keeps_its_ratings(database, three):
    new_id = replace_third(database, three)
    with database.read_sessions() as session:
        new = session.get(Output, new_id)
        assert (new.request_id, new.index, new.replaces_output_id, new.seed) == (three["request"], 3, three["outputs"][2], 999)
        assert [o.id for o in current_outputs(session, request_id=three["request"])] == [*three["outputs"][:2], new_id]
        assert session.scalar(select(func.count(Output.id)).where(Output.request_id == three["request"])) == 4
        view = request_view(session, request_id=three["request"], session_id=MINE, rater_id=three["me"])
        ratings = ratings_frame(session)
        outputs = outputs_frame(session)
    # The view: current candidates by card, the replaced one beside them with its rating.
    assert [(c.output_id, c.index, c.naturalness) for c in view.candidates] == [
        (three["outputs"][0], 0, 2),
        (three["outputs"][1], 1, 3),
        (new_id, 2, None),
    ]
    assert [(c.output_id, c.index, c.naturalness) for c in view.replaced] == [(three["outputs"][2], 2, 4)]
    # The best pick named the replaced output: kept as stored, shown as no pick; diversity stays.
    assert (view.best_index, view.best_output_id, view.diversity) == (None, three["outputs"][2], 3)
    # The frames keep the replaced output and its rating as data, marked.
    assert ratings.set_index("output_id")["replaced"].to_dict() == {**dict.fromkeys(three["outputs"][:2], False), three["outputs"][2]: True}
    replaced = outputs.set_index("output_id")["replaced"]
    assert replaced[three["outputs"][2]] and not replaced[new_id]


def test_a_chain_of_replacements_stays_in_its_card_and_history_counts_current_ones(database, three):
    second = replace_third(database, three)
    with database.sessions.begin() as session:
        third = replace_output(session, output_id=second, session_id=MINE, output=new_text(5, "third try")).id
        first_card = replace_output(session, output_id=three["outputs"][0], session_id=MINE, output=new_text(6, "card one")).id
    with database.read_sessions() as session:
        assert [o.id for o in current_outputs(session, request_id=three["request"])] == [first_card, three["outputs"][1], third]
        (entry,) = history_page(session, session_id=MINE, rater_id=three["me"]).entries
        view = request_view(session, request_id=three["request"], session_id=MINE, rater_id=three["me"])
    assert (entry.candidates, entry.rated, entry.replaced) == (3, 1, 3)
    assert [c.index for c in view.replaced] == [0, 2, 2]


def test_bad_input_is_refused_and_changes_nothing(database, three):
    replace_third(database, three)
    cases = [
        (three["outputs"][2], MINE, new_text(), OutputReplacedError, "already regenerated"),
        (three["outputs"][0], THEIRS, new_text(), UnknownIdError, "not one of this browser's candidates"),
        (987654, MINE, new_text(), UnknownIdError, "not one of this browser's candidates"),
        (three["outputs"][0], MINE, NewOutput(index=0, seed=1, latency_ms=1.0), InvalidInputError, "neither text nor an image"),
        (three["outputs"][0], MINE, dataclasses.replace(new_text(), finish_reason="bored"), InvalidInputError, "finish"),
    ]
    for output_id, session_id, output, error, message in cases:
        with pytest.raises(error, match=message), database.sessions.begin() as session:
            replace_output(session, output_id=output_id, session_id=session_id, output=output)
    with database.read_sessions() as session:
        assert session.scalar(select(func.count(Output.id))) == 4
        with pytest.raises(OutputReplacedError):
            replaceable_output(session, output_id=three["outputs"][2], session_id=MINE)
        assert replaceable_output(session, output_id=three["outputs"][0], session_id=MINE).id == three["outputs"][0]


def test_the_database_itself_refuses_a_second_replacement_of_one_output(database, three):
    replace_third(database, three)
    with pytest.raises(IntegrityError, match=UNIQUE_VIOLATION), database.sessions.begin() as session:
        session.add(Output(request_id=three["request"], index=9, seed=1, latency_ms=1.0, text="x", replaces_output_id=three["outputs"][2]))


def test_the_queue_shows_annotators_the_current_outputs_only(database, three):
    # A flag on the replaced output no longer keeps the request out of the queue: it is not shown.
    with database.sessions.begin() as session:
        set_flag(session, output_id=three["outputs"][2], rater_id=three["me"], flagged=True)
    new_id = replace_third(database, three)
    with database.sessions.begin() as session:
        annotator = add_rater(session, "ann", role="annotator")
        lease = next_item(session, annotator_id=annotator.id)
        assert lease is not None and lease.request_id == three["request"]
        item = load_item(session, three["request"])
    assert [(o.output_id, o.index) for o in item.outputs] == [(three["outputs"][0], 0), (three["outputs"][1], 1), (new_id, 2)]
