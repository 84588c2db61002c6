"""The Annotate tab's cards and set scores: the components, the updates that show a queue item in
them, and the reading of their values back into the ratings of the item on screen."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr
from gradio.blocks import BlockContext
from gradio.components import Component

from feedback_db.assignments import ItemOutput, ItemRatings
from playground.core.errors import StaleRequestError
from playground.core.moderation import Moderator
from playground.core.settings import Settings
from playground.services.annotation import Shown
from playground.web.ui.candidates import MAX_CARDS, raw_text_toggle, score_radio
from playground.web.ui.card_views import card_heading, image_view, text_views
from playground.web.ui.confidence_view import confidence_html
from playground.web.ui.content import Guidelines
from playground.web.ui.shading import queued_confidence, shading_toggle
from playground.web.ui.typed_choices import TypedRadio
from playground.web.ui.values import score_value


@dataclass(frozen=True)
class ItemOnScreen:
    """The page's server-side state: which queue item is shown, and whether it is an earlier,
    submitted one being edited (its scores are saved by Submit only, never as a draft)."""

    request_id: int
    output_ids: tuple[int, ...]
    editing: bool

    @classmethod
    def of(cls, shown: Shown | None) -> ItemOnScreen | None:
        if shown is None:
            return None
        return cls(shown.item.request_id, tuple(o.output_id for o in shown.item.outputs), shown.editing)


# The score widgets' values in `AnnotateView.score_inputs` order: naturalness per card,
# reliability per card, diversity, best, a flag per card.
ScoreValues = tuple[Any, ...]


class AnnotateView:
    """The tab's components, and the updates that show an item (or the empty queue) in them."""

    def __init__(self, guidelines: Guidelines):
        self.cards: list[tuple[gr.Column, gr.Textbox, gr.Image, gr.Radio, gr.Radio]] = []
        self.flags: list[gr.Checkbox] = []  # per card; saved with the item on Submit
        self.rendered: list[gr.Markdown] = []  # each card's text as sanitized Markdown
        self.shaded: list[gr.HTML] = []  # each card's text shaded by confidence (playground/web/ui/shading.py)
        with gr.Row(elem_classes="cards-tools"):
            raw_text_toggle("annotate")
            shading_toggle("annotate")
        with gr.Row(equal_height=False, elem_classes=["cards", "rated-cards"], elem_id="annotate-cards"):
            for i in range(MAX_CARDS):
                # Output and scores in two parts, like the Text tab's cards: the scores sit level.
                with gr.Column(visible=False, min_width=240, elem_id=f"annotate-{i}-card", elem_classes="card") as column:
                    with gr.Column(elem_classes="card-output"):
                        card_heading(i, f"annotate-{i}")
                        rendered, text, shaded = text_views(
                            i, f"annotate-{i}", raw_id=f"annotate-{i}-text", lines=6, min_height=100, copy=False
                        )
                        self.rendered.append(rendered)
                        self.shaded.append(shaded)
                        image = image_view(i, f"annotate-{i}-image", visible=False, format="webp")  # Gradio's default format
                    with gr.Column(elem_classes="card-rating"):
                        naturalness = score_radio("naturalness", guidelines, f"annotate-{i}-naturalness", elem_classes="annotate-score")
                        reliability = score_radio("reliability", guidelines, f"annotate-{i}-reliability", elem_classes="annotate-score")
                        flag = gr.Checkbox(label="Flag as harmful (F)", elem_id=f"annotate-{i}-flag", elem_classes="annotate-flag")
                        self.flags.append(flag)
                self.cards.append((column, text, image, naturalness, reliability))
        with gr.Row():
            self.diversity = score_radio("diversity", guidelines, "annotate-diversity", elem_classes="annotate-score", scale=1)
            self.best = TypedRadio(
                [],
                label="Best candidate (optional)",
                info="keys 1-4 when highlighted",
                elem_id="annotate-best",
                elem_classes="annotate-score",
                scale=1,
            )

    @property
    def components(self) -> list[Component | BlockContext]:
        parts: list[Component | BlockContext] = []
        for card in self.cards:
            parts += list(card)
        return parts + [self.diversity, self.best, *self.rendered, *self.flags, *self.shaded]

    def show(self, shown: Shown | None, settings: Settings, moderator: Moderator) -> list[Any]:
        """Updates for `components`: the item's candidates with any earlier scores, or nothing."""
        outputs = shown.item.outputs if shown else []
        updates: list[Any] = []
        for index, _ in enumerate(self.cards):
            output = outputs[index] if index < len(outputs) else None
            # An output is on screen only when an item is (`shown` is set).
            scores = shown.ratings.scores.get(output.output_id, (None, None)) if output and shown else (None, None)
            image_path = output.image_path if output is not None else None
            is_image = image_path is not None
            updates += [
                gr.Column(visible=output is not None),
                gr.Textbox(value=output.text if output else "", visible=not is_image),
                gr.Image(value=str(settings.stored_file(image_path)) if image_path is not None else None, visible=is_image),
                gr.Radio(value=scores[0]),
                gr.Radio(value=scores[1]),
            ]
        several = len(outputs) > 1
        best_index = next((o.index for o in outputs if shown and o.output_id == shown.ratings.best_output_id), None)
        updates += [
            gr.Radio(value=shown.ratings.diversity if shown else None, visible=several),
            gr.Radio(choices=[(f"Candidate {o.index + 1}", o.index) for o in outputs], value=best_index, visible=several),
        ]
        for index, _ in enumerate(self.rendered):
            output = outputs[index] if index < len(outputs) else None
            text = output.text if output is not None and output.image_path is None else None
            updates.append(gr.Markdown(value=text or "", visible=text is not None))
        flagged = shown.ratings.flagged if shown else frozenset()
        updates += [gr.Checkbox(value=index < len(outputs) and outputs[index].output_id in flagged) for index, _ in enumerate(self.flags)]
        return updates + [
            self._shaded(view, outputs[index] if index < len(outputs) else None, moderator) for index, view in enumerate(self.shaded)
        ]

    @staticmethod
    def _shaded(view: gr.HTML, output: ItemOutput | None, moderator: Moderator) -> str:
        """The card's text shaded by its stored confidence; "" for none (its Markdown shows)."""
        if output is None or output.text is None:
            return ""
        return confidence_html(queued_confidence(output, moderator), output.text, prefix=str(view.elem_id))

    @property
    def score_inputs(self) -> list[gr.Radio | gr.Checkbox]:
        """The widgets whose values `ratings` reads, in `ScoreValues` order."""
        return [*(c[3] for c in self.cards), *(c[4] for c in self.cards), self.diversity, self.best, *self.flags]


def request_id_of(item: ItemOnScreen | None) -> int:
    if item is None:
        raise StaleRequestError("There is no item on screen: the queue is empty or you are logged out.")
    return item.request_id


def ratings_of(item: ItemOnScreen | None, values: ScoreValues) -> ItemRatings:
    """Score widget values -> ItemRatings for the outputs on screen."""
    output_ids = list(item.output_ids) if item else []
    naturalness, reliability = values[:MAX_CARDS], values[MAX_CARDS : 2 * MAX_CARDS]
    diversity, best = values[2 * MAX_CARDS], values[2 * MAX_CARDS + 1]
    flags = values[2 * MAX_CARDS + 2 :]
    flagged = frozenset(output_id for i, output_id in enumerate(output_ids) if i < len(flags) and flags[i] is True)
    scores = {output_id: (_score(naturalness[i]), _score(reliability[i])) for i, output_id in enumerate(output_ids)}
    best_id = None
    if best not in (None, ""):
        index = score_value("best candidate", best, low=0, high=len(output_ids) - 1)
        best_id = output_ids[index] if index is not None else None  # blank text: no pick
    return ItemRatings(scores, diversity=_score(diversity), best_output_id=best_id, flagged=flagged)


def _score(value: Any) -> int | None:
    return score_value("a score", value, low=1, high=5)
