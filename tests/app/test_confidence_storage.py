"""Token confidence through the app's own paths: a generation's confidence is stored with its
outputs (finished, interrupted, regenerated) and read back by the history and annotation views;
a backend that reports none stores NULL and every view shows None. Insights and the report show
confidence beside the ratings. Fakes here; the last test records a real generation."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import select

from feedback_db.assignments import load_item
from feedback_db.history import request_view
from feedback_db.schema import Output
from models.base import TextParams, TextProgress, TokenConfidence
from playground.services.confidence import decode, encode
from playground.services.generation import stream_text
from playground.services.insights import read_insights
from playground.services.regeneration import stream_text_card
from playground.services.report import build_report
from playground.web.ui.insights_confidence import confidence_updates
from tests.db.test_token_confidence import seed_confidence_and_ratings
from tests.fakes import FakeTextGenerator


def word_confidence(text: str) -> tuple[TokenConfidence, ...]:
    """A fake's confidence for `text`: one token per word, less sure of longer words."""
    return tuple(TokenConfidence(word, round(1 / (1 + len(word)), 3), (("the", 0.05), ("a", 0.01))) for word in text.split())


class ConfidentFakeTextGenerator(FakeTextGenerator):
    """The fake text generator, reporting a confidence for each word as it streams."""

    def stream(self, prompt, params, cancel=None, continuing=None):
        for progress in super().stream(prompt, params, cancel, continuing):
            outputs = [dataclasses.replace(o, confidence=word_confidence(o.text)) for o in progress.outputs]
            yield TextProgress(progress.texts, progress.done, outputs, [word_confidence(t) for t in progress.texts])


@pytest.fixture
def fake_text() -> FakeTextGenerator:
    return ConfidentFakeTextGenerator()


def stored(database, request_id: int) -> list[Output]:
    with database.read_sessions() as session:
        rows = list(session.scalars(select(Output).where(Output.request_id == request_id).order_by(Output.id)))
        session.expunge_all()
        return rows


def test_a_generation_stores_its_confidence_and_the_views_read_it_back(context, viewer, database):
    # 1. Generate two candidates through the app's path.
    final = list(stream_text(context, viewer, "capital of France", TextParams(n=2, seed=3)))[-1]
    outputs = stored(database, final.recorded.request_id)
    # 2. Stored: the tokens as encoded, with their mean and minimum.
    for output, reported in zip(outputs, final.outputs, strict=True):
        assert output.token_confidence == encode(reported.confidence)
        probabilities = [t.probability for t in reported.confidence]
        assert output.confidence_mean == pytest.approx(sum(probabilities) / len(probabilities))
        assert output.confidence_min == min(probabilities) == round(1 / 8, 3)  # "answer0" and "capital"
    # 3. Read back by My history and the annotation item, decoded to what the model reported.
    with database.read_sessions() as session:
        view = request_view(session, request_id=final.recorded.request_id, session_id=viewer.browser_session, rater_id=viewer.user_id)
        item = load_item(session, final.recorded.request_id)
    assert [decode(c.token_confidence) for c in view.candidates] == [o.confidence for o in final.outputs]
    assert [decode(o.token_confidence) for o in item.outputs] == [o.confidence for o in final.outputs]


def test_an_interrupted_generation_keeps_the_confidence_of_its_text_so_far(context, viewer, database, fake_text):
    fake_text.fail_after_words = 2
    context.settings.stream_interval_ms = 0  # every partial update reaches the handler
    with pytest.raises(RuntimeError, match="model crashed"):
        list(stream_text(context, viewer, "tell me more", TextParams(n=1, seed=1)))
    with database.read_sessions() as session:
        output = session.scalars(select(Output)).one()
        assert (output.text, output.finish_reason) == ("answer0 to", "cancelled")
        assert decode(output.token_confidence) == word_confidence("answer0 to")


def test_a_regenerated_card_stores_the_confidence_of_its_new_answer(context, viewer, database):
    first = list(stream_text(context, viewer, "hello there", TextParams(n=2, seed=1)))[-1].recorded
    new = list(stream_text_card(context, viewer, first.output_ids[1]))[-1]
    replacement = stored(database, first.request_id)[-1]
    assert replacement.id == new.recorded.output_ids[0] and replacement.replaces_output_id == first.output_ids[1]
    assert decode(replacement.token_confidence) == new.outputs[0].confidence == word_confidence(replacement.text)


def test_a_backend_without_confidence_stores_none_and_the_views_show_none(settings, database, viewer, fake_image):
    from playground.serving.context import build_context

    plain = FakeTextGenerator()
    context = build_context(settings, database, text_factory=lambda: plain, image_factory=lambda: fake_image)
    final = list(stream_text(context, viewer, "hi", TextParams(n=1)))[-1]
    (output,) = stored(database, final.recorded.request_id)
    assert (output.token_confidence, output.confidence_mean, output.confidence_min) == (None, None, None)
    with database.read_sessions() as session:
        view = request_view(session, request_id=final.recorded.request_id, session_id=viewer.browser_session, rater_id=viewer.user_id)
    assert decode(view.candidates[0].token_confidence) is None


def test_insights_show_rating_by_confidence_decile_and_wait_for_enough_outputs(database, settings):
    # 1. One version with enough rated outputs with confidence (surer answers rated more reliable),
    #    one with too few.
    with database.sessions.begin() as session:
        seed_confidence_and_ratings(session, version="text-v1", outputs=60)
        seed_confidence_and_ratings(session, version="text-v2", outputs=12, older=5)
    figures = read_insights(database, "text").confidence
    message, deciles, correlation = confidence_updates(figures)
    # 2. The measured version's table: least sure first, less reliable, more often wrong.
    table = deciles.value
    assert table["headers"][:4] == ["Version", "Decile", "Mean confidence", "Outputs"]
    rows = table["data"]
    assert [row[0] for row in rows] == ["text-v1"] * 10
    reliability = table["headers"].index("Reliability")
    assert rows[0][reliability] < rows[-1][reliability]
    assert (rows[0][-1], rows[-1][-1]) == ("100%", "0%")
    assert [row[:2] for row in correlation.value["data"]] == [["text-v1", "reliability"], ["text-v1", "naturalness"]]
    assert float(correlation.value["data"][0][3]) > 0.8 and correlation.value["data"][0][4] == "< 0.001"
    assert correlation.value["data"][1][3:] == ["n/a", "n/a"]  # naturalness: every output got 4
    # 3. The other one says why it has no table yet.
    assert message == "- `text-v2`: not enough rated outputs with confidence yet (12 of 50 needed; 17 rated outputs in all)"
    # 4. The report has the same section.
    report = build_report(database, settings, modalities=("text",), since=None, rounds=0).markdown
    assert "### Token confidence and ratings" in report and "| text-v1 | 1 |" in report


def test_insights_without_confidence_data_say_so_and_show_no_table(database):
    with database.sessions.begin() as session:
        seed_confidence_and_ratings(session, version="base", outputs=0, older=3)  # older rows only: NULL
    message, deciles, correlation = confidence_updates(read_insights(database, "text").confidence)
    assert message == "- `base`: not enough rated outputs with confidence yet (0 of 50 needed; 3 rated outputs in all)"
    assert deciles.visible is False and correlation.visible is False
    assert confidence_updates(read_insights(database, "image").confidence)[0] == "Token confidence is reported for text only."


@pytest.mark.real_model
def test_a_real_generation_stores_what_the_model_reported(settings, database, viewer, real_text_generator, fake_image):
    """The embedded model through the app's path: whatever confidence it reports (none from a
    backend without it) is what the database holds and the history view decodes."""
    from playground.serving.context import build_context

    context = build_context(settings, database, text_factory=lambda: real_text_generator, image_factory=lambda: fake_image)
    final = list(stream_text(context, viewer, "Name a colour.", TextParams(n=1, max_new_tokens=6, seed=1)))[-1]
    (output,) = stored(database, final.recorded.request_id)
    reported = final.outputs[0].confidence
    assert output.token_confidence == encode(reported)
    with database.read_sessions() as session:
        view = request_view(session, request_id=final.recorded.request_id, session_id=viewer.browser_session, rater_id=viewer.user_id)
    tokens = decode(view.candidates[0].token_confidence)
    assert (tokens is None) == (reported is None)
    if tokens is not None:
        assert [t.text for t in tokens] == [t.text for t in reported]
        assert all(abs(a.probability - b.probability) <= 5e-4 for a, b in zip(tokens, reported, strict=True))
