"""The leaderboard's pictures (matplotlib): a forest plot of scores with 95% CIs, the pairwise
win-rate heatmap and votes per day. The Leaderboard tab shows them and `playground report`
writes them as PNGs: the same figures from the same `Standings`.

Each comes with a caption (`captions`) that says in words what the picture shows, for readers
who cannot see it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from feedback_db.leaderboard import Leaderboard
from playground.services.standings import Standings, plural

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def _figure(width: float, height: float) -> tuple[Figure, Any]:
    """A figure outside pyplot's registry (nothing to close, no window), and its axes."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height))
    return figure, figure.subplots()


def standings_figures(standings: Standings, *, style: bool = False) -> dict[str, Figure]:
    """name -> figure, for what has data: "forest", "heatmap", "votes-per-day"."""
    figures: dict[str, Figure] = {}
    board = standings.board
    table = board.style_table if style and board.style_table is not None else board.table
    if not table.empty:
        figures["forest"] = forest_plot(
            table, title="Scores with 95% CIs" + (" (style-controlled)" if style and board.style_table is not None else "")
        )
    if not board.pairwise.empty:
        figures["heatmap"] = win_rate_heatmap(board)
    if not standings.votes_per_day.empty:
        figures["votes-per-day"] = votes_per_day(standings.votes_per_day)
    return figures


def forest_plot(table: pd.DataFrame, *, title: str) -> Figure:
    """One row per version, best at the top: its score as a dot and its 95% CI as a line."""
    rows = table.sort_values("score", ascending=True)
    figure, axis = _figure(7, 0.45 * len(rows) + 1.4)
    y = np.arange(len(rows))
    score = rows["score"].to_numpy(dtype=float)
    low = rows["ci_low"].fillna(rows["score"]).to_numpy(dtype=float)
    high = rows["ci_high"].fillna(rows["score"]).to_numpy(dtype=float)
    # A line from bound to bound and a dot at the score (a bootstrap interval need not contain the point).
    axis.hlines(y, low, high, color="#1f4e99", linewidth=2)
    axis.plot(score, y, "o", color="#1f4e99")
    axis.set_yticks(y, [_label(name, rank) for name, rank in zip(rows["contestant"], rows["rank_ub"], strict=True)])
    axis.axvline(1000, color="#888888", linewidth=0.8, linestyle="--")
    axis.set_xlabel("score (Elo scale; mean version = 1000)")
    axis.set_title(title)
    figure.tight_layout()
    return figure


def _label(name: str, rank: object) -> str:
    """A version's row label: its name and Rank(UB); "too few votes" where it has no CI (no rank)."""
    return f"{name}  (too few votes)" if pd.isna(rank) else f"{name}  (rank {int(rank)})"  # type: ignore[call-overload]


def win_rate_heatmap(board: Leaderboard) -> Figure:
    """Win rate (%) of each row's version against each column's, printed in its cell."""
    order = list(board.table["contestant"])
    rates = 100 * board.pairwise.loc[order, order].to_numpy(dtype=float)
    size = len(order)
    figure, axis = _figure(1.1 * size + 2.5, 0.9 * size + 1.6)
    image = axis.imshow(np.ma.masked_invalid(rates), cmap="RdBu", vmin=0, vmax=100)
    for i in range(size):
        for j in range(size):
            if not np.isnan(rates[i, j]):
                axis.text(j, i, f"{rates[i, j]:.0f}", ha="center", va="center", color="black" if 25 < rates[i, j] < 75 else "white")
    axis.set_xticks(range(size), order, rotation=30, ha="right")
    axis.set_yticks(range(size), order)
    axis.set_xlabel("opponent")
    axis.set_ylabel("version")
    axis.set_title("Win rate of row against column (%)")
    figure.colorbar(image, ax=axis, label="win rate (%)")
    figure.tight_layout()
    return figure


def votes_per_day(per_day: pd.DataFrame) -> Figure:
    figure, axis = _figure(7, 3)
    axis.bar(per_day["day"], per_day["votes"], color="#1f4e99")
    axis.set_ylabel("votes")
    axis.set_xlabel("day (UTC)")
    axis.set_title("Arena votes per day")
    axis.tick_params(axis="x", rotation=30)
    figure.tight_layout()
    return figure


def captions(standings: Standings, *, style: bool = False) -> dict[str, str]:
    """name -> what the figure shows, in words (its alternative text)."""
    board = standings.board
    table = board.style_table if style and board.style_table is not None else board.table
    words: dict[str, str] = {}
    if not table.empty:
        best = table.sort_values("score", ascending=False).iloc[0]
        words["forest"] = (
            f"Forest plot: each version's score as a dot with its 95% CI as a line, {plural(len(table), 'version')}; "
            f"highest: {best['contestant']} at {best['score']:.0f}. The table above lists the same numbers."
        )
    if not board.pairwise.empty:
        words["heatmap"] = "Heatmap: how often the row's version beat the column's, in percent (blue: wins more, red: loses more)."
    if not standings.votes_per_day.empty:
        days = standings.votes_per_day
        busiest = days.loc[days["votes"].idxmax(), "day"]
        total = plural(int(days["votes"].sum()), "vote")
        words["votes-per-day"] = f"Votes per day: {total} over {plural(len(days), 'day')}, most on {busiest}."
    return words
