"""The group-committing rating writer (feedback_db/rating_writer.py), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import threading
from contextlib import contextmanager

import pytest
from sqlalchemy import select

from feedback_db.errors import InvalidInputError, NotOwnerError, UnknownIdError, UnknownRaterError
from feedback_db.queries import NewOutput, record_request
from feedback_db.rating_writer import RatingWrite, RatingWriter, write_ratings
from feedback_db.schema import Rating
from playground.core.errors import NotAllowedError, StaleRequestError
from playground.services.identity import viewer_for_token
from playground.services.ratings import rate_output, rate_output_grouped

TIMEOUT_S = 30


def own_outputs(database, viewer, n=3) -> list[int]:
    """A request of `viewer`'s browser session with `n` candidates; their output ids."""
    with database.sessions.begin() as session:
        outputs = [NewOutput(index=i, seed=i, latency_ms=1.0, text=f"hi {i}") for i in range(n)]
        request = record_request(
            session,
            modality="text",
            prompt="Say hi",
            parameters={},
            model_version="base",
            outputs=outputs,
            user_id=viewer.user_id,
            session_id=viewer.browser_session,
        )
        return [o.id for o in request.outputs]


@pytest.fixture
def writer(database):
    writer = RatingWriter(database.sessions.begin)
    yield writer
    writer.close()


def stored(database, output_id, rater_id) -> Rating | None:
    with database.read_sessions() as session:
        return session.scalar(select(Rating).where(Rating.output_id == output_id, Rating.rater_id == rater_id))


def test_ratings_that_arrive_while_a_commit_runs_share_the_next_transaction(database):
    # 1. The first transaction is held open until every other rating has been submitted.
    viewer = viewer_for_token(database, None)
    output_ids = own_outputs(database, viewer, n=40)
    entered, release = threading.Event(), threading.Event()

    @contextmanager
    def held_first(calls=[]):  # noqa: B006 - counts the transactions of this test
        calls.append(1)
        with database.sessions.begin() as session:
            if len(calls) == 1:
                entered.set()
                assert release.wait(TIMEOUT_S)
            yield session

    writer = RatingWriter(held_first)
    try:
        first = writer.submit(RatingWrite(viewer.browser_session, output_ids[0], {"naturalness": 1}))
        assert entered.wait(TIMEOUT_S)
        rest = [writer.submit(RatingWrite(viewer.browser_session, i, {"naturalness": 2, "comment": f"c{i}"})) for i in output_ids[1:]]
        # 2. Nobody is answered before their transaction commits.
        assert not first.done() and not any(f.done() for f in rest)
        release.set()
        assert first.result(TIMEOUT_S).batch_size == 1
        assert {f.result(TIMEOUT_S).batch_size for f in rest} == {39}
    finally:
        writer.close()
    # 3. Two transactions for 40 ratings, every one of them stored.
    assert (writer.stats.batches, writer.stats.ratings, writer.stats.largest_batch) == (2, 40, 39)
    assert all(stored(database, i, viewer.user_id).comment == f"c{i}" for i in output_ids[1:])


def test_a_refused_rating_fails_alone_and_the_rest_of_its_batch_is_written(database, writer):
    me, other = viewer_for_token(database, None), viewer_for_token(database, None)
    mine, theirs = own_outputs(database, me), own_outputs(database, other)
    writes = [
        RatingWrite(me.browser_session, mine[0], {"naturalness": 4}),
        RatingWrite(me.browser_session, theirs[0], {"naturalness": 4}),  # someone else's
        RatingWrite(me.browser_session, 10**9, {"naturalness": 4}),  # no such output
        RatingWrite("f" * 64, mine[1], {"naturalness": 4}),  # a session that never generated
        RatingWrite(me.browser_session, mine[2], {"naturalness": 9}),  # out of range
        RatingWrite(me.browser_session, mine[1], {"thumbs": 1, "reason": None}),
    ]
    futures = [writer.submit(w) for w in writes]
    outcomes = [f.exception(TIMEOUT_S) for f in futures]
    assert [type(o) for o in outcomes] == [type(None), NotOwnerError, UnknownIdError, UnknownRaterError, InvalidInputError, type(None)]
    assert str(outcomes[2]) == f"output {10**9} does not exist"
    assert stored(database, mine[0], me.user_id).naturalness == 4
    assert stored(database, mine[1], me.user_id).thumbs == 1
    assert stored(database, mine[2], me.user_id) is None
    assert stored(database, theirs[0], me.user_id) is None


def test_writes_of_one_rating_in_one_batch_keep_their_order_and_earlier_fields(database):
    # A batch sends its ratings as one statement per set of columns: a later write of a field
    # must still win over an earlier one, and a field no write names keeps its stored value.
    me = viewer_for_token(database, None)
    first, second = own_outputs(database, me, n=2)
    with database.sessions.begin() as session:
        write_ratings(session, [RatingWrite(me.browser_session, first, {"reliability": 2, "comment": "kept"})])
    writes = [
        RatingWrite(me.browser_session, first, {"naturalness": 3}),
        RatingWrite(me.browser_session, first, {"naturalness": 4, "thumbs": -1}),
        RatingWrite(me.browser_session, second, {"naturalness": 1}),
        RatingWrite(me.browser_session, first, {"naturalness": 9}),  # refused: out of range
        RatingWrite(me.browser_session, first, {"naturalness": 5}),
    ]
    with database.sessions.begin() as session:
        outcomes = write_ratings(session, writes)
    assert [isinstance(o, InvalidInputError) for o in outcomes] == [False, False, False, True, False]
    rating = stored(database, first, me.user_id)
    assert (rating.naturalness, rating.thumbs, rating.reliability, rating.comment) == (5, -1, 2, "kept")
    assert rating.updated_at >= rating.created_at
    assert stored(database, second, me.user_id).naturalness == 1


def test_the_grouped_path_writes_the_same_rows_and_refuses_with_the_same_errors_as_the_service(database, writer):
    # 1. The same ratings, once through rate_output and once through the writer.
    one, two = viewer_for_token(database, None), viewer_for_token(database, None)
    (a,), (b,) = own_outputs(database, one, n=1), own_outputs(database, two, n=1)
    steps = [{"naturalness": 3, "comment": "  ok  "}, {"thumbs": -1}, {"reliability": 5, "thumbs": 1}, {"comment": None}]
    for fields in steps:
        said = rate_output(database, one, a, **dict(fields))
        assert asyncio.run(rate_output_grouped(writer, two.browser_session, b, **dict(fields))) == said
    columns = ("naturalness", "reliability", "thumbs", "comment", "reason", "source")
    row_one, row_two = stored(database, a, one.user_id), stored(database, b, two.user_id)
    assert [getattr(row_one, c) for c in columns] == [getattr(row_two, c) for c in columns]
    # 2. Refusals: the service's errors and messages.
    with pytest.raises(NotAllowedError) as grouped:
        asyncio.run(rate_output_grouped(writer, two.browser_session, a, naturalness=1))
    with pytest.raises(NotAllowedError) as direct:
        rate_output(database, two, a, naturalness=1)
    assert str(grouped.value) == str(direct.value)
    with pytest.raises(StaleRequestError, match="generate first, then rate"):
        asyncio.run(rate_output_grouped(writer, "e" * 64, a, naturalness=1))


def test_many_concurrent_callers_are_all_committed_in_fewer_transactions(database, writer):
    viewers = [viewer_for_token(database, None) for _ in range(10)]
    outputs = {v.browser_session: own_outputs(database, v, n=4) for v in viewers}

    async def rate_all() -> None:
        calls = [
            rate_output_grouped(writer, v.browser_session, output_id, naturalness=round_ % 5 + 1, comment=f"{output_id}-{round_}")
            for round_ in range(5)
            for v in viewers
            for output_id in outputs[v.browser_session]
        ]
        await asyncio.gather(*calls)

    asyncio.run(rate_all())
    assert writer.stats.ratings == 200
    assert writer.stats.batches < 200
    for v in viewers:
        for output_id in outputs[v.browser_session]:
            assert stored(database, output_id, v.user_id).comment in {f"{output_id}-{r}" for r in range(5)}
