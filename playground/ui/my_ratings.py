"""The "Your ratings at work" tab: what this browser's ratings trained, and how that went."""

from __future__ import annotations

import gradio as gr

from playground.context import AppContext
from playground.identity import Viewer
from playground.my_ratings import my_ratings
from playground.ui.errors import shown_to_user
from playground.ui.session import ensure_viewer


def build_my_ratings_tab(context: AppContext, viewer: gr.State, tab: gr.Tab) -> None:
    summary = gr.Markdown(elem_id="mine-summary")
    table = gr.Dataframe(label="Where your ratings went", interactive=False, elem_id="mine-table")
    refresh = gr.Button("↻ Refresh", size="sm", elem_id="mine-refresh")

    def load(viewer_value: Viewer | None) -> tuple:
        with shown_to_user("load your ratings"):
            viewer_value = ensure_viewer(context, viewer_value)
            text, rows = my_ratings(context.database, viewer_value)
            return viewer_value, text, rows

    events = dict(fn=load, inputs=viewer, outputs=[viewer, summary, table], concurrency_id="insights",
                  concurrency_limit=2)
    refresh.click(**events, api_name="my_ratings")
    tab.select(**events, api_visibility="private")
