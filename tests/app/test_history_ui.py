"""The history panel, the restore after a reload and Regenerate, below the browser: what a stored
request turns into on screen, on fake models (the browser run is tests/e2e/test_history_browser.py)."""

import dataclasses
from datetime import UTC, datetime

import gradio as gr
import pytest

from feedback_db.errors import UnknownIdError
from feedback_db.history import HistoryEntry
from models.base import ImageParams, TextParams
from playground.core.moderation import Moderator
from playground.services.generation import stream_image, stream_text
from playground.services.identity import viewer_for_token
from playground.services.ratings import flag_output, give_reason, rate_output, rate_set
from playground.web.ui.candidates import build_card, build_set_panel
from playground.web.ui.content import load_guidelines
from playground.web.ui.history import PROMPT_CHARS, entry_label
from playground.web.ui.regenerate import image_inputs, text_inputs
from playground.web.ui.restore import load_view, show_request


def prop(update, name: str):
    """A property of an update: Gradio returns a component (or a plain value) for each."""
    return update[name] if isinstance(update, dict) else getattr(update, name)


@pytest.fixture
def widgets(settings):
    guidelines = load_guidelines(settings.assets_dir)
    with gr.Blocks():
        cards = {kind: [build_card(kind, i, guidelines) for i in range(4)] for kind in ("text", "image", "history")}
        panel = build_set_panel("history", guidelines)
    return cards, panel


def test_a_text_request_comes_back_with_my_ratings_and_withheld_text_stays_withheld(context, database, viewer, widgets):
    context = dataclasses.replace(context, moderator=Moderator(blocked=("answer1",)))  # the fake's second candidate
    params = TextParams(n=2, max_new_tokens=30, temperature=0.4, stop=("END",), seed=11)
    recorded = list(stream_text(context, viewer, "hello there", params))[-1].recorded
    first, second = recorded.output_ids
    rate_output(database, viewer, first, naturalness=3, thumbs=-1)
    give_reason(database, viewer, first, ["incoherent"], "loops")
    flag_output(database, viewer, second, True)
    rate_set(database, viewer, recorded.request_id, diversity=4, best_output_id=first)
    cards, panel = widgets

    view = load_view(context, viewer, recorded.request_id)
    updates = show_request(context, cards["history"], panel, view)

    one, two = cards["history"][:2]
    assert prop(updates[one.rendered], "value") == "answer0 to hello there"
    assert prop(updates[two.rendered], "value").startswith("[withheld by the content filter")
    assert prop(updates[one.naturalness], "value") == 3 and prop(updates[one.thumbs], "value") == -1
    assert (updates[one.reasons], updates[one.reason_detail]) == (["incoherent"], "loops")
    assert prop(updates[two.flag], "value") is True and updates[two.reason_detail] == ""  # the default "harmful"
    assert prop(updates[one.image], "visible") is False
    assert prop(updates[panel.best], "value") == 0 and prop(updates[panel.diversity], "value") == 4
    assert [prop(updates[card.column], "visible") for card in cards["history"]] == [True, True, False, False]
    # Regenerate asks again with the same prompt and parameters, and a blank (random) seed.
    assert text_inputs(view) == ["hello there", 2, 30, 0.4, 0.9, 1.1, "", "END"]


def test_an_image_request_shows_its_files_and_regenerates_with_its_parameters(context, viewer, widgets, settings):
    params = ImageParams(n=1, steps=3, guidance_scale=2.0, negative_prompt="blurry", seed=4)
    recorded = list(stream_image(context, viewer, "a red circle", params))[-1].recorded
    cards, panel = widgets
    view = load_view(context, viewer, recorded.request_id)

    in_tab = show_request(context, cards["image"], panel, view)
    in_history = show_request(context, cards["history"], panel, view)

    path = in_tab[cards["image"][0].content]
    assert path.startswith(str(settings.images_dir.resolve())) and path.endswith(".png")
    shown_image = in_history[cards["history"][0].image]
    assert prop(shown_image, "visible") is True and path.rsplit("/", 1)[-1] in str(prop(shown_image, "value"))
    assert prop(in_history[cards["history"][0].rendered], "visible") is False
    assert image_inputs(view) == ["a red circle", "blurry", 1, 3, 2.0, 256, ""]


def test_another_browsers_request_cannot_be_opened_or_regenerated(context, database, viewer):
    recorded = list(stream_text(context, viewer, "mine only", TextParams(n=1)))[-1].recorded
    stranger = viewer_for_token(database, None)
    with pytest.raises(UnknownIdError, match="not in this browser's history"):
        load_view(context, stranger, recorded.request_id)


def test_history_labels_are_one_line_and_short():
    entry = HistoryEntry(1, "text", "line one\nline two " + "x" * 200, "base", datetime(2026, 3, 4, 5, 6, tzinfo=UTC), 2, 1)
    label = entry_label(entry)
    assert label.startswith("2026-03-04 05:06 UTC · text · line one line two x")
    assert "\n" not in label and f"{'x' * PROMPT_CHARS}" not in label
    assert label.endswith("2 candidates, 1 rated by you · version base")
    own = HistoryEntry(1, "text", "hi", "text-p-0a1b2c3d4e", datetime(2026, 3, 4, 5, 6, tzinfo=UTC), 1, 0, personal=True)
    assert entry_label(own).endswith("0 rated by you · your version text-p-0a1b2c3d4e")
