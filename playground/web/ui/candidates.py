"""Candidate cards (one output with its rating widgets) and the set panel (diversity, best pick):
their layout, and the updates a generation makes to them.

Shared by the Text, Image and My history tabs; the Annotate tab builds its own cards from the
same pieces (playground/web/ui/card_views.py, `score_radio`). Saving the ratings is wired in
playground/web/ui/card_ratings.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

import gradio as gr
from gradio.blocks import Block, BlockContext
from gradio.components import Component

from feedback_db.reasons import MAX_REASON_DETAIL_CHARS, REASON_CHIPS
from models.base import TokenConfidence
from playground.web.ui.card_views import card_heading, image_view, text_views
from playground.web.ui.confidence_view import confidence_html
from playground.web.ui.content import Guidelines
from playground.web.ui.typed_choices import TypedRadio

MAX_CARDS = 4
SCORES = [1, 2, 3, 4, 5]
THUMBS = [("Up", 1), ("Down", -1)]
ScoreAxis = Literal["naturalness", "reliability", "diversity"]
SCORE_LABELS: dict[ScoreAxis, str] = {
    "naturalness": "Naturalness",
    "reliability": "Reliability",
    "diversity": "Diversity of the set",
}


def score_radio(
    axis: ScoreAxis,
    guidelines: Guidelines,
    elem_id: str,
    *,
    elem_classes: str | None = None,
    scale: int | None = None,
    interactive: bool | None = None,
) -> gr.Radio:
    """A 1-5 score, with the guidelines' meaning of each score on one line under its label."""
    return TypedRadio(
        SCORES,
        label=SCORE_LABELS[axis],
        info=guidelines.one_line(axis),
        elem_id=elem_id,
        elem_classes=elem_classes,
        scale=scale,
        interactive=interactive,
    )


@dataclass
class CandidateCard:
    column: gr.Column
    content: gr.Textbox | gr.Image  # text: the raw text (hidden unless "Show raw text")
    rendered: gr.Markdown | None  # text: the same text as sanitized Markdown; None for images
    shaded: gr.HTML | None  # text: the same text shaded by token confidence (shading.py); None for images
    meta: gr.Markdown
    naturalness: gr.Radio
    reliability: gr.Radio
    thumbs: gr.Radio
    comment: gr.Textbox
    flag: gr.Checkbox
    saved: gr.Markdown
    why: gr.Group  # reason chips and details, shown on a thumbs-down or a flag
    reasons: gr.CheckboxGroup
    reason_detail: gr.Textbox
    image: gr.Image | None = None  # history cards show either text or an image
    regenerate: gr.Button | None = None  # this card only: a new seed, the same request (card_regenerate.py)
    continue_answer: gr.Button | None = None  # text tabs: go on with an answer cut at the length limit (card_continue.py)
    about: gr.Accordion | None = None  # "About this answer", collapsed; filled when opened (about.py)
    about_text: gr.Markdown | None = None

    def text_parts(self) -> list[Component]:
        """The views of the card's text (raw, Markdown, shaded); none on an Image tab card."""
        if self.rendered is None:
            return []
        return [p for p in (self.content, self.rendered, self.shaded) if p is not None]

    def text_values(self, text: str, confidence: Sequence[TokenConfidence] | None = None) -> dict[Block, Any]:
        """Every view of the card's text showing `text`, shaded by `confidence` where given (a card
        without it keeps its Markdown with shading on)."""
        shaded: dict[Block, Any] = (
            {} if self.shaded is None else {self.shaded: confidence_html(confidence, text, prefix=str(self.shaded.elem_id))}
        )
        return {self.content: text, **({self.rendered: text} if self.rendered is not None else {}), **shaded}

    def buttons(self) -> list[gr.Button]:
        """The card's Continue and Regenerate, where it has them."""
        return [b for b in (self.continue_answer, self.regenerate) if b is not None]

    def shown_parts(self) -> list[Component | BlockContext]:
        """What showing a request updates, in this order: the column, the output (raw text,
        rendered text, image where the card has them), the facts line and the rating widgets."""
        # An Image tab card's image is its content: listed once.
        optional: list[Component | BlockContext] = [
            p for p in (self.rendered, self.shaded, self.image) if p is not None and p is not self.content
        ]
        rating: list[Component | BlockContext] = [
            self.naturalness,
            self.reliability,
            self.thumbs,
            self.flag,
            self.comment,
            self.saved,
            self.why,
        ]
        about: list[Component | BlockContext] = [p for p in (self.about, self.about_text) if p is not None]
        return [self.column, self.content, *optional, self.meta, *rating, self.reasons, self.reason_detail, *about]


@dataclass
class SetPanel:
    group: gr.Group
    diversity: gr.Radio
    best: gr.Radio
    saved: gr.Markdown


def build_card(kind: str, index: int, guidelines: Guidelines) -> CandidateCard:
    """One candidate: 1. its name, the output (text, image, or either for history), its facts and
    Regenerate, 2. naturalness/reliability/thumbs/flag, the reason box and the comment.

    The two parts are two columns ("card-output", "card-rating"): the cards of a row share the
    height of their tallest output part (style.css), so their rating rows sit level."""
    prefix = f"{kind}-{index}"
    with gr.Column(visible=index < 2, min_width=260, elem_id=f"{prefix}-card", elem_classes="card") as column:
        with gr.Column(elem_classes="card-output"):
            # 1. The name, and the output. A history card shows either a text or an image.
            card_heading(index, prefix)
            rendered = shaded = image = None
            content: gr.Textbox | gr.Image
            if kind in ("text", "history"):
                rendered, content, shaded = text_views(index, prefix, raw_id=f"{prefix}-output", lines=8, min_height=120, copy=True)
            if kind != "text":
                image_id = f"{prefix}-{'image' if kind == 'history' else 'output'}"
                image = image_view(index, image_id, visible=kind == "image", format="png")
                content = content if kind == "history" else image
            # The facts line, then Continue (shown under an answer cut at the length limit, which
            # the facts line ends with) and Regenerate (not in history: it has no generation inputs).
            meta = gr.Markdown(elem_id=f"{prefix}-meta", elem_classes="meta")
            continue_answer = continue_button(prefix) if kind == "text" else None
            regenerate = None if kind == "history" else regenerate_button(prefix)
            about, about_text = about_disclosure(prefix)
        with gr.Column(elem_classes="card-rating"):
            ratings = rating_widgets(prefix, guidelines)
    return CandidateCard(
        column=column,
        content=content,
        rendered=rendered,
        shaded=shaded,
        meta=meta,
        naturalness=ratings.naturalness,
        reliability=ratings.reliability,
        thumbs=ratings.thumbs,
        comment=ratings.comment,
        flag=ratings.flag,
        saved=ratings.saved,
        why=ratings.why,
        reasons=ratings.reasons,
        reason_detail=ratings.reason_detail,
        image=image,
        regenerate=regenerate,
        continue_answer=continue_answer,
        about=about,
        about_text=about_text,
    )


ABOUT_UNTIL_OPENED = "Open to see which version answered and why."


def about_disclosure(prefix: str) -> tuple[gr.Accordion, gr.Markdown]:
    """ "About this answer": collapsed; its text is looked up when it is opened (about.py)."""
    with gr.Accordion("About this answer", open=False, elem_id=f"{prefix}-about", elem_classes="about") as about:
        text = gr.Markdown(ABOUT_UNTIL_OPENED, elem_id=f"{prefix}-about-text", elem_classes="about-text")
    return about, text


def closed_about(card: CandidateCard) -> dict[Block, Any]:
    """The card's disclosure closed and emptied: a new answer is explained afresh when opened."""
    if card.about is None or card.about_text is None:
        return {}
    return {card.about: gr.Accordion(open=False), card.about_text: ABOUT_UNTIL_OPENED}


def regenerate_button(prefix: str) -> gr.Button:
    """This card again, with a new seed in the same request (playground/web/ui/card_regenerate.py);
    off until generated."""
    return gr.Button(
        "↻ Regenerate",
        size="sm",
        variant="secondary",
        interactive=False,
        elem_id=f"{prefix}-regenerate",
        elem_classes="regenerate",
    )


def continue_button(prefix: str) -> gr.Button:
    """Go on with this card's answer where the length limit cut it (playground/web/ui/
    card_continue.py); hidden unless the card's answer was cut (`continue_update`)."""
    return gr.Button(
        "→ Continue",
        size="sm",
        variant="secondary",
        visible=False,
        elem_id=f"{prefix}-continue",
        elem_classes="continue",
    )


def continue_update(cut: bool) -> gr.Button:
    """The card's Continue: shown, and usable, under an answer cut at the length limit only."""
    return gr.Button(visible=cut, interactive=cut)


def continue_updates(cards: list[CandidateCard], cut: dict[int, bool]) -> dict[Block, Any]:
    """Continue shown under card i where `cut[i]` (its answer was cut at the length limit), hidden
    where not; cards with no Continue (the Image tab's) are left out."""
    return {card.continue_answer: continue_update(cut[i]) for i, card in enumerate(cards) if i in cut and card.continue_answer is not None}


class RatingWidgets(NamedTuple):
    naturalness: gr.Radio
    reliability: gr.Radio
    thumbs: gr.Radio
    flag: gr.Checkbox
    why: gr.Group
    reasons: gr.CheckboxGroup
    reason_detail: gr.Textbox
    comment: gr.Textbox
    saved: gr.Markdown


def rating_widgets(prefix: str, guidelines: Guidelines) -> RatingWidgets:
    """A card's rating part: naturalness, reliability, thumbs, flag, the reason box (its group,
    chips and details), the comment and the saved line."""
    # Rating widgets start non-interactive: there is nothing to rate until a candidate exists.
    naturalness = score_radio("naturalness", guidelines, f"{prefix}-naturalness", elem_classes="score", interactive=False)
    reliability = score_radio("reliability", guidelines, f"{prefix}-reliability", elem_classes="score", interactive=False)
    with gr.Row(elem_classes="card-actions"):
        thumbs = TypedRadio(THUMBS, label="Thumbs", elem_id=f"{prefix}-thumbs", scale=1, interactive=False)
        flag = gr.Checkbox(label="Flag as harmful", elem_id=f"{prefix}-flag", scale=1, interactive=False)
    with gr.Group(visible=False, elem_id=f"{prefix}-why") as why:
        reasons = gr.CheckboxGroup(
            list(REASON_CHIPS),
            label="Why? (thumbs-down or flag)",
            elem_id=f"{prefix}-reasons",
        )
        reason_detail = gr.Textbox(
            label="Details",
            placeholder="Optional; press Enter to save",
            lines=1,
            max_length=MAX_REASON_DETAIL_CHARS,
            elem_id=f"{prefix}-reason-detail",
        )
    comment = gr.Textbox(
        label="Comment",
        placeholder="Optional; press Enter to save",
        lines=1,
        max_length=5000,
        elem_id=f"{prefix}-comment",
        interactive=False,
    )
    saved = gr.Markdown(elem_id=f"{prefix}-saved", elem_classes="saved")
    return RatingWidgets(naturalness, reliability, thumbs, flag, why, reasons, reason_detail, comment, saved)


def build_set_panel(kind: str, guidelines: Guidelines) -> SetPanel:
    with gr.Group(visible=False, elem_id=f"{kind}-set") as group:
        with gr.Row(elem_classes="set-row"):
            diversity = score_radio("diversity", guidelines, f"{kind}-diversity", elem_classes="score", scale=2)
            best = TypedRadio([], label="Best candidate", elem_id=f"{kind}-best", scale=1)
        saved = gr.Markdown(elem_id=f"{kind}-set-saved", elem_classes="saved")
    return SetPanel(group, diversity, best, saved)


def build_cards(kind: str, guidelines: Guidelines) -> tuple[list[CandidateCard], SetPanel]:
    """A tab's candidates: MAX_CARDS cards side by side in `<kind>-cards` (the row that
    `raw_text_toggle(kind)` switches), then the set panel."""
    with gr.Row(equal_height=False, elem_classes=["cards", "rated-cards"], elem_id=f"{kind}-cards"):
        cards = [build_card(kind, i, guidelines) for i in range(MAX_CARDS)]
    return cards, build_set_panel(kind, guidelines)


def raw_text_toggle(kind: str) -> gr.Checkbox:
    """Show the candidates' raw text instead of rendered Markdown; runs in the browser only."""
    toggle = gr.Checkbox(False, label="Show raw text", elem_id=f"{kind}-raw", container=False)
    toggle.change(
        None,
        toggle,
        None,
        js=f"(on) => document.getElementById('{kind}-cards')?.classList.toggle('show-raw', on)",
    )
    return toggle


def reset_for_new_request(cards: list[CandidateCard], panel: SetPanel, n: int) -> dict[Block, Any]:
    """Updates that show `n` empty cards with cleared ratings, and hide the set panel."""
    updates: dict[Block, Any] = {}
    for index, card in enumerate(cards):
        updates[card.column] = gr.Column(visible=index < n)
        updates[card.content] = None
        updates |= {part: "" for part in card.text_parts() if part is not card.content}
        updates[card.meta] = ""
        for radio in (card.naturalness, card.reliability, card.thumbs):
            updates[radio] = gr.Radio(value=None, interactive=False)
        updates[card.flag] = gr.Checkbox(value=False, interactive=False)
        updates[card.comment] = gr.Textbox(value="", interactive=False)
        updates[card.saved] = ""
        updates[card.why] = gr.Group(visible=False)
        updates[card.reasons] = []
        updates[card.reason_detail] = ""
        if card.regenerate is not None:
            updates[card.regenerate] = gr.Button(interactive=False)
        if card.continue_answer is not None:
            updates[card.continue_answer] = continue_update(False)
        updates |= closed_about(card)
    updates[panel.group] = gr.Group(visible=False)
    updates[panel.diversity] = None
    updates[panel.best] = gr.Radio(choices=[], value=None)
    updates[panel.saved] = ""
    return updates


def enable_ratings(cards: list[CandidateCard], n: int) -> dict[Block, Any]:
    """Once the `n` candidates are recorded, their rating widgets become interactive."""
    updates: dict[Block, Any] = {}
    for card in cards[:n]:
        for radio in (card.naturalness, card.reliability, card.thumbs):
            updates[radio] = gr.Radio(interactive=True)
        updates[card.flag] = gr.Checkbox(interactive=True)
        updates[card.comment] = gr.Textbox(interactive=True)
        for button in card.buttons():  # a hidden Continue stays hidden
            updates[button] = gr.Button(interactive=True)
    return updates


def show_set_panel(panel: SetPanel, n: int) -> dict[Block, Any]:
    """After generation: the set panel, with one best-pick choice per candidate (none for n=1)."""
    choices = [(f"Candidate {i + 1}", i) for i in range(n)]
    return {
        panel.group: gr.Group(visible=n > 1),
        panel.best: gr.Radio(choices=choices, value=None),
    }


def rating_components(cards: list[CandidateCard], panel: SetPanel) -> list[Component | BlockContext]:
    """Every component `reset_for_new_request` updates, for an event's outputs list."""
    components: list[Component | BlockContext] = []
    for card in cards:
        components += [*card.shown_parts(), *card.buttons()]
    return components + [panel.group, panel.diversity, panel.best, panel.saved]
