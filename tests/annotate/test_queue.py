"""The annotation queue: overlap k, leases, skip, back and edit - also under concurrent annotators."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from feedback_db.assignments import (
    ItemRatings,
    QueuePolicy,
    annotator_ratings,
    load_item,
    next_item,
    progress,
    release,
    skip,
    submit,
    submitted_history,
)
from feedback_db.errors import InvalidInputError, LeaseLostError, NotAssignedError
from feedback_db.schema import Assignment, Flag, Rating, utcnow
from tests.annotate.conftest import add_annotator


def full_ratings(session, request_id: int, score: int = 4) -> ItemRatings:
    item = load_item(session, request_id)
    return ItemRatings({o.output_id: (score, 5 - score + 1) for o in item.outputs}, diversity=3)


def work_through_queue(database, annotator_ids, policy, holders, violations, seen, pause=0.0):
    """Each annotator in its own thread: take the next item, hold it a moment, submit; until empty."""
    errors: list[BaseException] = []
    lock = threading.Lock()

    def annotate(annotator_id: int) -> None:
        try:
            while True:
                with database.sessions.begin() as session:
                    lease = next_item(session, annotator_id=annotator_id, policy=policy)
                if lease is None:
                    return
                key = (lease.request_id, lease.slot)
                with lock:
                    if key in holders:
                        violations.append((key, holders[key], annotator_id))
                    holders[key] = annotator_id
                seen[annotator_id].append(lease.request_id)
                time.sleep(pause)
                with lock:
                    del holders[key]  # before submit: a submitted slot is held for good anyway
                with database.sessions.begin() as session:
                    submit(
                        session,
                        annotator_id=annotator_id,
                        request_id=lease.request_id,
                        ratings=full_ratings(session, lease.request_id),
                        policy=policy,
                    )
        except BaseException as error:  # collected and asserted by the test
            errors.append(error)

    threads = [threading.Thread(target=annotate, args=(a,)) for a in annotator_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_two_annotators_with_k2_each_get_every_item_once_never_the_same_slot(database, make_requests, make_annotators):
    request_ids = make_requests(12)
    annotators = make_annotators("ann", "bob")
    holders: dict = {}
    violations: list = []
    seen = {a: [] for a in annotators}

    errors = work_through_queue(database, annotators, QueuePolicy(overlap=2), holders, violations, seen, 0.002)

    assert errors == [] and violations == []
    for annotator in annotators:
        assert sorted(seen[annotator]) == request_ids  # every item, each exactly once
    with database.sessions() as session:
        slots = session.execute(select(Assignment.request_id, Assignment.slot)).all()
    assert sorted(Counter(r for r, _ in slots).values()) == [2] * 12
    assert len(set(slots)) == 24  # two different slots per request


def test_four_annotators_with_k2_every_item_rated_exactly_twice(database, make_requests, make_annotators):
    request_ids = make_requests(20)
    annotators = make_annotators("a1", "a2", "a3", "a4")
    violations: list = []
    seen = {a: [] for a in annotators}

    errors = work_through_queue(database, annotators, QueuePolicy(overlap=2), {}, violations, seen)

    assert errors == [] and violations == []
    for annotator in annotators:
        assert len(seen[annotator]) == len(set(seen[annotator]))
    per_request = Counter(r for items in seen.values() for r in items)
    assert per_request == {r: 2 for r in request_ids}


def test_with_k1_no_item_is_rated_twice(database, make_requests, make_annotators):
    request_ids = make_requests(15)
    annotators = make_annotators("a1", "a2", "a3")
    seen = {a: [] for a in annotators}

    errors = work_through_queue(database, annotators, QueuePolicy(overlap=1), {}, [], seen)

    assert errors == []
    assert sorted(r for items in seen.values() for r in items) == request_ids
    with database.sessions() as session:
        per_output = session.execute(select(Rating.output_id, func.count()).group_by(Rating.output_id)).all()
    assert len(per_output) == 30 and {count for _, count in per_output} == {1}


def test_an_expired_lease_is_handed_out_again_and_the_late_submit_is_refused(database, make_requests, make_annotators):
    [request_id] = make_requests(1)
    ann, bob = make_annotators("ann", "bob")
    policy = QueuePolicy(overlap=1, lease=timedelta(minutes=15))
    start = utcnow()
    with database.sessions.begin() as session:
        assert next_item(session, annotator_id=ann, policy=policy, now=start).request_id == request_id
    with database.sessions.begin() as session:  # still leased: nothing for bob
        assert next_item(session, annotator_id=bob, policy=policy, now=start + timedelta(minutes=14)) is None
    with database.sessions.begin() as session:  # lapsed: bob gets it
        lease = next_item(session, annotator_id=bob, policy=policy, now=start + timedelta(minutes=16))
        assert (lease.request_id, lease.slot) == (request_id, 0)
    with database.sessions.begin() as session, pytest.raises(LeaseLostError):
        submit(
            session,
            annotator_id=ann,
            request_id=request_id,
            ratings=full_ratings(session, request_id),
            policy=policy,
            now=start + timedelta(minutes=17),
        )


def test_a_lapsed_lease_nobody_took_can_still_be_submitted(database, make_requests, make_annotators):
    [request_id] = make_requests(1)
    [ann] = make_annotators("ann")
    policy = QueuePolicy(overlap=1)
    start = utcnow()
    with database.sessions.begin() as session:
        next_item(session, annotator_id=ann, policy=policy, now=start)
    with database.sessions.begin() as session:
        submit(
            session,
            annotator_id=ann,
            request_id=request_id,
            ratings=full_ratings(session, request_id),
            policy=policy,
            now=start + timedelta(hours=2),
        )
        assert progress(session, annotator_id=ann, policy=QueuePolicy(overlap=1)).done_total == 1


def test_a_live_lease_is_resumed_and_released_on_log_out(database, make_requests, make_annotators):
    first, second = make_requests(2)
    ann, bob = make_annotators("ann", "bob")
    policy = QueuePolicy(overlap=1)
    with database.sessions.begin() as session:
        assert next_item(session, annotator_id=ann, policy=policy).request_id == first
    with database.sessions.begin() as session:
        again = next_item(session, annotator_id=ann, policy=policy)
        assert (again.request_id, again.resumed) == (first, True)
        assert next_item(session, annotator_id=bob, policy=policy).request_id == second
        assert release(session, annotator_id=ann) == 1
    with database.sessions.begin() as session:  # ann logged out: carol takes over the first item
        carol = add_annotator(session, "carol")
        assert next_item(session, annotator_id=carol, policy=policy).request_id == first


def test_skip_moves_on_and_the_item_goes_to_someone_else(database, make_requests, make_annotators):
    first, second = make_requests(2)
    ann, bob = make_annotators("ann", "bob")
    policy = QueuePolicy(overlap=1)
    with database.sessions.begin() as session:
        next_item(session, annotator_id=ann, policy=policy)
        skip(session, annotator_id=ann, request_id=first)
        assert next_item(session, annotator_id=ann, policy=policy).request_id == second
        assert next_item(session, annotator_id=bob, policy=policy).request_id == first
        with pytest.raises(NotAssignedError):
            skip(session, annotator_id=ann, request_id=first)  # already skipped


def test_back_and_edit_update_the_same_rows(database, make_requests, make_annotators):
    first, second = make_requests(2)
    [ann] = make_annotators("ann")
    policy = QueuePolicy(overlap=2)
    with database.sessions.begin() as session:
        for _ in range(2):
            lease = next_item(session, annotator_id=ann, policy=policy)
            submit(
                session,
                annotator_id=ann,
                request_id=lease.request_id,
                ratings=full_ratings(session, lease.request_id, score=2),
                policy=policy,
            )
        assert submitted_history(session, annotator_id=ann) == [first, second]
        assert next_item(session, annotator_id=ann, policy=policy) is None
    with database.sessions.begin() as session:  # go back to the first item and change it
        before = annotator_ratings(session, annotator_id=ann, request_id=first)
        assert {scores for scores in before.scores.values()} == {(2, 4)} and before.diversity == 3
        submit(session, annotator_id=ann, request_id=first, ratings=full_ratings(session, first, score=5), policy=policy)
    with database.sessions() as session:
        after = annotator_ratings(session, annotator_id=ann, request_id=first)
        assert {scores for scores in after.scores.values()} == {(5, 1)}
        assert session.scalar(select(func.count(Rating.id))) == 4
        mine = progress(session, annotator_id=ann, policy=QueuePolicy(overlap=2))
        assert (mine.done_today, mine.done_total, mine.left) == (2, 2, 0)


def test_progress_counts_what_is_left_for_this_annotator(database, make_requests, make_annotators):
    make_requests(3)
    ann, bob, carol = make_annotators("ann", "bob", "carol")
    policy = QueuePolicy(overlap=2)
    with database.sessions.begin() as session:
        for annotator in (ann, bob):
            lease = next_item(session, annotator_id=annotator, policy=policy)
            submit(
                session, annotator_id=annotator, request_id=lease.request_id, ratings=full_ratings(session, lease.request_id), policy=policy
            )
        assert progress(session, annotator_id=ann, policy=QueuePolicy(overlap=2)).left == 2
        assert progress(session, annotator_id=carol, policy=QueuePolicy(overlap=2)).left == 2  # the first one is full


def test_incomplete_or_unassigned_submissions_are_refused(database, make_requests, make_annotators):
    [request_id] = make_requests(1, n=2)
    [ann] = make_annotators("ann")
    with database.sessions.begin() as session:
        with pytest.raises(NotAssignedError):
            submit(session, annotator_id=ann, request_id=request_id, ratings=full_ratings(session, request_id))
        next_item(session, annotator_id=ann)
        item = load_item(session, request_id)
        first = item.outputs[0].output_id
        with pytest.raises(InvalidInputError, match="candidate 2"):
            submit(session, annotator_id=ann, request_id=request_id, ratings=ItemRatings({first: (3, 3)}, diversity=2))
        with pytest.raises(InvalidInputError, match="diversity"):
            submit(session, annotator_id=ann, request_id=request_id, ratings=ItemRatings({o.output_id: (3, 3) for o in item.outputs}))
        with pytest.raises(InvalidInputError, match="whole number"):
            submit(
                session,
                annotator_id=ann,
                request_id=request_id,
                ratings=ItemRatings({o.output_id: (9, 3) for o in item.outputs}, diversity=2),
            )


def test_flags_are_saved_with_the_item_read_back_for_editing_and_removed_by_an_edit(database, make_requests, make_annotators):
    [request_id] = make_requests(1)
    [ann] = make_annotators("ann")
    policy = QueuePolicy(overlap=1)
    with database.sessions.begin() as session:
        next_item(session, annotator_id=ann, policy=policy)
        item = load_item(session, request_id)
        flagged = frozenset({item.outputs[0].output_id})
        ratings = full_ratings(session, request_id)
        submit(
            session,
            annotator_id=ann,
            request_id=request_id,
            policy=policy,
            ratings=ItemRatings(ratings.scores, diversity=3, flagged=flagged),
        )
    with database.sessions.begin() as session:
        assert annotator_ratings(session, annotator_id=ann, request_id=request_id).flagged == flagged
        assert session.scalars(select(Flag.output_id).where(Flag.rater_id == ann)).all() == list(flagged)
        submit(
            session, annotator_id=ann, request_id=request_id, policy=policy, ratings=full_ratings(session, request_id)
        )  # the edit clears the flag
    with database.sessions() as session:
        assert annotator_ratings(session, annotator_id=ann, request_id=request_id).flagged == frozenset()
        assert session.scalar(select(func.count(Flag.id))) == 0
