"""The Leaderboard tab: arena scores with 95% CIs, the win-rate matrix, mean ratings per version,
and "About a version": the same explanation as a card's "About this answer", with its retrain report.

Computed when the tab is opened or refreshed (not at page load), so the Arena's page carries
no version names before a vote. Only the base model and global versions are listed.
"""

from __future__ import annotations

from typing import Any

import gradio as gr
import pandas as pd

from feedback_db.leaderboard import Leaderboard
from feedback_db.standings import leaderboard, leaderboard_rows, version_rating_means
from playground.services.version_explanation import explain_version, report_text, version_choices
from playground.services.vote_hygiene import vote_hygiene
from playground.serving.context import AppContext
from playground.web.ui.about_words import version_markdown
from playground.web.ui.errors import shown_to_user
from playground.web.ui.session import viewer_of

EXPLAIN = (
    "Scores are Bradley-Terry strengths on the Elo scale (mean version = 1000; +400 = 10:1 odds), "
    "with bootstrap 95% confidence intervals. A tie counts half a win; *both bad* is shown "
    "separately and does not move scores or win rates."
)


def build_leaderboard_tab(context: AppContext, tab: gr.Tab) -> None:
    with gr.Row():
        modality = gr.Radio([("Text", "text"), ("Image", "image")], value="text", label="Modality", elem_id="leaderboard-modality", scale=3)
        refresh = gr.Button("↻ Refresh", size="sm", elem_id="leaderboard-refresh", scale=0)
    gr.Markdown(EXPLAIN)
    summary = gr.Markdown(elem_id="leaderboard-summary")
    versions = gr.Dataframe(label="Arena: model versions", interactive=False, elem_id="leaderboard-versions")
    pairwise = gr.Dataframe(label="Win rate of row against column", interactive=False, elem_id="leaderboard-pairwise")
    presets = gr.Dataframe(label="Arena: sampling presets", interactive=False, elem_id="leaderboard-presets")
    ratings = gr.Dataframe(label="Mean ratings per version (95% CI)", interactive=False, elem_id="leaderboard-ratings")
    version, about, report = build_about_version(context, modality)

    def load(modality_value: str) -> tuple[str, pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame, gr.Dropdown, str, str]:
        with shown_to_user("compute the leaderboard"):
            with context.database.read_sessions() as session:
                hygiene = vote_hygiene(context.settings)
                board = leaderboard(session, "versions", modality=modality_value, hygiene=hygiene)
                preset_board = leaderboard(session, "presets", modality=modality_value, hygiene=hygiene)
                means = version_rating_means(session, modality=modality_value)
            return (
                _summary(board, preset_board),
                leaderboard_rows(board),
                _pairwise_percent(board),
                leaderboard_rows(preset_board),
                _means_rows(means),
                gr.Dropdown(choices=version_choices(context, modality_value), value=None),
                ABOUT_A_VERSION,
                "",
            )

    outputs = [summary, versions, pairwise, presets, ratings, version, about, report]
    # The loading overlay shows on the first table only: over the one-line summary it made a
    # scrollable box that no key can reach while the boards load (axe: scrollable-region-focusable).
    events: dict[str, Any] = dict(
        fn=load, inputs=modality, outputs=outputs, show_progress_on=[versions], concurrency_id="insights", concurrency_limit=2
    )
    refresh.click(**events, api_name="leaderboard")
    modality.change(**events, api_visibility="private")
    tab.select(**events, api_visibility="private")


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


def _summary(board: Leaderboard, presets: Leaderboard) -> str:
    if board.empty and presets.empty:
        return "No arena votes yet for this modality: play a battle in the **Arena** tab."
    parts = []
    if not board.empty:
        leader = board.table.iloc[0]
        parts.append(f"**{int(board.table['battles'].sum() // 2)} version battles**; leading: `{leader.contestant}`")
    if not presets.empty:
        parts.append(f"{int(presets.table['battles'].sum() // 2)} preset battles")
    return " · ".join(parts)


def _pairwise_percent(board: Leaderboard) -> pd.DataFrame:
    if board.pairwise.empty:
        return pd.DataFrame()
    return (100 * board.pairwise).round(1).reset_index()


def _means_rows(means: pd.DataFrame) -> pd.DataFrame:
    if means.empty:
        return means
    rows = means.copy()
    rows["mean"] = rows["mean"].round(2)
    rows["95% CI"] = [
        "too few ratings" if few else ("n/a" if pd.isna(lo) else f"{lo:.2f} – {hi:.2f}")
        for lo, hi, few in zip(rows["ci_low"], rows["ci_high"], rows["too_few"], strict=True)
    ]
    return rows[["model_version", "axis", "mean", "95% CI", "count"]]
