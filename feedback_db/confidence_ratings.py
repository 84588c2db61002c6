"""Does token confidence mean anything here? Rated outputs' mean token confidence beside the
scores, flags and "wrong" reasons people gave them, per version (the Insights section).

`confidence_frame` reads one row per *rated output* (feedback_db/activity.py: at least one score or
thumb) of a modality; `confidence_mean` is NaN where the output has no confidence data (older
rows, backends that report none). Outputs the content filter withheld are left out: their raters
saw a notice, not the text. Flagged outputs stay in: a flag is part of what the figures show.

`confidence_deciles` and `confidence_correlation` are pure functions of that frame. A version is
measured only once it has `MIN_OUTPUTS` rated outputs with confidence: below that a decile holds
a handful of outputs and its mean says little.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from feedback_db.activity import RATED
from feedback_db.reasons import parse_reason
from feedback_db.schema import Flag, Output, Rating, Request

MIN_OUTPUTS = 50  # rated outputs with confidence a version needs before it is measured
DECILES = 10
WRONG_CHIP = "wrong"  # feedback_db/reasons.py: the chip for an answer that is not true
SCORE_AXES = ("reliability", "naturalness")
FRAME_COLUMNS = ["output_id", "model_version", "confidence_mean", "confidence_min", *SCORE_AXES, "flagged", "wrong"]
DECILE_COLUMNS = ["model_version", "decile", "confidence_from", "confidence_to", "outputs", *SCORE_AXES, "flagged_or_wrong"]
CORRELATION_COLUMNS = ["model_version", "axis", "outputs", "spearman", "p_value"]


def confidence_frame(session: Session, *, modality: str = "text", since: datetime | None = None) -> pd.DataFrame:
    """One row per rated output (FRAME_COLUMNS): its confidence, its mean scores over every rater,
    whether anyone flagged it, and whether any rating or flag gave "wrong" as a reason."""
    # 1. The rated outputs with their confidence and mean scores (one GROUP BY over the ratings).
    statement = _outputs_of(
        select(
            Output.id.label("output_id"),
            Request.model_version,
            Output.confidence_mean,
            Output.confidence_min,
            func.avg(Rating.reliability).label("reliability"),
            func.avg(Rating.naturalness).label("naturalness"),
        ).join(Rating, Rating.output_id == Output.id),
        modality,
        since,
    ).where(RATED)
    grouped = statement.group_by(Output.id, Request.model_version, Output.confidence_mean, Output.confidence_min).order_by(Output.id)
    frame = pd.read_sql(grouped, session.connection())
    if frame.empty:
        return pd.DataFrame(columns=FRAME_COLUMNS)
    # 2. Flags and rating reasons of the same outputs (few: reasons come with thumbs-down and flags).
    flag_rows = select(Flag.output_id, Flag.reason).join(Output, Flag.output_id == Output.id)
    reason_rows = select(Rating.output_id, Rating.reason).join(Output, Rating.output_id == Output.id).where(Rating.reason.is_not(None))
    flags = session.execute(_outputs_of(flag_rows, modality, since)).all()
    reasons = session.execute(_outputs_of(reason_rows, modality, since)).all()
    wrong = {output_id for output_id, reason in [*flags, *reasons] if WRONG_CHIP in parse_reason(reason).chips}
    frame["flagged"] = frame["output_id"].isin({output_id for output_id, _ in flags})
    frame["wrong"] = frame["output_id"].isin(wrong)
    for column in ("confidence_mean", "confidence_min", *SCORE_AXES):
        frame[column] = frame[column].astype(float)
    return frame[FRAME_COLUMNS]


def _outputs_of(statement: Select[*tuple[Any, ...]], modality: str, since: datetime | None) -> Select[*tuple[Any, ...]]:
    """`statement` (which selects from outputs) limited to the modality's outputs that the content
    filter let through, of requests made `since`."""
    statement = statement.join(Request, Output.request_id == Request.id).where(Request.modality == modality, Output.moderation.is_(None))
    return statement if since is None else statement.where(Request.created_at >= since)


def with_confidence(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows with confidence data."""
    return frame[frame["confidence_mean"].notna()]


def measured_versions(frame: pd.DataFrame) -> list[str]:
    """Versions with at least MIN_OUTPUTS rated outputs with confidence, in name order."""
    counts = with_confidence(frame)["model_version"].value_counts()
    return sorted(str(version) for version in counts[counts >= MIN_OUTPUTS].index)


def confidence_deciles(frame: pd.DataFrame) -> pd.DataFrame:
    """Per measured version, its rated outputs in ten groups by mean confidence (lowest first;
    fewer where many share a value), each with its confidence range, count, mean scores and the
    share flagged or marked "wrong"."""
    parts = []
    for version in measured_versions(frame):
        rows = with_confidence(frame[frame["model_version"] == version])
        bins = pd.qcut(rows["confidence_mean"], DECILES, labels=False, duplicates="drop")
        grouped = rows.assign(decile=bins + 1, flagged_or_wrong=rows["flagged"] | rows["wrong"]).groupby("decile")
        table = grouped.agg(
            confidence_from=("confidence_mean", "min"),
            confidence_to=("confidence_mean", "max"),
            outputs=("output_id", "count"),
            reliability=("reliability", "mean"),
            naturalness=("naturalness", "mean"),
            flagged_or_wrong=("flagged_or_wrong", "mean"),
        )
        parts.append(table.reset_index().assign(model_version=version))
    if not parts:
        return pd.DataFrame(columns=DECILE_COLUMNS)
    return pd.concat(parts, ignore_index=True)[DECILE_COLUMNS]


def confidence_correlation(frame: pd.DataFrame) -> pd.DataFrame:
    """Per measured version and score axis: Spearman's rank correlation between an output's mean
    confidence and its mean score (positive: surer answers were rated higher), with its p-value."""
    rows = []
    for version in measured_versions(frame):
        measured = with_confidence(frame[frame["model_version"] == version])
        for axis in SCORE_AXES:
            pairs = measured[["confidence_mean", axis]].dropna()
            rho, p_value = _spearman(pairs["confidence_mean"], pairs[axis])
            rows.append({"model_version": version, "axis": axis, "outputs": len(pairs), "spearman": rho, "p_value": p_value})
    return pd.DataFrame(rows, columns=CORRELATION_COLUMNS)


def _spearman(x: pd.Series, y: pd.Series) -> tuple[float, float]:
    """rho and its p-value; NaN for both where either side is constant or there are under 3 pairs."""
    if len(x) < 3 or x.nunique() < 2 or y.nunique() < 2:
        return np.nan, np.nan
    result = spearmanr(x, y)
    return float(result.statistic), float(result.pvalue)
