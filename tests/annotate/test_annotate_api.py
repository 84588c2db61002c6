"""The Annotate tab's endpoints through gradio_client: refused without a valid annotator login."""

from __future__ import annotations

import pytest
from gradio_client import Client
from sqlalchemy import select, update

from feedback_db.assignments import ItemRatings
from feedback_db.frames import ratings_frame, set_ratings_frame
from feedback_db.schema import Assignment, User
from feedback_db.users import create_user
from playground.core.errors import NotAllowedError
from playground.services.annotation import NotLoggedInError, keep_draft, log_in, require_annotator, take_next
from tests.launch import running_app

PASSWORD = "correct horse"
NO_SCORES = (None,) * 10  # 4 x naturalness, 4 x reliability, diversity, best
ENDPOINTS = {
    "/annotate_next": (),
    "/annotate_submit": NO_SCORES,
    "/annotate_draft": NO_SCORES,
    "/annotate_skip": (),
    "/annotate_back": (),
    "/annotate_agreement": (),
}


@pytest.fixture
def accounts(database):
    with database.sessions.begin() as session:
        for name, role in (("ann", "annotator"), ("boss", "admin"), ("eve", "end_user")):
            create_user(session, name=name, role=role, password=PASSWORD)


@pytest.fixture
def url(fake_context, make_requests, accounts):
    make_requests(3, n=2)
    with running_app(fake_context) as url:
        yield url


def client(url: str) -> Client:
    return Client(url, verbose=False)


def test_every_annotator_endpoint_refuses_a_caller_who_has_not_logged_in(url):
    anonymous = client(url)
    for endpoint, args in ENDPOINTS.items():
        with pytest.raises(Exception, match="Log in as an annotator first"):
            anonymous.predict(*args, api_name=endpoint)


def test_wrong_password_and_end_users_are_refused(url):
    caller = client(url)
    with pytest.raises(Exception, match="Wrong name or password"):
        caller.predict("ann", "wrong password", api_name="/annotate_login")
    with pytest.raises(Exception, match="Wrong name or password"):
        caller.predict("nobody", PASSWORD, api_name="/annotate_login")
    with pytest.raises(Exception, match="Only annotators and admins"):
        caller.predict("eve", PASSWORD, api_name="/annotate_login")
    for endpoint, args in ENDPOINTS.items():  # still not logged in after those attempts
        with pytest.raises(Exception, match="Log in"):
            caller.predict(*args, api_name=endpoint)


def test_an_annotator_rates_through_the_api_and_admins_alone_see_agreement(url, database):
    annotator = client(url)
    annotator.predict("ann", PASSWORD, api_name="/annotate_login")
    # 1. The item on screen is request 1 (2 candidates); submit scores for it.
    annotator.predict(4, 2, None, None, 5, 3, None, None, 3, 0, api_name="/annotate_submit")
    with database.read_sessions() as session:
        ratings = ratings_frame(session)
        sets = set_ratings_frame(session)
    assert ratings[["request_id", "naturalness", "reliability", "source"]].values.tolist() == [
        [1, 4, 5, "annotator"],
        [1, 2, 3, "annotator"],
    ]
    assert (sets.loc[0, "diversity"], sets.loc[0, "best_output_index"]) == (3, 0)
    # 2. Back opens the submitted item with its scores; editing it updates the same rows.
    shown = annotator.predict(api_name="/annotate_back")
    assert "Editing an earlier item" in shown[0] and shown[1] == "prompt 0"  # (State outputs are not returned)
    annotator.predict(1, 2, None, None, 5, 3, None, None, 3, None, api_name="/annotate_submit")
    with database.read_sessions() as session:
        assert ratings_frame(session)["naturalness"].tolist() == [1, 2]
    # 3. Agreement is for admins only.
    with pytest.raises(Exception, match="Only admins"):
        annotator.predict(api_name="/annotate_agreement")
    admin = client(url)
    admin.predict("boss", PASSWORD, api_name="/annotate_login")
    assert "Krippendorff" in admin.predict(api_name="/annotate_agreement")
    # 4. After logging out, the same client is refused again.
    annotator.predict(api_name="/annotate_logout")
    with pytest.raises(Exception, match="Log in"):
        annotator.predict(api_name="/annotate_next")


def test_the_role_is_checked_in_the_database_on_every_call(database, accounts):
    login = log_in(database, "ann", PASSWORD)
    assert require_annotator(database, login).role == "annotator"
    with database.sessions.begin() as session:
        session.execute(update(User).where(User.name == "ann").values(role="end_user"))
    with pytest.raises(NotAllowedError, match="Only annotators"):
        require_annotator(database, login)
    with pytest.raises(NotLoggedInError):
        require_annotator(database, {"user_id": 1, "role": "admin"})  # a forged state is not a login


def test_scores_set_so_far_are_kept_on_the_server_until_submit(url, database):
    annotator = client(url)
    annotator.predict("ann", PASSWORD, api_name="/annotate_login")
    # 1. Scores set on the current item (request 1, two candidates) become its draft.
    annotator.predict(4, None, None, None, 5, 2, None, None, None, 1, api_name="/annotate_draft")
    assert drafts(database) == [{"scores": {"1": [4, 5], "2": [None, 2]}, "diversity": None, "best_output_id": 2, "flagged": []}]
    # 2. A bad score is refused (before the handler, naming the field), and the draft stays as it was.
    with pytest.raises(Exception, match="Naturalness must be one of 1, 2, 3, 4, 5; got 7"):
        annotator.predict(7, None, None, None, 5, 2, None, None, None, None, api_name="/annotate_draft")
    assert drafts(database)[0]["scores"] == {"1": [4, 5], "2": [None, 2]}
    # 3. Submit stores the scores and drops the draft.
    annotator.predict(4, 3, None, None, 5, 2, None, None, 3, 1, api_name="/annotate_submit")
    assert drafts(database) == []
    with database.read_sessions() as session:
        assert ratings_frame(session)[["naturalness", "reliability"]].values.tolist() == [[4, 5], [3, 2]]


def test_the_current_item_comes_back_with_its_draft(database, settings, make_requests, accounts):
    make_requests(2, n=2)
    login = log_in(database, "ann", PASSWORD)
    shown = take_next(database, settings, login)
    first = shown.item.outputs[0].output_id
    keep_draft(database, login, shown.item.request_id, ItemRatings({first: (2, None)}, diversity=4))
    again = take_next(database, settings, login)  # what a reload does
    assert again.item.request_id == shown.item.request_id
    assert again.ratings == ItemRatings({first: (2, None)}, diversity=4)


def drafts(database) -> list:
    with database.read_sessions() as session:
        return [d for d in session.scalars(select(Assignment.draft)) if d is not None]
