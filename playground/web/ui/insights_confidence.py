"""Insights' "Token confidence and ratings" accordion: per text version, rated outputs in ten
groups by their mean token confidence with their mean scores and flagged-or-wrong share, and the
rank correlation between confidence and each score (playground/services/confidence_insights.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from playground.services.confidence_insights import (
    ConfidenceFigures,
    correlation_table,
    decile_table,
    waiting_words,
)

EXPLAINED = (
    "Each text output's mean token confidence (the probability the model gave each token it wrote) beside the scores "
    "people gave it. If confidence means something here, the low deciles have lower reliability and more outputs "
    "flagged or marked *wrong*, and Spearman's rho is positive."
)


@dataclass(frozen=True)
class ConfidenceSection:
    """The accordion's components, in the order `confidence_updates` fills them."""

    message: gr.Markdown
    deciles: gr.Dataframe
    correlation: gr.Dataframe

    @property
    def outputs(self) -> list[Any]:
        return [self.message, self.deciles, self.correlation]


def build_confidence_section() -> ConfidenceSection:
    with gr.Accordion("Token confidence and ratings", open=False, elem_id="insights-confidence"):
        gr.Markdown(EXPLAINED)
        message = gr.Markdown(elem_id="insights-confidence-message")
        deciles = gr.Dataframe(label="Rated outputs by confidence decile", interactive=False, elem_id="insights-confidence-deciles")
        correlation = gr.Dataframe(
            label="Rank correlation of confidence and scores", interactive=False, elem_id="insights-confidence-correlation"
        )
    return ConfidenceSection(message, deciles, correlation)


def confidence_updates(figures: ConfidenceFigures) -> list[Any]:
    """The message, then the two tables (hidden while no version is measured)."""
    shown = figures.measured
    return [
        waiting_words(figures),
        gr.Dataframe(decile_table(figures), visible=shown),
        gr.Dataframe(correlation_table(figures), visible=shown),
    ]
