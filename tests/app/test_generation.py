"""Generation handlers on fake models: what gets recorded, and that failures record nothing."""

import time
from unittest.mock import patch

import pytest
from sqlalchemy import select

from feedback_db.frames import outputs_frame
from feedback_db.schema import Output, Request
from feedback_db.versions import create_version, promote_version
from models.base import ImageParams, InvalidParameterError, TextParams, TextProgress
from playground.services.generation import paced, stream_image, stream_text


def count_rows(database):
    with database.read_sessions() as session:
        return session.query(Request).count(), session.query(Output).count()


def test_text_stream_grows_then_records_request_and_outputs(context, viewer, database):
    context.settings.stream_interval_ms = 0  # one update per word of the fake
    updates = list(stream_text(context, viewer, "  capital of France  ", TextParams(n=2, seed=5)))

    assert [u.texts[0] for u in updates[:-1]] == [
        "answer0",
        "answer0 to",
        "answer0 to capital",
        "answer0 to capital of",
        "answer0 to capital of France",
    ]
    assert all(u.recorded is None for u in updates[:-1])
    final = updates[-1]
    assert final.texts == ["answer0 to capital of France", "answer1 to capital of France"]
    with database.read_sessions() as session:
        request = session.get(Request, final.recorded.request_id)
        assert request.prompt == "capital of France"
        assert request.session_id == viewer.browser_session
        assert request.parameters["model"] == "embedded" and request.parameters["n"] == 2
        assert [o.seed for o in request.outputs] == [5, 6]
        assert [o.id for o in request.outputs] == final.recorded.output_ids


@pytest.mark.parametrize(
    ("prompt", "params"),
    [("   ", TextParams()), ("ok", TextParams(temperature=5.0)), ("ok", TextParams(n=0)), ("x" * 9000, TextParams())],
)
def test_bad_text_input_raises_and_writes_nothing(context, viewer, database, prompt, params):
    with pytest.raises(InvalidParameterError):
        list(stream_text(context, viewer, prompt, params))
    assert count_rows(database) == (0, 0)


def test_a_generation_failing_half_way_is_stored_interrupted_with_its_text_so_far(context, viewer, database, fake_text):
    fake_text.fail_after_words = 2
    with pytest.raises(RuntimeError, match="model crashed"):
        list(stream_text(context, viewer, "tell me more", TextParams(n=2, seed=40)))
    with database.read_sessions() as session:
        request = session.scalars(select(Request)).one()
        assert (request.prompt, request.status) == ("tell me more", "interrupted")
        assert [(o.index, o.seed, o.finish_reason) for o in request.outputs] == [(0, 40, "cancelled"), (1, 41, "cancelled")]
        assert all(o.text for o in request.outputs)


def test_the_promoted_version_is_served_on_the_next_request(context, viewer, database, fake_text, tmp_path):
    first = list(stream_text(context, viewer, "hi", TextParams()))[-1]
    assert first.recorded.model_version == "base"
    with database.sessions.begin() as session:
        version = create_version(session, name="text-v1", modality="text", base_model="embedded", adapter_path=str(tmp_path / "adapter"))
        promote_version(session, version_id=version.id)

    second = list(stream_text(context, viewer, "hi", TextParams()))[-1]

    assert second.recorded.model_version == "text-v1"
    assert fake_text.versions == [("text-v1", tmp_path / "adapter")]


def test_image_stream_reports_steps_and_records_paths_in_the_data_dir(context, viewer, database, settings):
    updates = list(stream_image(context, viewer, "a red circle", ImageParams(n=2, steps=3, seed=1)))

    assert [u.step for u in updates[:-1]] == [1, 2, 3]
    final = updates[-1]
    with database.read_sessions() as session:
        frame = outputs_frame(session)
    assert list(frame["image_path"].str.startswith("images/")) == [True, True]
    assert all((settings.data_dir / p).is_file() for p in frame["image_path"])
    assert list(frame["seed"]) == [1, 2]
    assert final.recorded.output_ids == list(frame["output_id"])


def test_bad_image_size_is_refused_before_anything_runs(context, viewer, database):
    with pytest.raises(InvalidParameterError, match="divisible by 8"):
        list(stream_image(context, viewer, "a red circle", ImageParams(width=100)))
    assert count_rows(database) == (0, 0)


def test_partial_updates_are_paced_and_lose_no_text():
    ticks = iter([0.0, 0.01, 0.02, 0.06, 0.07, 0.2, 0.21])
    stream = [TextProgress(texts=["a" * k]) for k in range(1, 7)] + [TextProgress(texts=["aaaaaaa"], done=True)]
    with patch("playground.services.generation.time.monotonic", lambda: next(ticks)):
        sent = list(paced(stream, 0.05))

    # The first at once, then one per 50 ms, and the final whatever the time: its text is whole.
    assert [p.texts[0] for p in sent] == ["a", "aaaa", "aaaaaa", "aaaaaaa"] and sent[-1].done
    assert list(paced(stream, 0)) == stream  # 0: every update


def test_a_stream_closed_mid_way_is_stored_interrupted_from_a_thread(context, viewer, database):
    # Gradio closes the stream when the page goes away (a reload): the request, stored when it
    # started, is closed "interrupted" with the text so far, off the closing thread.
    updates = stream_text(context, viewer, "tell me about octopuses", TextParams(n=2, seed=5))
    next(updates)  # the first words (paced: the fake's next ones come together with its last)
    with database.read_sessions() as session:
        assert session.scalars(select(Request.status)).all() == ["running"]
    updates.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with database.read_sessions() as session:
            request = session.scalars(select(Request)).one()
            if request.status != "running":
                break
        time.sleep(0.05)
    with database.read_sessions() as session:
        request = session.scalars(select(Request)).one()
        assert request.status == "interrupted"
        assert [(o.seed, o.text, o.finish_reason) for o in request.outputs] == [
            (5, "answer0", "cancelled"),
            (6, "answer1", "cancelled"),
        ]


def test_a_restore_does_not_wait_for_a_request_a_stopped_server_left_running(context, viewer, database, monkeypatch):
    from feedback_db.queries import record_request
    from playground.web.ui import restore

    # 1. A request stored as running, with no generation of this browser's on this server.
    with database.sessions.begin() as session:
        stale = record_request(
            session,
            modality="text",
            prompt="hi",
            parameters={},
            model_version="base",
            outputs=[],
            running=True,
            session_id=viewer.browser_session,
        ).id
    # 2. The restore gives up after the short grace, not the whole wait, and says it did not finish.
    monkeypatch.setattr(restore, "RUNNING_WAIT_S", 600.0)
    view = restore.settled_view(context, viewer, stale)
    assert view.status == "running"
    assert "did not finish" in restore.restored_status(view)
