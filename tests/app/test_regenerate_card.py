"""A card's Regenerate below the browser (playground/services/regeneration.py), on fake models: one
new candidate in the same request with a fresh seed; bad input is refused and changes nothing (the
browser run is tests/e2e/test_regenerate_card_browser.py)."""

import pytest
from sqlalchemy import func, select

from feedback_db.errors import InvalidInputError, OutputReplacedError, UnknownIdError
from feedback_db.schema import Output
from models.base import ImageParams, TextParams
from playground.services.generation import stream_image, stream_text
from playground.services.identity import viewer_for_token
from playground.services.regeneration import fresh_seed, stream_image_card, stream_text_card
from playground.serving.clients import StopSignals


def outputs_of(database, request_id: int) -> list[Output]:
    with database.read_sessions() as session:
        return list(session.scalars(select(Output).where(Output.request_id == request_id).order_by(Output.id)))


def test_a_text_card_gets_one_new_candidate_in_the_same_request(context, database, viewer):
    recorded = list(stream_text(context, viewer, "hello there", TextParams(n=3, max_new_tokens=30, seed=11)))[-1].recorded
    updates = list(stream_text_card(context, viewer, recorded.output_ids[2]))
    new = updates[-1].recorded
    assert len(updates) > 1 and all(len(u.texts) == 1 for u in updates)  # streamed, one text
    assert new.request_id == recorded.request_id and new.model_version == recorded.model_version
    old, _, third, replacement = outputs_of(database, recorded.request_id)
    assert replacement.id == new.output_ids[0] and replacement.replaces_output_id == third.id
    assert replacement.seed not in {11, 12, 13} and old.text == "answer0 to hello there"


def test_an_image_card_gets_one_new_image(context, database, viewer):
    recorded = list(stream_image(context, viewer, "a red circle", ImageParams(n=2, steps=3, seed=4)))[-1].recorded
    updates = list(stream_image_card(context, viewer, recorded.output_ids[0]))
    assert [u.step for u in updates[:-1]] == [1, 2, 3]
    assert len(outputs_of(database, recorded.request_id)) == 3 and len(updates[-1].outputs) == 1


def test_bad_input_is_refused_and_changes_nothing(context, database, viewer):
    recorded = list(stream_text(context, viewer, "mine only", TextParams(n=2)))[-1].recorded
    image = list(stream_image(context, viewer, "a square", ImageParams(n=1, steps=2)))[-1].recorded
    list(stream_text_card(context, viewer, recorded.output_ids[0]))
    stranger = viewer_for_token(database, None)
    cases = [
        (stranger, recorded.output_ids[1], UnknownIdError),  # someone else's
        (viewer, 10**9, UnknownIdError),  # unknown
        (viewer, recorded.output_ids[0], OutputReplacedError),  # already replaced
        (viewer, image.output_ids[0], InvalidInputError),  # an image through the text tab
    ]
    with database.read_sessions() as session:
        before = session.scalar(select(func.count(Output.id)))
    for who, output_id, error in cases:
        with pytest.raises(error):
            list(stream_text_card(context, who, output_id))
    with database.read_sessions() as session:
        assert session.scalar(select(func.count(Output.id))) == before


def test_a_fresh_seed_is_none_of_the_taken_ones_and_a_running_generation_is_seen():
    assert fresh_seed(set(range(10))) not in range(10)
    stops = StopSignals()
    assert not stops.running("me")
    with stops.held("me"):
        assert stops.running("me") and not stops.running("you")
    assert not stops.running("me")
