"""Insights' "Token confidence and ratings": per text version, whether the outputs the model was
less sure of were rated lower, flagged, or marked "wrong".

The figures come from feedback_db/confidence_ratings.py: rated outputs in ten groups by their
mean token confidence, and Spearman's rank correlation between that mean and each score. A
version with fewer than `MIN_OUTPUTS` rated outputs with confidence is listed with its count
instead (older outputs and backends that report no confidence have none). Personal versions are
one version, "personal", as everywhere in Insights.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd
from sqlalchemy.orm import Session

from feedback_db.confidence_ratings import (
    CORRELATION_COLUMNS,
    DECILE_COLUMNS,
    MIN_OUTPUTS,
    confidence_correlation,
    confidence_deciles,
    confidence_frame,
    measured_versions,
    with_confidence,
)
from playground.services.personal_insights import as_one_personal

TEXT_ONLY = "Token confidence is reported for text only."
NO_RATED = "No rated text outputs yet: the tables fill once people rate answers that came with token confidence."
DECILE_HEADERS = {
    "model_version": "Version",
    "decile": "Decile",
    "confidence": "Mean confidence",
    "outputs": "Outputs",
    "reliability": "Reliability",
    "naturalness": "Naturalness",
    "flagged_or_wrong": "Flagged or wrong",
}
P_FLOOR = 0.001  # smaller p-values read "< 0.001"
CORRELATION_HEADERS = {"model_version": "Version", "axis": "Score", "outputs": "Outputs", "spearman": "Spearman rho", "p_value": "p-value"}


@dataclass(frozen=True)
class Waiting:
    """A version not measured yet: its rated outputs with confidence, and all its rated outputs."""

    model_version: str
    with_confidence: int
    rated: int

    @property
    def words(self) -> str:
        return (
            f"`{self.model_version}`: not enough rated outputs with confidence yet "
            f"({self.with_confidence} of {MIN_OUTPUTS} needed; {self.rated} rated outputs in all)"
        )


@dataclass(frozen=True)
class ConfidenceFigures:
    modality: str = "text"
    deciles: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=DECILE_COLUMNS))
    correlation: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=CORRELATION_COLUMNS))
    waiting: list[Waiting] = field(default_factory=list)  # versions with rated outputs, not measured yet

    @property
    def measured(self) -> bool:
        return not self.deciles.empty


def confidence_figures(
    session: Session, modality: str, *, since: datetime | None = None, personal: Collection[str] = ()
) -> ConfidenceFigures:
    """The section's figures for `modality` (text only has confidence); `personal` names the
    personal versions, shown as one."""
    if modality != "text":
        return ConfidenceFigures(modality)
    # 1. One row per rated output, personal versions as one.
    frame = as_one_personal(confidence_frame(session, modality=modality, since=since), personal)
    # 2. The measured versions' deciles and correlations; the others with their counts.
    measured = set(measured_versions(frame))
    rated = frame["model_version"].value_counts()
    confident = with_confidence(frame)["model_version"].value_counts()
    waiting = [Waiting(str(v), int(confident.get(v, 0)), int(rated[v])) for v in sorted(rated.index) if v not in measured]
    return ConfidenceFigures(modality, confidence_deciles(frame), confidence_correlation(frame), waiting)


def decile_table(figures: ConfidenceFigures) -> pd.DataFrame:
    """The deciles as people read them (Insights, `playground report`): a confidence range, counts,
    scores to two decimals, and the flagged-or-wrong share as a percentage."""
    deciles = figures.deciles
    if deciles.empty:
        return pd.DataFrame(columns=list(DECILE_HEADERS))
    table = pd.DataFrame(
        {
            "model_version": deciles["model_version"],
            "decile": deciles["decile"].astype(int),
            "confidence": [f"{low:.2f}–{high:.2f}" for low, high in zip(deciles["confidence_from"], deciles["confidence_to"], strict=True)],
            "outputs": deciles["outputs"].astype(int),
            "reliability": deciles["reliability"].round(2),
            "naturalness": deciles["naturalness"].round(2),
            "flagged_or_wrong": [f"{share:.0%}" for share in deciles["flagged_or_wrong"]],
        }
    )
    return table.rename(columns=DECILE_HEADERS)


def correlation_table(figures: ConfidenceFigures) -> pd.DataFrame:
    """One row per measured version and score: Spearman's rho and its p-value, rounded ("n/a"
    where every output got the same score, so there is no order to correlate)."""
    correlation = figures.correlation
    if correlation.empty:
        return pd.DataFrame(columns=list(CORRELATION_HEADERS))
    spearman = ["n/a" if pd.isna(rho) else f"{rho:.2f}" for rho in correlation["spearman"]]
    p_value = ["n/a" if pd.isna(p) else "< 0.001" if p < P_FLOOR else f"{p:.3f}" for p in correlation["p_value"]]
    return correlation.assign(spearman=spearman, p_value=p_value).rename(columns=CORRELATION_HEADERS)


def waiting_words(figures: ConfidenceFigures) -> str:
    """Why some or all versions have no table yet, one line each (empty when all are measured)."""
    if figures.modality != "text":
        return TEXT_ONLY
    if not figures.waiting and not figures.measured:
        return NO_RATED
    return "\n".join(f"- {waiting.words}" for waiting in figures.waiting)
