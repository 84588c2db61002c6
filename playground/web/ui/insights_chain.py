"""Insights' "Versions along the chain": per global version its parent, decision, held-out wins and
losses and capability figures against the base model (a table), the same along the versions (a
plot), and what drifted in words (playground/services/version_chain.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from feedback_db.chain import ChainLink
from playground.retrain.chain import chain_table
from playground.services.version_chain import chain_caption, chain_figure


@dataclass(frozen=True)
class ChainSection:
    """The accordion's components, in the order `chain_updates` fills them."""

    message: gr.Markdown
    table: gr.Dataframe
    plot: gr.Plot

    @property
    def outputs(self) -> list[Any]:
        return [self.message, self.table, self.plot]


def build_chain_section() -> ChainSection:
    with gr.Accordion("Versions along the chain", open=True, elem_id="insights-chain"):
        message = gr.Markdown(elem_id="insights-chain-message")
        table = gr.Dataframe(label="Per version, oldest first", interactive=False, visible=False, elem_id="insights-chain-table")
        # No label badge: it would sit on the figure's title; the words above say what it shows.
        plot = gr.Plot(show_label=False, visible=False, elem_id="insights-chain-plot")
    return ChainSection(message, table, plot)


def chain_updates(links: tuple[ChainLink, ...]) -> list[Any]:
    """The words, then the table and the plot (hidden while there is no version)."""
    shown = bool(links)
    return [
        chain_caption(links),
        gr.Dataframe(chain_table(links), visible=shown),
        gr.Plot(value=chain_figure(links), visible=shown),
    ]
