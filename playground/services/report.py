"""`playground report`: the leaderboards, per-version figures, the chain of versions and the
feedback drift as Markdown, plots as PNG.

Meant for a nightly mail or a wiki page: `report.md` links the PNGs written beside it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from feedback_db.hygiene import VoteHygiene
from models.text_embedding import SentenceEmbedder
from playground.core.database import Database
from playground.core.markdown import markdown_table
from playground.core.settings import Settings
from playground.services.categories import ALL, TopicModel
from playground.services.confidence_insights import correlation_table, decile_table, waiting_words
from playground.services.feedback_drift import DriftReader, DriftThresholds
from playground.services.insights import Insights, read_insights
from playground.services.standings import Standings, plural, read_standings, standings_view
from playground.services.standings_figures import captions, standings_figures
from playground.services.version_chain import NO_VERSIONS, chain_figure, drift_words, read_version_chain
from playground.services.vote_hygiene import vote_hygiene

if TYPE_CHECKING:
    from matplotlib.figure import Figure


@dataclass
class Report:
    markdown: str
    figures: dict[str, Figure] = field(default_factory=dict)  # file name -> figure


def build_report(database: Database, settings: Settings, *, modalities: tuple[str, ...], since: datetime | None, rounds: int) -> Report:
    lines = ["# Playground report", ""]
    if since is not None:
        lines += [f"Feedback since {since:%Y-%m-%d}.", ""]
    figures: dict[str, Figure] = {}
    topics = TopicModel(SentenceEmbedder().embed)
    for modality in modalities:
        standings = read_standings(database, modality, since=since, rounds=rounds, topics=topics, hygiene=vote_hygiene(settings))
        insights = read_insights(database, modality, since=since, data_dir=settings.data_dir)
        lines += [f"## {modality.capitalize()}", ""]
        arena_lines, arena_figures = arena_section(standings)
        lines += arena_lines
        figures.update(arena_figures)
        lines += categories_section(database, standings, since=since, rounds=rounds, topics=topics, hygiene=vote_hygiene(settings))
        lines += ["", "### Latency (s)", "", markdown_table(insights.latency.drop(columns="bar").round(2), "No outputs yet.")]
        lines += ["", "### Automatic metrics", "", markdown_table(insights.metrics.round(3), "No outputs yet.")]
        if modality == "text":
            lines += ["", "### Token confidence and ratings", "", waiting_words(insights.confidence)]
            lines += ["", markdown_table(decile_table(insights.confidence), "No version measured yet.")]
            lines += ["", markdown_table(correlation_table(insights.confidence), "No version measured yet.")]
        for name, figure in _figures(insights).items():
            file_name = f"{modality}-{name}.png"
            figures[file_name] = figure
            lines += ["", f"![{modality} {name}]({file_name})"]
        chain_lines, chain_figures = chain_section(database, modality)
        lines += chain_lines
        figures.update(chain_figures)
        drift = DriftReader(DriftThresholds.from_settings(settings), topics)
        lines += ["", "### Feedback drift", "", *drift.report_lines(database, modality)]
        lines.append("")
    return Report("\n".join(lines), figures)


def arena_section(standings: Standings) -> tuple[list[str], dict[str, Figure]]:
    """The Leaderboard tab's tables, sentences and figures for one modality, as Markdown and PNGs
    (playground/services/standings.py: the same view as the page's)."""
    modality, view = standings.modality, standings_view(standings)
    lines = [view.summary, ""]
    if view.votes_line:
        lines += [view.votes_line, ""]
    lines += ["### Arena: model versions", "", markdown_table(view.versions, view.versions_note)]
    if view.style_available:
        styled = standings_view(standings, style=True)
        lines += ["", "### Arena: model versions, style-controlled", "", markdown_table(styled.versions, styled.versions_note)]
        lines += ["", "### Style control: effect of each style feature", "", markdown_table(styled.coefficients, "Not fitted.")]
    lines += ["", "### Win rate of row against column (%)", "", markdown_table(view.pairwise, view.versions_note)]
    lines += ["", "### Arena: sampling presets", "", markdown_table(view.presets, view.presets_note)]
    lines += ["", "### Mean ratings per version (1–5, 95% CI)", "", markdown_table(view.ratings, view.ratings_note)]
    figures: dict[str, Figure] = {}
    words = captions(standings)
    for name, figure in standings_figures(standings).items():
        file_name = f"{modality}-arena-{name}.png"
        figures[file_name] = figure
        lines += ["", f"![{words[name]}]({file_name})"]
    return lines, figures


def chain_section(database: Database, modality: str) -> tuple[list[str], dict[str, Figure]]:
    """The versions along the chain, as the Insights tab shows them: sentences, table and plot."""
    chain = read_version_chain(database, modality)
    lines = ["", "### Versions along the chain", "", *drift_words(chain.links), "", markdown_table(chain.table, NO_VERSIONS)]
    figure = chain_figure(chain.links)
    if figure is None:
        return lines, {}
    file_name = f"{modality}-chain.png"
    return [*lines, "", f"![{modality} versions along the chain]({file_name})"], {file_name: figure}


def categories_section(
    database: Database, standings: Standings, *, since: datetime | None, rounds: int, topics: TopicModel, hygiene: VoteHygiene | None
) -> list[str]:
    """Each category with votes, as the page's category picker shows it: its versions table."""
    lines: list[str] = []
    for category in standings.categories:
        if category.key == ALL or category.votes == 0:
            continue
        chosen = read_standings(
            database, standings.modality, since=since, rounds=rounds, category=category.key, topics=topics, hygiene=hygiene
        )
        view = standings_view(chosen)
        lines += [
            "",
            f"### Category: {category.label} ({plural(category.votes, 'vote')})",
            "",
            markdown_table(view.versions, view.versions_note),
        ]
    return lines


def write_report(report: Report, out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    for file_name, figure in report.figures.items():
        figure.savefig(out_dir / file_name, dpi=100, bbox_inches="tight")
    path = out_dir / "report.md"
    path.write_text(report.markdown, encoding="utf-8")
    return path


def _figures(insights: Insights) -> dict[str, Figure]:
    """Score distribution, mean score per version and latency, each as one matplotlib figure."""
    import matplotlib

    matplotlib.use("Agg")  # files only, never a window
    import matplotlib.pyplot as plt

    figures: dict[str, Figure] = {}
    if not insights.scores.empty:
        pivot = insights.scores.pivot_table(index="score", columns=["axis", "model_version"], values="count", fill_value=0)
        figure, axis = plt.subplots(figsize=(8, 4))
        pivot.plot.bar(ax=axis, title="Score distribution per version and axis", rot=0)
        axis.set_ylabel("ratings")
        figures["scores"] = figure
    if not insights.trend_version.empty:
        pivot = insights.trend_version.pivot_table(index="model_version", columns="axis", values="mean", sort=False)
        figure, axis = plt.subplots(figsize=(8, 4))
        pivot.plot(ax=axis, marker="o", title="Mean score per version (in order of first use)", ylim=(1, 5))
        figures["trend"] = figure
    if not insights.latency.empty:
        pivot = insights.latency.pivot_table(index="model_version", columns="quantile", values="latency_s")
        figure, axis = plt.subplots(figsize=(8, 4))
        pivot.plot.bar(ax=axis, title="Latency per output (s)", rot=0)
        figures["latency"] = figure
    return figures
