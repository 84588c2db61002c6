"""Stopped, cut and very short outputs never reach annotators (cut ones unless an admin asks for
them): the queue filter, on a real database."""

from __future__ import annotations

import pytest

from feedback_db.assignments import QueuePolicy, next_item, progress
from feedback_db.errors import InvalidInputError
from feedback_db.queries import NewOutput, record_request
from playground.core.settings import Settings
from playground.services.annotation import policy_for
from tests.annotate.conftest import add_annotator


def add_request(session, prompt: str, outputs: list[tuple[int | None, str]], image: bool = False) -> int:
    """A request whose outputs have these (tokens, finish reason)."""
    rows = [
        NewOutput(
            index=i,
            seed=i,
            latency_ms=10.0,
            tokens=tokens,
            finish_reason=reason,
            **({"image_path": f"images/{prompt}-{i}.png", "image_sha256": f"{i:064d}"} if image else {"text": "word " * (tokens or 1)}),
        )
        for i, (tokens, reason) in enumerate(outputs)
    ]
    return record_request(
        session,
        modality="image" if image else "text",
        prompt=prompt,
        parameters={},
        model_version="base",
        outputs=rows,
    ).id


def drain(session, annotator_id: int, policy: QueuePolicy) -> list[int]:
    """Every request the queue hands this annotator (each lease skipped to reach the next)."""
    from feedback_db.assignments import skip

    served = []
    while (lease := next_item(session, annotator_id=annotator_id, policy=policy)) is not None:
        served.append(lease.request_id)
        skip(session, annotator_id=annotator_id, request_id=lease.request_id)
    return served


def test_stopped_cut_and_short_requests_never_enter_the_queue(database):
    with database.sessions.begin() as session:
        annotator = add_annotator(session, "ann")
        good = add_request(session, "good", [(30, "stop"), (12, "stop")])
        add_request(session, "cut", [(30, "length"), (12, "stop")])
        add_request(session, "stopped", [(30, "stop"), (9, "cancelled")])
        add_request(session, "two tokens", [(30, "stop"), (2, "stop")])
        at_limit = add_request(session, "at the minimum", [(5, "stop"), (5, "stop")])
        image = add_request(session, "image", [(None, "stop")], image=True)
        add_request(session, "stopped image", [(None, "cancelled")], image=True)
        policy = QueuePolicy(overlap=1, min_output_tokens=5)
        assert progress(session, annotator_id=annotator, policy=policy).left == 3
        assert sorted(drain(session, annotator, policy)) == sorted([good, at_limit, image])


def test_cut_answers_enter_the_queue_when_an_admin_asks_for_them(database):
    with database.sessions.begin() as session:
        annotator = add_annotator(session, "ann")
        cut = add_request(session, "cut", [(30, "length"), (12, "stop")])
        add_request(session, "stopped", [(30, "length"), (9, "cancelled")])
        policy = QueuePolicy(overlap=1, min_output_tokens=5, include_cut=True)
        assert progress(session, annotator_id=annotator, policy=policy).left == 1
        assert drain(session, annotator, policy) == [cut]
    assert policy_for(Settings(annotation_include_cut=True)).include_cut
    assert not policy_for(Settings()).include_cut


def test_the_minimum_length_is_a_setting_and_zero_still_drops_stopped_outputs(database):
    with database.sessions.begin() as session:
        annotator = add_annotator(session, "ann")
        short = add_request(session, "two tokens", [(2, "stop")])
        add_request(session, "stopped", [(40, "cancelled")])
        assert drain(session, annotator, QueuePolicy(overlap=1, min_output_tokens=0)) == [short]
    assert policy_for(Settings(annotation_min_tokens=7)).min_output_tokens == 7
    assert Settings().annotation_min_tokens > 2


def test_a_negative_minimum_is_refused():
    with pytest.raises(InvalidInputError, match="minimum output length"):
        QueuePolicy(min_output_tokens=-1)
