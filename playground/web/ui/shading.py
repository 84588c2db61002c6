"""Shading candidates by token confidence: each text card's shaded view, the tab's "Shade by
confidence" toggle with its legend, and where a stored output's confidence is read.

The toggle runs in the browser only, like "Show raw text" (playground/web/ui/candidates.py
`raw_text_toggle`): it sets the class `show-shaded` on the tab's cards, and the CSS
(assets/style.css) then shows each card's shaded view in place of its Markdown - where the card
has shaded tokens; a card without confidence keeps its Markdown, exactly as with shading off.
Its state lives in the page (a reload starts with it off): nothing is stored in the browser.
"""

from __future__ import annotations

import gradio as gr

from feedback_db.assignments import ItemOutput
from feedback_db.history import CandidateView
from models.base import TokenConfidence
from playground.core.moderation import Moderator
from playground.services.confidence import decode
from playground.services.confidence_screen import screened
from playground.web.ui.confidence_view import legend_html

SHADE_LABEL = "Shade by confidence"


def shaded_view(prefix: str) -> gr.HTML:
    """A card's text shaded by confidence (playground/web/ui/confidence_view.py builds it, escaped);
    hidden unless the tab's toggle is on and the card has shaded tokens."""
    return gr.HTML(
        "",
        elem_id=f"{prefix}-shaded",
        elem_classes="shaded-output",
        js_on_load=None,  # Gradio's default sends a click event for every click in it
        container=False,
        padding=False,
    )


def shading_toggle(kind: str) -> gr.Checkbox:
    """The tab's "Shade by confidence" (off), with the legend shown beside it while it is on."""
    toggle = gr.Checkbox(False, label=SHADE_LABEL, elem_id=f"{kind}-shade", container=False)
    gr.HTML(legend_html(), elem_id=f"{kind}-confidence-legend", elem_classes="confidence-legend", js_on_load=None)
    toggle.change(
        None,
        toggle,
        None,
        js=f"(on) => ['{kind}-cards', '{kind}-confidence-legend'].forEach(id => "
        "document.getElementById(id)?.classList.toggle('show-shaded', on))",
    )
    return toggle


# Where the stored outputs' confidence is read for My history, the Text tab's restore and
# Annotate: `token_confidence` is the column's JSON text on the views feedback_db builds (NULL for
# older rows, which render plainly).


def stored_confidence(candidate: CandidateView, moderator: Moderator) -> tuple[TokenConfidence, ...] | None:
    """My history and restore: a stored candidate's tokens as shown, None where it has none
    or its text is withheld (the notice shown instead is not the model's text)."""
    if candidate.moderation:
        return None
    return _shown(candidate.token_confidence, moderator)


def queued_confidence(output: ItemOutput, moderator: Moderator) -> tuple[TokenConfidence, ...] | None:
    """Annotate: a queue item's output's tokens as shown, None where it has none."""
    return _shown(output.token_confidence, moderator)


def _shown(stored: str | None, moderator: Moderator) -> tuple[TokenConfidence, ...] | None:
    return screened(moderator, decode(stored))
