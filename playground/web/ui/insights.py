"""The Insights tab (admins): per-version plots, the versions along the chain, personal versions in
counts, training runs with their reports, flagged outputs.

The same log-in as the Annotate tab (the caller's cookie names one session; logging in here or
there opens both); every handler re-checks the role on the server through `insights_for_admin`,
so anonymous and annotator calls to these endpoints are refused whatever the page shows.
"""

from __future__ import annotations

import html
from typing import Any

import gradio as gr
import pandas as pd

from playground.services.annotation import AnnotatorLogin
from playground.services.categories import TopicModel
from playground.services.feedback_drift import DriftReader, DriftThresholds
from playground.services.insights import Insights, insights_for_admin
from playground.services.personal_insights import OUTCOMES, PersonalFigures
from playground.serving.context import AppContext
from playground.web.ui.errors import shown_to_user
from playground.web.ui.insights_chain import build_chain_section, chain_updates
from playground.web.ui.insights_confidence import build_confidence_section, confidence_updates
from playground.web.ui.insights_drift import build_drift_section, drift_updates
from playground.web.ui.login import LOGIN_POOL, PageLogin, claimed_login, log_in_client, log_out_client, login_words
from playground.web.ui.wording import counts_words, plural, short_time

PUBLIC: dict[str, Any] = {"concurrency_id": "insights", "concurrency_limit": 2}
EMPTY = "No feedback for this modality yet: the plots appear once people generate and rate."
NO_PERSONAL = "No personal versions yet: `playground retrain` trains one for each identity with enough ratings."
NO_SCORES = "no scores yet: the score plots fill once people rate outputs"
NO_SCORES_TITLE = " (no scores yet)"  # on an empty score plot's title, so the frame says why
PLOT_MIN_WIDTH = 320  # two plots a row on a laptop, one on a phone (squeezed, their labels overlap)
MANY_BARS = 4  # past this many bars, their labels slant so that they do not overlap
Y_SCORE: list[float | None] = [0, 5]  # scores are 1-5; from 0 so that a mean of 1 still draws a bar
# Readable names for the flagged table, and widths that fit 1280 px (narrower screens scroll the
# table inside itself); Gradio's own widths squeezed `output_id` to one letter per line.
FLAGGED_COLUMNS = {
    "output_id": "Id",
    "model_version": "Version",
    "prompt": "Prompt",
    "output": "Output",
    "reason": "Reason",
    "comments": "Comments",
    "flagged_at": "Flagged (UTC)",
}
FLAGGED_WIDTHS: list[str | int] = [60, 110, 230, 300, 170, 160, 140]


def build_insights_tab(context: AppContext, page_login: PageLogin, topics: TopicModel) -> None:
    """`topics`: the app's MiniLM topic model (shared with the Leaderboard), for the feedback drift."""
    database = context.database
    drift = DriftReader(DriftThresholds.from_settings(context.settings), topics)
    who = gr.Markdown(elem_id="insights-who")  # the page's log-in, as the Annotate tab shows it
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
                x="score",
                y="count",
                color="model_version",
                title="Score distribution",
                y_aggregate="sum",
                min_width=PLOT_MIN_WIDTH,
                elem_id="insights-scores",
            )
            by_version = gr.BarPlot(
                x="bar",
                y="mean",
                color="axis",
                title="Mean score per version",
                x_title="version and axis",
                y_lim=Y_SCORE,
                min_width=PLOT_MIN_WIDTH,
                elem_id="insights-by-version",
            )
        with gr.Row():
            # Points, not a line: a line needs two days before it draws anything.
            over_time = gr.ScatterPlot(
                x="day",
                y="mean",
                color="model_version",
                title="Mean score per day (all axes)",
                x_title="day (UTC)",
                y_lim=Y_SCORE,
                min_width=PLOT_MIN_WIDTH,
                elem_id="insights-over-time",
            )
            latency = gr.BarPlot(
                x="bar",
                y="latency_s",
                color="quantile",
                title="Latency p50 / p95 (s)",
                x_title="version",
                min_width=PLOT_MIN_WIDTH,
                elem_id="insights-latency",
            )
        # A table, not bars: the metrics have different scales (words vs distinct-n in [0, 1]).
        metrics = gr.Dataframe(label="Automatic metrics per version", interactive=False, elem_id="insights-metrics")
        chain = build_chain_section()
        personal = gr.Markdown(elem_id="insights-personal")
        confidence = build_confidence_section()
        drift_section = build_drift_section()
        with gr.Accordion("Training runs and their reports", open=False):
            runs = gr.Markdown(elem_id="insights-runs")
        flagged = gr.Dataframe(label="Flagged outputs", interactive=False, wrap=True, max_chars=200, elem_id="insights-flagged")

    plots = [
        message,
        scores,
        by_version,
        over_time,
        latency,
        metrics,
        personal,
        runs,
        flagged,
        *confidence.outputs,
        *drift_section.outputs,
        *chain.outputs,
    ]

    def load(modality_value: str, request: gr.Request) -> list[Any]:
        with shown_to_user("load the insights"):
            figures = insights_for_admin(database, claimed_login(context, request), modality_value, drift=drift)
            return _updates(figures)

    def do_login(name_value: str, password_value: str, request: gr.Request) -> list[Any]:
        with shown_to_user("log in"):
            # Admins only: an annotator's password is refused before any session opens, so the
            # log-in already open on this page (and its reserved item) stays as it was.
            user = log_in_client(context, name_value, password_value, request, admin=True)
            figures = insights_for_admin(database, user, "text", drift=drift)
            return [gr.Column(visible=False), gr.Column(visible=True), "", login_words(user), *_updates(figures)]

    def follow(user: AnnotatorLogin | None, modality_value: str) -> list[Any]:
        """The page's log-in, changed in another tab or found on page load."""
        if user is None or not user.is_admin:
            return [gr.Column(visible=True), gr.Column(visible=False), gr.skip(), not_admin_words(user), *[gr.skip()] * len(plots)]
        with shown_to_user("load the insights"):
            figures = insights_for_admin(database, user, modality_value, drift=drift)
            return [gr.Column(visible=False), gr.Column(visible=True), gr.skip(), login_words(user), *_updates(figures)]

    def do_logout(request: gr.Request) -> list[Any]:
        with shown_to_user("log out"):
            log_out_client(context, request)
            return [gr.Column(visible=True), gr.Column(visible=False), ""]

    login_outputs = [login_box, work, password, who, *plots]
    logged_in_by_click = login_button.click(do_login, [name, password], login_outputs, api_name="insights_login", **LOGIN_POOL)
    logged_in_by_enter = password.submit(do_login, [name, password], login_outputs, api_visibility="private", **LOGIN_POOL)
    refresh.click(load, [modality], plots, api_name="insights", **PUBLIC)
    modality.change(load, [modality], plots, api_visibility="private", **PUBLIC)
    logged_out = logout.click(do_logout, None, [login_box, work, who], api_name="insights_logout", **PUBLIC)
    # One log-in per page, shown the same here and on the Annotate tab (playground/web/ui/login.py).
    page_login.announce("insights", [logged_in_by_click, logged_in_by_enter, logged_out])
    page_login.on_change("insights", follow, login_outputs, inputs=[modality], **PUBLIC)


def not_admin_words(user: AnnotatorLogin | None) -> str:
    """Above the form when no admin is logged in: who is, and why the insights stay closed."""
    if user is None:
        return ""
    return f"{login_words(user)} · Insights are for admins: an admin's log-in below replaces this one on this page."


def _updates(figures: Insights) -> list[Any]:
    trend = (
        figures.trend_time.groupby(["day", "model_version"])["mean"].mean().reset_index()
        if not figures.trend_time.empty
        else figures.trend_time
    )
    scores = figures.scores.assign(score=figures.scores["score"].astype(str)) if not figures.scores.empty else figures.scores
    why = "" if figures.counts.scores else NO_SCORES_TITLE
    return [
        insights_message(figures),
        gr.BarPlot(scores, title=f"Score distribution{why}"),
        # Bars in the versions' order of first use (Vega would sort the labels alphabetically).
        gr.BarPlot(
            figures.trend_version,
            title=f"Mean score per version{why}",
            sort=list(figures.trend_version["bar"]) or None,
            x_label_angle=-30 if len(figures.trend_version) > MANY_BARS else 0,
        ),
        gr.ScatterPlot(trend, title=f"Mean score per day (all axes){why}"),
        figures.latency,
        _metrics_table(figures.metrics),
        personal_markdown(figures.personal),
        _runs_markdown(figures.runs),
        flagged_table(figures.flagged),
        *confidence_updates(figures.confidence),
        *drift_updates(figures.drift),
        *chain_updates(figures.chain),
    ]


def insights_message(figures: Insights) -> str:
    """`Text: 2 rated outputs, 4 scores · 1 version with outputs.` (the footer's words), or why
    the plots are empty."""
    if figures.empty:
        return EMPTY
    counts = figures.counts
    counted = counts_words(counts) if counts.scores else f"{plural(counts.rated_outputs, 'rated output')}, {NO_SCORES}"
    return f"{figures.modality.capitalize()}: {counted} · {plural(figures.versions, 'version')} with outputs."


def personal_markdown(personal: PersonalFigures) -> str:
    """The personal-version section: counts and pooled figures, never an identity or a name."""
    if personal.empty:
        return f"### Personal versions\n{NO_PERSONAL}"
    mean = f"{personal.mean_rated_outputs:.0f}" if personal.mean_rated_outputs is not None else "-"
    known = [f"{personal.runs.get(outcome, 0)} {outcome.replace('-', ' ')}" for outcome in OUTCOMES]
    others = [f"{count} {outcome}" for outcome, count in personal.runs.items() if outcome not in OUTCOMES and count]
    duel = personal.against_global
    if duel.battles:
        arena = (
            f"won **{duel.win_rate:.0%}** (95% CI {duel.ci_low:.0%} – {duel.ci_high:.0%}) of {plural(duel.battles, 'ranked vote')} "
            f"against the global version, from {plural(personal.voters, 'identity', 'identities')}"
        )
    else:
        arena = "no ranked votes against the global version yet"
    return "\n".join(
        [
            "### Personal versions",
            f"- **{plural(personal.identities, 'identity', 'identities')}** served a personal version now; "
            f"mean rated outputs per active personal version: {mean}",
            f"- Personal runs by gate outcome: {' · '.join(known + others)}",
            f"- In their owners' own arena votes (ties half, both-bad left out), personal versions {arena}",
        ]
    )


def _metrics_table(metrics: pd.DataFrame) -> pd.DataFrame:
    """One row per version, one column per metric."""
    if metrics.empty:
        return pd.DataFrame(columns=["version"])
    table = metrics.pivot_table(index="model_version", columns="metric", values="value").round(3)
    return table.reset_index().rename_axis(columns=None).rename(columns={"model_version": "version"})


def _runs_markdown(runs: pd.DataFrame) -> str:
    if runs.empty:
        return "No training runs yet: `playground retrain` records them here."
    parts = []
    for run in runs.itertuples():
        head = f"#### Run {run.run} · {run.status} · {run.method or '-'} · started {short_time(run.started_at)} UTC"
        body = run.report or (f"Error: {html.escape(run.error)}" if run.error else "No report.")
        parts.append(f"{head}\n\n{body}")
    return "\n\n---\n\n".join(parts)


def flagged_table(flagged: pd.DataFrame) -> gr.Dataframe:
    # Gradio renders Dataframe cells as text, so markup in comments stays inert.
    if flagged.empty:
        return gr.Dataframe(pd.DataFrame({"Flagged outputs": ["None flagged."]}), column_widths=None)
    table = flagged.assign(flagged_at=flagged["flagged_at"].map(short_time)).rename(columns=FLAGGED_COLUMNS)
    return gr.Dataframe(table[list(FLAGGED_COLUMNS.values())], column_widths=FLAGGED_WIDTHS)
