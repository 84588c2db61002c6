"""Drafts of unsubmitted scores on a live lease (feedback_db/drafts.py), on SQLite and PostgreSQL:
kept per annotator and item, refused with a clear error (the old draft intact), gone with the lease."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from feedback_db.assignments import ItemRatings, QueuePolicy, load_item, next_item, release, skip, submit
from feedback_db.drafts import load_draft, save_draft
from feedback_db.errors import InvalidInputError, LeaseLostError, NotAssignedError, UnknownIdError
from feedback_db.schema import Assignment, Rating, utcnow
from tests.db.helpers import add_rater, add_text_request

POLICY = QueuePolicy(overlap=1, lease=timedelta(minutes=15))


@pytest.fixture
def leased(database):
    """Annotator "ann" holds a lease on a 3-candidate request; "bob" is another annotator."""
    start = utcnow()
    with database.sessions.begin() as session:
        ann, bob = add_rater(session, "ann", "annotator").id, add_rater(session, "bob", "annotator").id
        request_id = add_text_request(session, n=3).id
        outputs = [o.output_id for o in load_item(session, request_id).outputs]
        assert next_item(session, annotator_id=ann, policy=POLICY, now=start).request_id == request_id
    return {"ann": ann, "bob": bob, "request_id": request_id, "outputs": outputs, "start": start}


def partial(outputs: list[int]) -> ItemRatings:
    """Some scores set, some not: what an annotator has half-way through an item."""
    return ItemRatings({outputs[0]: (4, 5), outputs[1]: (2, None)}, diversity=3, best_output_id=outputs[0], flagged=frozenset({outputs[1]}))


def saved(database, leased, who: str = "ann", at: timedelta = timedelta(0)) -> ItemRatings:
    with database.read_sessions() as session:
        return load_draft(session, annotator_id=leased[who], request_id=leased["request_id"], now=leased["start"] + at)


def keep(database, leased, ratings: ItemRatings, who: str = "ann", at: timedelta = timedelta(0), request_id: int | None = None) -> bool:
    with database.sessions.begin() as session:
        return save_draft(
            session, annotator_id=leased[who], request_id=request_id or leased["request_id"], ratings=ratings, now=leased["start"] + at
        )


def test_a_draft_round_trips_and_comes_back_with_the_resumed_lease(database, leased):
    draft = partial(leased["outputs"])
    assert keep(database, leased, draft) is True
    assert saved(database, leased) == draft
    # A later change replaces it (a score taken back disappears).
    changed = ItemRatings({leased["outputs"][0]: (4, 5)})
    keep(database, leased, changed)
    assert saved(database, leased) == changed
    # The annotator's reload: the same lease, and the draft with it.
    with database.sessions.begin() as session:
        lease = next_item(session, annotator_id=leased["ann"], policy=POLICY, now=leased["start"] + timedelta(minutes=5))
    assert lease.resumed and lease.request_id == leased["request_id"]
    assert saved(database, leased, at=timedelta(minutes=5)) == changed
    assert saved(database, leased, who="bob") == ItemRatings()  # keyed by annotator


@pytest.mark.parametrize(
    "bad, message",
    [
        (lambda o: ItemRatings({o[0]: (6, None)}), "naturalness must be a whole number from 1 to 5, got 6"),
        (lambda o: ItemRatings({o[0]: (None, 0)}), "reliability must be a whole number from 1 to 5, got 0"),
        (lambda o: ItemRatings({o[0]: (True, None)}), "naturalness must be a whole number"),
        (lambda o: ItemRatings(diversity=9), "diversity must be a whole number from 1 to 5, got 9"),
        (lambda o: ItemRatings({999_999: (3, 3)}), r"outputs \[999999\] are not candidates of this request"),
        (lambda o: ItemRatings(best_output_id=999_999), "not candidates of this request"),
        (lambda o: ItemRatings(flagged=frozenset({999_999})), "not candidates of this request"),
    ],
)
def test_out_of_range_scores_and_unknown_outputs_are_refused_and_keep_the_old_draft(database, leased, bad, message):
    keep(database, leased, partial(leased["outputs"]))
    with pytest.raises(InvalidInputError, match=message):
        keep(database, leased, bad(leased["outputs"]))
    assert saved(database, leased) == partial(leased["outputs"])


def test_another_annotators_item_an_unknown_request_and_an_expired_lease_are_refused(database, leased):
    keep(database, leased, partial(leased["outputs"]))
    with pytest.raises(NotAssignedError, match="is not assigned to you"):
        keep(database, leased, ItemRatings({leased["outputs"][0]: (1, 1)}), who="bob")
    with pytest.raises(UnknownIdError, match="request 424242 does not exist"):
        keep(database, leased, ItemRatings(), request_id=424242)
    with pytest.raises(LeaseLostError, match="your time on this item ran out"):
        keep(database, leased, ItemRatings({leased["outputs"][0]: (1, 1)}), at=timedelta(minutes=16))
    assert saved(database, leased) == partial(leased["outputs"])  # nothing above touched it
    assert saved(database, leased, at=timedelta(minutes=16)) == ItemRatings()  # expired: not shown


def test_submit_and_skip_clear_the_draft_and_a_late_save_is_dropped(database, leased):
    outputs = leased["outputs"]
    keep(database, leased, partial(outputs))
    complete = ItemRatings({o: (3, 4) for o in outputs}, diversity=2)
    with database.sessions.begin() as session:
        submit(session, annotator_id=leased["ann"], request_id=leased["request_id"], ratings=complete, policy=POLICY, now=leased["start"])
    assert draft_column(database, leased["ann"]) is None
    # The page's last click can reach the server just after Submit: moot, not stored, no error.
    assert keep(database, leased, partial(outputs)) is False
    assert draft_column(database, leased["ann"]) is None
    with database.read_sessions() as session:
        assert sorted(session.scalars(select(Rating.naturalness))) == [3, 3, 3]

    with database.sessions.begin() as session:  # skip: a second request for bob
        other = add_text_request(session, n=2).id
        assert next_item(session, annotator_id=leased["bob"], policy=POLICY, now=leased["start"]).request_id == other
    bob_outputs = [o.output_id for o in load_item_of(database, other).outputs]
    keep(database, leased, ItemRatings({bob_outputs[0]: (5, 5)}), who="bob", request_id=other)
    with database.sessions.begin() as session:
        skip(session, annotator_id=leased["bob"], request_id=other)
    assert draft_column(database, leased["bob"]) is None
    with pytest.raises(NotAssignedError):  # skipped: no longer the annotator's item
        keep(database, leased, ItemRatings({bob_outputs[0]: (5, 5)}), who="bob", request_id=other)


def test_the_draft_goes_with_the_lease_on_log_out_expiry_and_take_over(database, leased):
    keep(database, leased, partial(leased["outputs"]))
    with database.sessions.begin() as session:
        release(session, annotator_id=leased["ann"], now=leased["start"] + timedelta(minutes=1))
    assert draft_column(database, leased["ann"]) is None
    # Leased again (the same item comes back), drafted, then expired: the next ask clears it.
    with database.sessions.begin() as session:
        at = leased["start"] + timedelta(minutes=2)
        assert next_item(session, annotator_id=leased["ann"], policy=POLICY, now=at).request_id == leased["request_id"]
    keep(database, leased, partial(leased["outputs"]), at=timedelta(minutes=3))
    with database.sessions.begin() as session:
        next_item(session, annotator_id=leased["ann"], policy=POLICY, now=leased["start"] + timedelta(minutes=30))
    assert draft_column(database, leased["ann"]) is None
    # Take-over: ann's lease lapses with a draft; bob takes the slot, and the draft goes.
    with database.sessions.begin() as session:
        assert (
            next_item(session, annotator_id=leased["ann"], policy=POLICY, now=leased["start"] + timedelta(minutes=31)).request_id
            == leased["request_id"]
        )
    keep(database, leased, partial(leased["outputs"]), at=timedelta(minutes=32))
    with database.sessions.begin() as session:
        lease = next_item(session, annotator_id=leased["bob"], policy=POLICY, now=leased["start"] + timedelta(hours=1))
    assert lease.request_id == leased["request_id"]
    assert draft_column(database, leased["ann"]) is None


def draft_column(database, annotator_id: int):
    with database.read_sessions() as session:
        drafts = session.scalars(select(Assignment.draft).where(Assignment.annotator_id == annotator_id)).all()
    return next((d for d in drafts if d is not None), None)


def load_item_of(database, request_id: int):
    with database.read_sessions() as session:
        return load_item(session, request_id)
