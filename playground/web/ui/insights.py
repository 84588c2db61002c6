"""The Insights tab (admins): per-version plots, training runs with their reports, flagged outputs.

The same log-in as the Annotate tab (the caller's cookie names one session; logging in here or
there opens both); every handler re-checks the role on the server through `insights_for_admin`,
so anonymous and annotator calls to these endpoints are refused whatever the page shows.
"""

from __future__ import annotations

import html
from typing import Any

import gradio as gr
import pandas as pd

from playground.core.errors import NotAllowedError
from playground.services.insights import Insights, insights_for_admin
from playground.serving.context import AppContext
from playground.web.ui.errors import shown_to_user
from playground.web.ui.login import LOGIN_POOL, claimed_login, log_in_client, log_out_client

PUBLIC: dict[str, Any] = {"concurrency_id": "insights", "concurrency_limit": 2}
EMPTY = "No feedback for this modality yet: the plots appear once people generate and rate."


def build_insights_tab(context: AppContext) -> None:
    database = context.database
    with gr.Column(elem_id="insights-login") as login_box:
        gr.Markdown("### Admin log-in\nInsights are for admins (`playground users add NAME --role admin`).")
        name = gr.Textbox(label="Name", max_lines=1, elem_id="insights-name")
        password = gr.Textbox(label="Password", type="password", max_lines=1, elem_id="insights-password")
        login_button = gr.Button("Log in", variant="primary", elem_id="insights-login-button")
    with gr.Column(visible=False, elem_id="insights-work") as work:
        with gr.Row():
            modality = gr.Radio(
                [("Text", "text"), ("Image", "image")], value="text", label="Modality", elem_id="insights-modality", scale=3
            )
            refresh = gr.Button("↻ Refresh", size="sm", elem_id="insights-refresh", scale=0)
            logout = gr.Button("Log out", size="sm", elem_id="insights-logout", scale=0)
        message = gr.Markdown(elem_id="insights-message")
        with gr.Row():
            scores = gr.BarPlot(
                x="score", y="count", color="model_version", title="Score distribution", y_aggregate="sum", elem_id="insights-scores"
            )
            by_version = gr.LinePlot(
                x="model_version", y="mean", color="axis", title="Mean score per version", y_lim=[1, 5], elem_id="insights-by-version"
            )
        with gr.Row():
            over_time = gr.LinePlot(
                x="day",
                y="mean",
                color="model_version",
                title="Mean score per day (all axes)",
                y_aggregate="mean",
                y_lim=[1, 5],
                elem_id="insights-over-time",
            )
            latency = gr.BarPlot(
                x="bar", y="latency_s", color="quantile", title="Latency p50 / p95 (s)", x_title="version", elem_id="insights-latency"
            )
        # A table, not bars: the metrics have different scales (words vs distinct-n in [0, 1]).
        metrics = gr.Dataframe(label="Automatic metrics per version", interactive=False, elem_id="insights-metrics")
        with gr.Accordion("Training runs and their reports", open=False):
            runs = gr.Markdown(elem_id="insights-runs")
        flagged = gr.Dataframe(label="Flagged outputs", interactive=False, wrap=True, elem_id="insights-flagged")

    plots = [message, scores, by_version, over_time, latency, metrics, runs, flagged]

    def load(modality_value: str, request: gr.Request) -> list[Any]:
        with shown_to_user("load the insights"):
            figures = insights_for_admin(database, claimed_login(context, request), modality_value)
            return _updates(figures)

    def do_login(name_value: str, password_value: str, request: gr.Request) -> list[Any]:
        with shown_to_user("log in"):
            user = log_in_client(context, name_value, password_value, request)
            try:
                figures = insights_for_admin(database, user, "text")
            except NotAllowedError:
                log_out_client(context, request)  # an annotator's log-in here opens nothing
                raise
            return [gr.Column(visible=False), gr.Column(visible=True), "", *_updates(figures)]

    def do_logout(request: gr.Request) -> list[gr.Column]:
        with shown_to_user("log out"):
            log_out_client(context, request)
            return [gr.Column(visible=True), gr.Column(visible=False)]

    login_button.click(do_login, [name, password], [login_box, work, password, *plots], api_name="insights_login", **LOGIN_POOL)
    password.submit(do_login, [name, password], [login_box, work, password, *plots], api_visibility="private", **LOGIN_POOL)
    refresh.click(load, [modality], plots, api_name="insights", **PUBLIC)
    modality.change(load, [modality], plots, api_visibility="private", **PUBLIC)
    logout.click(do_logout, None, [login_box, work], api_name="insights_logout", **PUBLIC)


def _updates(figures: Insights) -> list[Any]:
    trend = (
        figures.trend_time.groupby(["day", "model_version"])["mean"].mean().reset_index()
        if not figures.trend_time.empty
        else figures.trend_time
    )
    scores = figures.scores.assign(score=figures.scores["score"].astype(str)) if not figures.scores.empty else figures.scores
    return [
        EMPTY
        if figures.empty
        else f"{int(figures.scores['count'].sum()) if not figures.scores.empty else 0} scores, "
        f"{figures.latency['model_version'].nunique() if not figures.latency.empty else 0} versions with outputs.",
        scores,
        figures.trend_version,
        trend,
        figures.latency,
        _metrics_table(figures.metrics),
        _runs_markdown(figures.runs),
        _flagged_rows(figures.flagged),
    ]


def _metrics_table(metrics: pd.DataFrame) -> pd.DataFrame:
    """One row per version, one column per metric."""
    if metrics.empty:
        return pd.DataFrame(columns=["model_version"])
    table = metrics.pivot_table(index="model_version", columns="metric", values="value").round(3)
    return table.reset_index().rename_axis(columns=None)


def _runs_markdown(runs: pd.DataFrame) -> str:
    if runs.empty:
        return "No training runs yet: `playground retrain` records them here."
    parts = []
    for run in runs.itertuples():
        head = f"#### Run {run.run} · {run.status} · {run.method or '-'} · started {run.started_at:%Y-%m-%d %H:%M}"
        body = run.report or (f"Error: {html.escape(run.error)}" if run.error else "No report.")
        parts.append(f"{head}\n\n{body}")
    return "\n\n---\n\n".join(parts)


def _flagged_rows(flagged: pd.DataFrame) -> pd.DataFrame:
    # Gradio renders Dataframe cells as text, so markup in comments stays inert.
    return flagged if not flagged.empty else pd.DataFrame({"flagged outputs": ["None flagged."]})
