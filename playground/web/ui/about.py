"""The "About this answer" disclosure on a candidate card: looked up from the database when the
viewer opens it (nothing is computed for cards nobody opens, nor added to the streamed updates).

Shared by the Text, Image and My history tabs; the words are playground/web/ui/about_words.py.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from playground.services.version_explanation import explain_answer
from playground.serving.context import AppContext
from playground.web.ui.about_words import answer_markdown
from playground.web.ui.candidates import CandidateCard
from playground.web.ui.errors import shown_to_user
from playground.web.ui.session import viewer_of
from playground.web.ui.state import ShownRequest

NOTHING_TO_EXPLAIN = "Nothing to explain yet: this card has no finished answer."
# Un-queued (a few reads, never behind a generation), no API endpoint, no overlay on the card.
ABOUT_EVENT: dict[str, Any] = {"queue": False, "api_visibility": "private", "show_progress": "hidden"}


def wire_about(card: CandidateCard, index: int, context: AppContext, shown: gr.State) -> None:
    """Fill card `index`'s disclosure each time it is opened, for the answer it shows then."""
    if card.about is None or card.about_text is None:
        return

    def explain(shown_value: ShownRequest | None, request: gr.Request) -> str:
        with shown_to_user("explain this answer"):
            viewer = viewer_of(context, request)
            if viewer is None or shown_value is None or index >= len(shown_value.output_ids):
                return NOTHING_TO_EXPLAIN
            return answer_markdown(explain_answer(context, viewer, shown_value.output_ids[index]))

    card.about.expand(explain, shown, card.about_text, **ABOUT_EVENT)
