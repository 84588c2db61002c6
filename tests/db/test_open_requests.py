"""Requests stored when their generation starts (feedback_db/open_requests.py): running with no
outputs, closed once with how they ended; listed in the history meanwhile; bad input refused
with nothing changed; migration 0008 marks old stopped requests so."""

import pytest
from sqlalchemy import func, select

from feedback_db.errors import InvalidInputError, RequestClosedError, UnknownIdError
from feedback_db.frames import outputs_frame
from feedback_db.history import history_page, last_request_id, request_view
from feedback_db.open_requests import close_request, discard_request
from feedback_db.queries import NewOutput, record_request
from feedback_db.schema import Output, Request
from feedback_db.users import anonymous_user_for_session
from tests.db.conftest import CHECK_VIOLATION

MINE = "a" * 64


def opened(session, prompt: str = "List five facts about octopuses.") -> Request:
    return record_request(
        session, modality="text", prompt=prompt, parameters={"n": 2}, model_version="base", session_id=MINE, outputs=[], running=True
    )


def text(index: int, finish_reason: str = "stop") -> NewOutput:
    return NewOutput(index=index, seed=10 + index, latency_ms=5.0, text=f"answer {index}", finish_reason=finish_reason)


@pytest.fixture(autouse=True)
def me(database):
    with database.sessions.begin() as session:
        user, _ = anonymous_user_for_session(session, session_id=MINE)
        return user.id


def test_a_running_request_is_listed_and_restorable_before_it_has_outputs(database, me):
    with database.sessions.begin() as session:
        request_id = opened(session).id
    with database.read_sessions() as session:
        assert last_request_id(session, session_id=MINE, modality="text") == request_id
        view = request_view(session, request_id=request_id, session_id=MINE, rater_id=me)
        page = history_page(session, session_id=MINE, rater_id=me)
        assert (view.status, view.candidates, view.prompt) == ("running", [], "List five facts about octopuses.")
        assert [(e.request_id, e.status, e.candidates) for e in page.entries] == [(request_id, "running", 0)]
        assert outputs_frame(session).empty  # nothing to rate or train on yet


@pytest.mark.parametrize(
    ("status", "outputs", "expected"),
    [
        ("finished", [text(0), text(1)], 2),
        ("stopped", [text(0, "cancelled")], 1),
        ("interrupted", [text(0, "cancelled")], 1),
        ("interrupted", [], 0),  # cut off before any text
    ],
)
def test_a_request_closes_once_with_its_outputs_and_how_it_ended(database, me, status, outputs, expected):
    with database.sessions.begin() as session:
        request_id = opened(session).id
    with database.sessions.begin() as session:
        close_request(session, request_id=request_id, outputs=outputs, status=status)
    with database.read_sessions() as session:
        view = request_view(session, request_id=request_id, session_id=MINE, rater_id=me)
        assert (view.status, len(view.candidates)) == (status, expected)
    with pytest.raises(RequestClosedError, match=f"already closed as {status}"), database.sessions.begin() as session:
        close_request(session, request_id=request_id, outputs=[text(0)], status="finished")


@pytest.mark.parametrize(
    ("status", "outputs", "error"),
    [
        ("finished", [], "at least one output"),  # only an interrupted request may have none
        ("running", [text(0)], "closes as one of"),
        ("done", [text(0)], "closes as one of"),
        ("finished", [text(0), text(0)], "unique"),
        ("finished", [text(0, "exploded")], "unknown finish reason"),
    ],
)
def test_a_bad_close_is_refused_and_the_request_stays_running(database, status, outputs, error):
    with database.sessions.begin() as session:
        request_id = opened(session).id
    with pytest.raises(InvalidInputError, match=error), database.sessions.begin() as session:
        close_request(session, request_id=request_id, outputs=outputs, status=status)
    with database.read_sessions() as session:
        assert session.get(Request, request_id).status == "running"
        assert session.scalar(select(func.count(Output.id))) == 0


def test_unknown_ids_and_bad_prompts_are_refused(database):
    with pytest.raises(UnknownIdError), database.sessions.begin() as session:
        close_request(session, request_id=404, outputs=[text(0)], status="finished")
    for prompt, error in (("  ", "empty"), ("x" * 100_001, "longer than")):
        with pytest.raises(InvalidInputError, match=error), database.sessions.begin() as session:
            opened(session, prompt)
    with database.read_sessions() as session:
        assert session.scalar(select(func.count(Request.id))) == 0


def test_discard_deletes_only_a_running_request_without_outputs(database):
    with database.sessions.begin() as session:
        running, closed = opened(session).id, opened(session).id
        close_request(session, request_id=closed, outputs=[text(0)], status="finished")
    with database.sessions.begin() as session:
        discard_request(session, request_id=running)
    with pytest.raises(RequestClosedError), database.sessions.begin() as session:
        discard_request(session, request_id=closed)
    with database.read_sessions() as session:
        assert session.scalars(select(Request.id)).all() == [closed]


def test_the_database_refuses_an_unknown_status(database):
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError, match=CHECK_VIOLATION), database.sessions.begin() as session:
        opened(session).status = "exploded"


def test_only_finished_requests_reach_the_annotation_queue(database):
    from feedback_db.assignments import next_item, skip
    from tests.db.helpers import add_rater

    # 1. A request still running (no outputs yet), one interrupted with text so far, one finished.
    with database.sessions.begin() as session:
        annotator = add_rater(session, "ann", role="annotator").id
        opened(session)
        interrupted = opened(session).id
        close_request(session, request_id=interrupted, outputs=[text(0, "cancelled"), text(1, "cancelled")], status="interrupted")
        finished = opened(session).id
        close_request(session, request_id=finished, outputs=[text(0), text(1)], status="finished")
    # 2. The annotator is handed the finished one, and then nothing.
    handed = []
    for _ in range(3):
        with database.sessions.begin() as session:
            lease = next_item(session, annotator_id=annotator)
            if lease is None:
                break
            handed.append(lease.request_id)
            skip(session, annotator_id=annotator, request_id=lease.request_id)
    assert handed == [finished]
