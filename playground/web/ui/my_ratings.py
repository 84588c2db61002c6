"""The "Your ratings at work" tab: what this browser's ratings trained, and how that went."""

from __future__ import annotations

from typing import Any

import gradio as gr
import pandas as pd

from playground.services.my_ratings import MyRatings, my_ratings
from playground.services.vote_hygiene import vote_hygiene
from playground.serving.context import AppContext
from playground.web.ui.errors import shown_to_user
from playground.web.ui.session import viewer_of
from playground.web.ui.wording import counts_words, plural

NOTHING_YET = "This browser has not rated anything yet: rate a few candidates or play an arena battle."


def build_my_ratings_tab(context: AppContext, tab: gr.Tab) -> None:
    summary = gr.Markdown(elem_id="mine-summary")
    table = gr.Dataframe(label="Where your ratings went", interactive=False, elem_id="mine-table")
    refresh = gr.Button("↻ Refresh", size="sm", elem_id="mine-refresh")

    def load(request: gr.Request) -> tuple[str, pd.DataFrame | None]:
        with shown_to_user("load your ratings"):
            # The caller's cookie names them; a browser that never wrote anything gets no row.
            viewer = viewer_of(context, request)
            if viewer is None:
                return NOTHING_YET, None
            mine = my_ratings(context.database, viewer, hygiene=vote_hygiene(context.settings))
            return summary_line(mine), mine.table

    events: dict[str, Any] = dict(fn=load, inputs=None, outputs=[summary, table], concurrency_id="insights", concurrency_limit=2)
    refresh.click(**events, api_name="my_ratings")
    tab.select(**events, api_visibility="private")


def summary_line(mine: MyRatings) -> str:
    """`From this browser: **2 rated outputs, 4 scores** and **1 arena vote**.` (the footer's words)."""
    if not (mine.counts.rated_outputs or mine.counts.scores or mine.votes):
        return NOTHING_YET
    return f"From this browser: **{counts_words(mine.counts)}** and **{plural(mine.votes, 'arena vote')}**."
