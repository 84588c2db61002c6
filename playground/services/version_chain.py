"""The chain of versions for admins: the table (playground/retrain/chain.py), a plot of the held-out
preference and of each capability figure along the versions, and sentences that say what the plot
shows, so that drift from the base model is seen at a glance (`playground versions list --chain`,
the Insights tab).

The plot is matplotlib, like the leaderboard's (playground/services/standings_figures.py): x is the
versions in the order they were trained; a line joins the versions that were served (the chain
itself), and each version's marker says whether it was promoted, refused or is still waiting.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from feedback_db.chain import ChainLink, version_chain
from playground.core.database import Database
from playground.retrain.chain import EXPLAINED, Side, capability_metrics, chain_table, figure_of, held_out, metric_words, outcome
from playground.services.standings import plural

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

CHAIN_COLOUR = "#1f4e99"
MARKERS: dict[str, dict[str, Any]] = {
    "promoted": {"marker": "o", "color": "#1a7f37", "markersize": 8},
    "refused": {"marker": "X", "color": "#b42318", "markersize": 9},
    "waiting": {"marker": "o", "color": "#6b6b6b", "markersize": 8, "markerfacecolor": "white"},
}
NO_VERSIONS = "No versions yet: `playground retrain` adds one per night with enough new feedback."
NO_CAPABILITY = "No capability figures yet: the runs so far were not measured on the capability set."


@dataclass(frozen=True)
class VersionChain:
    modality: str
    links: tuple[ChainLink, ...]

    @property
    def table(self) -> pd.DataFrame:
        return chain_table(self.links)


def read_version_chain(database: Database, modality: str) -> VersionChain:
    """The global versions of `modality`, oldest first, with their runs' figures."""
    with database.read_sessions() as session:
        return VersionChain(modality, tuple(version_chain(session, modality=modality)))


def win_share(link: ChainLink) -> float | None:
    """The share of held-out prompts the version won against its parent (ties left out)."""
    wins, losses = held_out(link, "wins"), held_out(link, "losses")
    if wins is None or losses is None or wins + losses == 0:
        return None
    return wins / (wins + losses)


def chain_figure(links: Sequence[ChainLink]) -> Figure | None:
    """One panel for the held-out share won, then one per capability metric; None without versions."""
    from matplotlib.figure import Figure

    if not links:
        return None
    metrics = capability_metrics(links)
    figure = Figure(figsize=(max(8.0, 0.6 * len(links) + 4), 2.0 * (1 + len(metrics)) + 1.0), layout="constrained")
    axes = figure.subplots(1 + len(metrics), 1, sharex=True, squeeze=False)[:, 0]
    _panel(axes[0], links, [win_share(link) for link in links], "held-out share won")
    axes[0].axhline(0.5, color="#888888", linewidth=0.8, linestyle="-.", label="level with its parent")
    axes[0].set_ylim(-0.05, 1.05)
    axes[0].set_title("Versions along the chain")
    for axis, metric in zip(axes[1:], metrics, strict=True):
        _panel(axis, links, [figure_of(link, "candidate", metric) for link in links], metric_words(metric))
        _base_lines(axis, links, metric)
    axes[-1].set_xticks(range(len(links)), [link.name for link in links], rotation=30, ha="right")
    # One legend for all panels, beside them: each style once, whichever panel drew it.
    handles = {label: handle for axis in axes for handle, label in zip(*axis.get_legend_handles_labels(), strict=True)}
    figure.legend(list(handles.values()), list(handles), loc="outside right upper", fontsize="small")
    return figure


def _panel(axis: Axes, links: Sequence[ChainLink], values: list[float | None], label: str) -> None:
    """The values as markers by outcome, and a line through the versions that were served."""
    y = np.array([np.nan if v is None else v for v in values], dtype=float)
    served = [i for i, link in enumerate(links) if outcome(link) == "promoted" and not np.isnan(y[i])]
    if len(served) > 1:
        axis.plot(served, y[served], color=CHAIN_COLOUR, linewidth=1.5, label="the served chain")
    for kind, style in MARKERS.items():
        shown = [i for i, link in enumerate(links) if outcome(link) == kind and not np.isnan(y[i])]
        if shown:
            axis.plot(shown, y[shown], linestyle="none", label=kind, **style)
    axis.set_ylabel(label)
    axis.grid(axis="y", color="#dddddd", linewidth=0.6)


def _base_lines(axis: Axes, links: Sequence[ChainLink], metric: str) -> None:
    """The base model's figure (dashed), and where a version counts as forgetting (dotted)."""
    base, tolerance = _latest(links, "base", metric), _latest(links, "tolerance", metric)
    if base is None:
        return
    axis.axhline(base, color="#888888", linewidth=0.8, linestyle="--", label="base model")
    if tolerance is not None:
        axis.axhline(base - tolerance, color=MARKERS["refused"]["color"], linewidth=0.8, linestyle=":", label="forgets below")


def _latest(links: Sequence[ChainLink], side: Side, metric: str) -> float | None:
    """The newest run's base figure or tolerance (the capability set's base stays the same)."""
    for link in reversed(links):
        value = figure_of(link, side, metric)
        if value is not None:
            return value
    return None


def drift_words(links: Sequence[ChainLink]) -> list[str]:
    """What the plot shows, in sentences: the outcomes, the held-out preference and, per capability
    metric, where the served chain stands against the base model."""
    if not links:
        return [NO_VERSIONS]
    kinds: list[str] = [outcome(link) for link in links]
    counts = ", ".join(f"{kinds.count(kind)} {kind}" for kind in MARKERS if kinds.count(kind))
    lines = [f"{plural(len(links), 'version')} along the chain ({counts})."]
    shares = [(link.name, share) for link in links if (share := win_share(link)) is not None]
    if shares:
        low, high = min(shares, key=lambda s: s[1]), max(shares, key=lambda s: s[1])
        lines.append(f"Held-out prompts won against the parent: from {low[1]:.0%} ({low[0]}) to {high[1]:.0%} ({high[0]}), ties left out.")
    metrics = capability_metrics(links)
    lines += [_metric_words(links, metric) for metric in metrics] if metrics else [NO_CAPABILITY]
    return lines


def _metric_words(links: Sequence[ChainLink], metric: str) -> str:
    """`exact answers: base 0.620; latest served text-v3 0.600, lowest served 0.580 (text-v2); 1 version forgets it.`"""
    base = _latest(links, "base", metric)
    served = [(link.name, v) for link in links if outcome(link) == "promoted" and (v := figure_of(link, "candidate", metric)) is not None]
    forgets = sum(1 for link in links if metric in ((link.capability or {}).get("forgets") or []))
    words = f"{metric_words(metric)}: base {_number(base)}"
    if served:
        lowest = min(served, key=lambda s: s[1])
        words += f"; latest served {served[-1][0]} {served[-1][1]:.3f}, lowest served {lowest[1]:.3f} ({lowest[0]})"
    else:
        words += "; no served version measured"
    return words + (f"; {plural(forgets, 'version')} refused for forgetting it." if forgets else ".")


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def chain_caption(links: Sequence[ChainLink]) -> str:
    """The words under the plot and the table: what drifted, and how to read the columns."""
    return "\n".join(f"- {line}" for line in drift_words(links)) + ("\n\n" + EXPLAINED if links else "")
