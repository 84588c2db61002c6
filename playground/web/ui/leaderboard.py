"""The Leaderboard tab: arena scores with 95% CIs and Rank(UB) as a table and a forest plot, a
category picker (prompt length, topic), raw or style-controlled scores, the votes counted and
left out, the win-rate heatmap, votes per day, mean ratings per version, and "About a version":
the same explanation as a card's "About this answer", with its retrain report.

Computed when the tab is opened or refreshed (not at page load), so the Arena's page carries
no version names before a vote. Only the base model and global versions are listed. The tables,
sentences and figures come from playground/services/standings.py, as `playground report`'s do.
"""

from __future__ import annotations

from typing import Any

import gradio as gr
import pandas as pd

from playground.services.categories import ALL, TopicModel
from playground.services.standings import StandingsView, plural, read_standings, standings_view
from playground.services.standings_figures import captions, standings_figures
from playground.services.version_explanation import explain_version, report_text, version_choices
from playground.services.vote_hygiene import vote_hygiene
from playground.serving.context import AppContext
from playground.web.ui.about_words import version_markdown
from playground.web.ui.errors import shown_to_user
from playground.web.ui.session import viewer_of

EXPLAIN = (
    "Scores are Bradley-Terry strengths on the Elo scale (mean version = 1000; +400 = 10:1 odds), "
    "with bootstrap 95% confidence intervals. **Rank (UB)** is 1 + the number of versions whose whole "
    "interval lies above this one's, so versions the votes cannot tell apart share a rank. A tie counts "
    "half a win; *both bad* is shown separately and does not move scores or win rates."
)
RAW, STYLE = "raw", "style"
MODALITIES = [("Text", "text"), ("Image", "image")]
FIGURES = ("forest", "heatmap", "votes-per-day")


def build_leaderboard_tab(context: AppContext, tab: gr.Tab, topics: TopicModel) -> None:
    """`topics`: the app's MiniLM topic model (shared with Insights); MiniLM loads only once 10
    different prompts have votes."""
    with gr.Row():
        modality = gr.Radio(MODALITIES, value="text", label="Modality", elem_id="leaderboard-modality", scale=2)
        category = gr.Dropdown([("All prompts", ALL)], value=ALL, label="Category", elem_id="leaderboard-category", scale=3)
        scores = gr.Radio(
            [("Raw scores", RAW), ("Style-controlled", STYLE)],
            value=RAW,
            label="Scores",
            visible=False,
            elem_id="leaderboard-style",
            scale=2,
        )
        refresh = gr.Button("↻ Refresh", size="sm", elem_id="leaderboard-refresh", scale=0)
    gr.Markdown(EXPLAIN)
    summary = gr.Markdown(elem_id="leaderboard-summary")
    votes = gr.Markdown(elem_id="leaderboard-votes")
    versions_note = gr.Markdown(elem_id="leaderboard-versions-note")
    versions = gr.Dataframe(label="Arena: model versions", interactive=False, visible=False, elem_id="leaderboard-versions")
    forest = gr.Plot(label="Scores with 95% CIs", visible=False, elem_id="leaderboard-forest")
    forest_caption = gr.Markdown(elem_id="leaderboard-forest-caption")
    coefficients = gr.Dataframe(
        label="Style control: effect of each style feature", interactive=False, visible=False, elem_id="leaderboard-coefficients"
    )
    heatmap = gr.Plot(label="Win rate of row against column", visible=False, elem_id="leaderboard-heatmap")
    heatmap_caption = gr.Markdown(elem_id="leaderboard-heatmap-caption")
    pairwise = gr.Dataframe(label="Win rate of row against column (%)", interactive=False, visible=False, elem_id="leaderboard-pairwise")
    presets_note = gr.Markdown(elem_id="leaderboard-presets-note")
    presets = gr.Dataframe(label="Arena: sampling presets", interactive=False, visible=False, elem_id="leaderboard-presets")
    ratings_note = gr.Markdown(elem_id="leaderboard-ratings-note")
    ratings = gr.Dataframe(label="Mean ratings per version (1–5, 95% CI)", interactive=False, visible=False, elem_id="leaderboard-ratings")
    per_day = gr.Plot(label="Arena votes per day", visible=False, elem_id="leaderboard-votes-per-day")
    per_day_caption = gr.Markdown(elem_id="leaderboard-votes-per-day-caption")
    version, about, report = build_about_version(context, modality)

    def load(modality_value: str, category_value: str | None, scores_value: str) -> list[Any]:
        with shown_to_user("compute the leaderboard"):
            key = category_value or ALL
            standings = read_standings(
                context.database, modality_value, category=key, topics=topics, hygiene=vote_hygiene(context.settings)
            )
            style = scores_value == STYLE
            view = standings_view(standings, style=style)
            figures, words = standings_figures(standings, style=style), captions(standings, style=style)
            choices = [(f"{c.label} ({plural(c.votes, 'vote')})", c.key) for c in standings.categories]
            modalities = [(f"{name} ({plural(standings.modality_votes.get(key, 0), 'vote')})", key) for name, key in MODALITIES]
            return [
                gr.Radio(choices=modalities),
                gr.Dropdown(choices=choices, value=standings.category.key),
                gr.Radio(visible=view.style_available, value=scores_value if view.style_available else RAW),
                view.summary,
                view.votes_line,
                *_tables(view),
                *[update for name in FIGURES for update in _figure(figures.get(name), words.get(name, ""))],
                gr.Dropdown(choices=version_choices(context, modality_value), value=None),
                ABOUT_A_VERSION,
                "",
            ]

    outputs = [
        modality,
        category,
        scores,
        summary,
        votes,
        versions_note,
        versions,
        coefficients,
        pairwise,
        presets_note,
        presets,
        ratings_note,
        ratings,
        forest,
        forest_caption,
        heatmap,
        heatmap_caption,
        per_day,
        per_day_caption,
        version,
        about,
        report,
    ]
    # The loading overlay shows on the first table only: over the one-line summary it made a
    # scrollable box that no key can reach while the boards load (axe: scrollable-region-focusable).
    events: dict[str, Any] = dict(
        fn=load,
        inputs=[modality, category, scores],
        outputs=outputs,
        show_progress_on=[versions],
        concurrency_id="insights",
        concurrency_limit=2,
    )
    refresh.click(**events, api_name="leaderboard")
    tab.select(**events, api_visibility="private")
    category.input(**events, api_visibility="private")
    scores.input(**events, api_visibility="private")
    # .input, not .change: the handler relabels the modality choices with their vote counts.
    modality.input(**{**events, "inputs": [modality, gr.State(ALL), scores]}, api_visibility="private")


def _tables(view: StandingsView) -> list[Any]:
    """Notes and tables in the order of `outputs`: a table with no rows is hidden, its note says why."""
    return [
        view.versions_note,
        _table(view.versions),
        _table(view.coefficients),
        _table(view.pairwise),
        view.presets_note,
        _table(view.presets),
        view.ratings_note,
        _table(view.ratings),
    ]


def _table(frame: pd.DataFrame) -> gr.Dataframe:
    return gr.Dataframe(value=frame if not frame.empty else None, visible=not frame.empty)


def _figure(figure: Any, caption: str) -> tuple[gr.Plot, str]:
    return gr.Plot(value=figure, visible=figure is not None), caption


ABOUT_A_VERSION = "Choose a version to see what trained it and what it learned."
NO_REPORT = "No retrain report is kept for this version."


def build_about_version(context: AppContext, modality: gr.Radio) -> tuple[gr.Dropdown, gr.Markdown, gr.Markdown]:
    """A version picker, its explanation and its retrain report (collapsed)."""
    with gr.Group(elem_id="leaderboard-about-box"):
        version = gr.Dropdown([], value=None, label="About a version", elem_id="leaderboard-version")
        about = gr.Markdown(ABOUT_A_VERSION, elem_id="leaderboard-about")
        with gr.Accordion("Its retrain report", open=False, elem_id="leaderboard-report-box"):
            report = gr.Markdown(elem_id="leaderboard-report")

    def explain(name: str | None, modality_value: str, request: gr.Request) -> tuple[str, str]:
        with shown_to_user("explain the version"):
            if not name:
                return ABOUT_A_VERSION, ""
            explanation = explain_version(context, name, modality_value, viewer_of(context, request))
            return version_markdown(explanation), report_text(context, explanation) or NO_REPORT

    version.input(explain, [version, modality], [about, report], queue=False, api_visibility="private", show_progress="hidden")
    return version, about, report
