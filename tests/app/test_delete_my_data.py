"""Delete my data through the service (playground/services/erasure.py) on fake models: the image
files go with the rows, other people's stay, and a request streaming while its owner deletes
everything stops cleanly with a clear message and stores nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from feedback_db.schema import Output, Request, User
from models.base import ImageParams, TextParams
from playground.core.errors import RequestErasedError
from playground.services.erasure import delete_my_data
from playground.services.generation import stream_image, stream_text
from playground.services.identity import viewer_for_token
from playground.services.ratings import rate_output


def test_my_rows_and_image_files_go_and_someone_elses_stay(context, database, settings):
    me, them = viewer_for_token(database, None), viewer_for_token(database, None)
    mine = list(stream_image(context, me, "a red circle", ImageParams(n=1, steps=2, seed=3)))[-1]
    theirs = list(stream_image(context, them, "a blue square", ImageParams(n=1, steps=2, seed=90)))[-1]
    text = list(stream_text(context, me, "hello", TextParams(n=1)))[-1]
    rate_output(database, me, text.recorded.output_ids[0], naturalness=4)

    erased = delete_my_data(context, me)

    assert (erased.requests, erased.ratings) == (2, 1)
    assert not mine.outputs[0].path.exists() and theirs.outputs[0].path.exists()
    with database.read_sessions() as session:
        assert session.scalar(select(func.count(Request.id))) == 1
        assert session.get(User, me.user_id) is None and session.get(User, them.user_id) is not None


def test_deleting_while_my_request_streams_stops_it_and_stores_nothing(context, database):
    me = viewer_for_token(database, None)
    with context.stops.held(me.browser_session) as cancel:  # as the web layer holds its Stop signal
        updates = stream_text(context, me, "tell me a long story about the sea", TextParams(n=2), cancel)
        next(updates)  # streaming, its request stored as running
        delete_my_data(context, me)
        assert cancel.is_set()  # the model is told to stop at its next token
        with pytest.raises(RequestErasedError, match="deleted while this answer was generated"):
            list(updates)
    with database.read_sessions() as session:
        assert session.scalar(select(func.count(Request.id))) == 0
        assert session.scalar(select(func.count(Output.id))) == 0
