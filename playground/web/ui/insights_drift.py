"""Insights' "Feedback drift" accordion: does recent feedback differ from what the active version
was trained on? The verdict in one sentence, the measures against their thresholds, the topic
shares then and now, and the mean score per week (playground/services/feedback_drift.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr
import pandas as pd

from playground.services.feedback_drift import FeedbackDrift

EXPLAINED = (
    "Recent feedback against the feedback the active version was trained on (with no trained version yet: the last "
    "days against everything before): the prompts' mean MiniLM embedding and topic shares, the mean score per axis, "
    'and the share of flagged outputs. Thresholds: `PLAYGROUND_DRIFT_*` (docs/RETRAIN.md, "Feedback drift").'
)
NOT_READ = "Feedback drift was not read."


@dataclass(frozen=True)
class DriftSection:
    """The accordion's components, in the order `drift_updates` fills them."""

    message: gr.Markdown
    measures: gr.Dataframe
    topics: gr.Dataframe
    weekly: gr.ScatterPlot

    @property
    def outputs(self) -> list[Any]:
        return [self.message, self.measures, self.topics, self.weekly]


def build_drift_section() -> DriftSection:
    with gr.Accordion("Feedback drift", open=False, elem_id="insights-drift"):
        gr.Markdown(EXPLAINED)
        message = gr.Markdown(elem_id="insights-drift-message")
        measures = gr.Dataframe(label="Then and now", interactive=False, elem_id="insights-drift-measures")
        topics = gr.Dataframe(label="Topic shares then and now", interactive=False, visible=False, elem_id="insights-drift-topics")
        # Points, not a line: a line needs two weeks before it draws anything.
        weekly = gr.ScatterPlot(
            x="week",
            y="mean",
            color="axis",
            title="Mean score per week",
            x_title="week (UTC, from Monday)",
            y_lim=[0, 5],
            elem_id="insights-drift-weekly",
        )
    return DriftSection(message, measures, topics, weekly)


def drift_updates(drift: FeedbackDrift | None) -> list[Any]:
    """The sentence, the measures, the topic shares (hidden without topics) and the weekly means."""
    if drift is None:
        return [NOT_READ, pd.DataFrame(), gr.Dataframe(visible=False), pd.DataFrame(columns=["week", "mean", "axis"])]
    topics = drift.topics
    shown = topics.assign(then=topics["then"].map("{:.0%}".format), now=topics["now"].map("{:.0%}".format))
    return [
        "\n\n".join([drift.sentence, *drift.notes]),
        drift.table(),
        gr.Dataframe(shown.rename(columns=str.capitalize), visible=not topics.empty),
        drift.weekly,
    ]
