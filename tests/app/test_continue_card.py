"""Continue a card's answer cut at the length limit, below the browser
(playground/services/continuation.py), on fake models: the whole answer replaces the card's
output in the same request, with the output's own seed; the old output stays with its rating.
What cannot be continued is refused and changes nothing (the browser run is
tests/e2e/test_continue_card_browser.py)."""

import pytest
from sqlalchemy import func, select

from feedback_db.errors import OutputReplacedError, UnknownIdError
from feedback_db.schema import Output, Rating
from models.base import ImageParams, TextParams
from playground.core.errors import NotContinuableError
from playground.services.confidence import decode
from playground.services.continuation import stream_text_continuation
from playground.services.generation import stream_image, stream_text
from playground.services.identity import viewer_for_token
from playground.services.ratings import rate_output
from playground.services.regeneration import stream_text_card

CUT = TextParams(n=2, max_new_tokens=3, seed=11)  # the fake answers "answer<i> to <prompt>": 3 words of 6


def outputs_of(database, request_id: int) -> list[Output]:
    with database.read_sessions() as session:
        return list(session.scalars(select(Output).where(Output.request_id == request_id).order_by(Output.id)))


def test_a_cut_answer_goes_on_in_its_card_with_its_seed_and_the_old_one_stays_rated(context, database, viewer):
    recorded = list(stream_text(context, viewer, "tell me more", CUT))[-1].recorded
    rate_output(database, viewer, recorded.output_ids[1], naturalness=2)
    updates = list(stream_text_continuation(context, viewer, recorded.output_ids[1]))
    # 1. Streamed as the whole answer, the old text first.
    assert len(updates) > 1 and all(u.texts[0].startswith("answer1 to tell") for u in updates)
    assert updates[-1].texts == ["answer1 to tell more0 about tell"]
    # 2. Recorded in the card's place, same request and version, the output's own seed.
    new = updates[-1].recorded
    assert (new.request_id, new.model_version) == (recorded.request_id, recorded.model_version)
    first, old, replacement = outputs_of(database, recorded.request_id)
    assert (replacement.id, replacement.replaces_output_id) == (new.output_ids[0], old.id)
    assert (replacement.seed, replacement.text, replacement.tokens) == (12, "answer1 to tell more0 about tell", 6)
    assert replacement.finish_reason == "length" and first.text == "answer0 to tell"  # cut again: continuable again
    # 3. The old answer keeps its rating; the new one has none.
    with database.read_sessions() as session:
        assert session.scalar(select(Rating.naturalness).where(Rating.output_id == old.id)) == 2
        assert session.scalar(select(Rating.id).where(Rating.output_id == replacement.id)) is None
    again = list(stream_text_continuation(context, viewer, replacement.id))[-1]
    assert again.texts == ["answer1 to tell more0 about tell more0 about tell"]


def test_what_cannot_be_continued_is_refused_and_changes_nothing(context, database, viewer):
    cut = list(stream_text(context, viewer, "tell me more", CUT))[-1].recorded
    finished = list(stream_text(context, viewer, "hi", TextParams(n=1)))[-1].recorded
    image = list(stream_image(context, viewer, "a square", ImageParams(n=1, steps=2)))[-1].recorded
    list(stream_text_card(context, viewer, cut.output_ids[0]))  # card 1 regenerated: replaced
    stranger = viewer_for_token(database, None)
    cases = [
        (viewer, finished.output_ids[0], NotContinuableError, "cut at the length limit"),
        (viewer, image.output_ids[0], NotContinuableError, "text"),
        (stranger, cut.output_ids[1], UnknownIdError, "not one of this browser's"),
        (viewer, 10**9, UnknownIdError, "not one of this browser's"),
        (viewer, cut.output_ids[0], OutputReplacedError, "continue the card's new answer"),
    ]
    with database.read_sessions() as session:
        before = session.scalar(select(func.count(Output.id)))
    for who, output_id, error, words in cases:
        with pytest.raises(error, match=words):
            list(stream_text_continuation(context, who, output_id))
    with database.read_sessions() as session:
        assert session.scalar(select(func.count(Output.id))) == before


def test_a_continued_answer_keeps_the_confidence_of_its_earlier_words(context, database, viewer, fake_text):
    # The stored confidence of the cut answer goes into the continuation (PartialAnswer), so the
    # whole continued answer's tokens are shaded, not only its new words.
    fake_text.confidence = True
    recorded = list(stream_text(context, viewer, "tell me more", CUT))[-1].recorded
    final = list(stream_text_continuation(context, viewer, recorded.output_ids[1]))[-1]
    _, _, replacement = outputs_of(database, recorded.request_id)
    tokens = decode(replacement.token_confidence)
    assert tokens is not None and "".join(t.text for t in tokens) == replacement.text == "answer1 to tell more0 about tell"
    assert len(tokens) == replacement.tokens == 6 and tokens == final.outputs[0].confidence
