"""Per-version figures for admins (Insights tab, `playground report`) as pandas frames.

Every frame is long-form (one row per version and measure), ready for Gradio's plot components
and for matplotlib. `insights_for_admin` checks the role in the database on every call, as the
annotation queue does: a Gradio handler is an API endpoint whatever the UI hides.

Personal versions show as one version, "personal", in every per-version frame (not one line per
identity), and in a section of their own (playground/services/personal_insights.py).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from feedback_db.activity import FeedbackCounts, feedback_counts
from feedback_db.chain import ChainLink, version_chain
from feedback_db.frames import flags_frame, outputs_frame, ratings_frame, set_ratings_frame
from feedback_db.personal import personal_version_names
from feedback_db.runs import list_runs
from models.metrics import distinct_n, image_metrics, words
from playground.core.database import Database
from playground.services.annotation import require_annotator
from playground.services.confidence_insights import ConfidenceFigures, confidence_figures
from playground.services.feedback_drift import DriftReader, FeedbackDrift
from playground.services.personal_insights import PersonalFigures, as_one_personal, personal_figures

if TYPE_CHECKING:
    from PIL.Image import Image

SCORE_AXES = ("naturalness", "reliability")
MAX_IMAGES_PER_VERSION = 200  # automatic image metrics read files: a recent sample is enough
MAX_REPORT_CHARS = 20_000


@dataclass(frozen=True)
class Insights:
    modality: str
    counts: FeedbackCounts  # rated outputs and scores, as the footer and Your ratings count them
    scores: pd.DataFrame  # model_version, axis, score, count (the counts sum to counts.scores)
    trend_time: pd.DataFrame  # day, model_version, axis, mean
    trend_version: pd.DataFrame  # model_version, axis, mean, count, bar (versions in order of first use)
    latency: pd.DataFrame  # model_version, quantile (p50/p95), latency_s, bar (its x label)
    metrics: pd.DataFrame  # model_version, metric, value
    runs: pd.DataFrame  # one row per training run, report Markdown included
    flagged: pd.DataFrame  # flagged outputs with their reasons and comments
    personal: PersonalFigures = field(default_factory=PersonalFigures)  # personal versions, in counts
    confidence: ConfidenceFigures = field(default_factory=ConfidenceFigures)  # token confidence beside the ratings
    drift: FeedbackDrift | None = None  # recent feedback against what the active version was trained on (None: not read)
    chain: tuple[ChainLink, ...] = ()  # the global versions, oldest first, with their runs' figures

    @property
    def empty(self) -> bool:
        return bool(self.scores.empty and self.latency.empty and self.runs.empty)

    @property
    def versions(self) -> int:
        """Model versions with outputs in this modality."""
        return int(self.latency["model_version"].nunique()) if not self.latency.empty else 0


def insights_for_admin(
    database: Database, login: object, modality: str, since: datetime | None = None, drift: DriftReader | None = None
) -> Insights:
    """The figures, for an admin only (NotLoggedInError / NotAllowedError otherwise)."""
    require_annotator(database, login, admin=True)
    return read_insights(database, modality, since=since, drift=drift)


def read_insights(
    database: Database, modality: str, *, since: datetime | None = None, data_dir: Path | None = None, drift: DriftReader | None = None
) -> Insights:
    """`drift` reads the feedback-drift section (over all the feedback: `since` does not apply)."""
    with database.read_sessions() as session:
        personal = personal_version_names(session, modality=modality)
        ratings = as_one_personal(ratings_frame(session, modality=modality, since=since, include_withheld=True), personal)
        sets = as_one_personal(set_ratings_frame(session, modality=modality, since=since, include_withheld=True), personal)
        outputs = as_one_personal(outputs_frame(session, modality=modality, since=since, include_withheld=True), personal)
        flags = flags_frame(session)
        runs = _runs(session, modality)
        counts = feedback_counts(session, modality=modality, since=since)
        personal_section = personal_figures(session, modality, since=since)
        confidence = confidence_figures(session, modality, since=since, personal=personal)
        chain = tuple(version_chain(session, modality=modality))
    long = _long_scores(ratings, sets)
    return Insights(
        modality=modality,
        counts=counts,
        scores=_distribution(long),
        trend_time=_trend_time(long),
        trend_version=_trend_version(long, outputs),
        latency=_latency(outputs),
        metrics=_text_metrics(outputs) if modality == "text" else _image_metrics(outputs, data_dir),
        runs=runs,
        flagged=_flagged(outputs, ratings, flags),
        personal=personal_section,
        confidence=confidence,
        drift=drift.read(database, modality) if drift is not None else None,
        chain=chain,
    )


def _long_scores(ratings: pd.DataFrame, sets: pd.DataFrame) -> pd.DataFrame:
    parts = []
    if not ratings.empty:
        parts.append(
            ratings.melt(id_vars=["model_version", "created_at"], value_vars=list(SCORE_AXES), var_name="axis", value_name="score")
        )
    if not sets.empty:
        parts.append(sets.melt(id_vars=["model_version", "created_at"], value_vars=["diversity"], var_name="axis", value_name="score"))
    if not parts:
        return pd.DataFrame(columns=["model_version", "created_at", "axis", "score"])
    long = pd.concat(parts, ignore_index=True).dropna(subset=["score"])
    long["score"] = long["score"].astype(int)
    return long


def _distribution(long: pd.DataFrame) -> pd.DataFrame:
    if long.empty:
        return pd.DataFrame(columns=["model_version", "axis", "score", "count"])
    return long.groupby(["model_version", "axis", "score"]).size().reset_index(name="count")


def _trend_time(long: pd.DataFrame) -> pd.DataFrame:
    if long.empty:
        return pd.DataFrame(columns=["day", "model_version", "axis", "mean"])
    long = long.assign(day=long["created_at"].dt.tz_convert("UTC").dt.tz_localize(None).dt.floor("D"))
    return long.groupby(["day", "model_version", "axis"])["score"].mean().reset_index(name="mean")


def _trend_version(long: pd.DataFrame, outputs: pd.DataFrame) -> pd.DataFrame:
    if long.empty:
        return pd.DataFrame(columns=["model_version", "axis", "mean", "count", "bar"])
    first_seen = outputs.groupby("model_version")["request_created_at"].min().sort_values()
    trend = long.groupby(["model_version", "axis"])["score"].agg(mean="mean", count="count").reset_index()
    trend["order"] = trend["model_version"].map({v: i for i, v in enumerate(first_seen.index)})
    # One bar per version and axis: a line through one version's single point draws nothing,
    # and bars sharing an x would be stacked (naturalness on reliability).
    trend["bar"] = trend["model_version"] + " " + trend["axis"]
    return trend.sort_values(["order", "axis"]).drop(columns="order").reset_index(drop=True)


def _latency(outputs: pd.DataFrame) -> pd.DataFrame:
    if outputs.empty:
        return pd.DataFrame(columns=["model_version", "quantile", "latency_s", "bar"])
    grouped = outputs.groupby("model_version")["latency_ms"]
    frame = pd.concat({"p50": grouped.quantile(0.5), "p95": grouped.quantile(0.95)}, names=["quantile"])
    frame = (frame / 1000).rename("latency_s").reset_index()[["model_version", "quantile", "latency_s"]]
    # One bar per version and quantile side by side: bars sharing an x would be stacked (p50 on p95).
    frame["bar"] = frame["model_version"] + " " + frame["quantile"]
    return frame.sort_values(["model_version", "quantile"]).reset_index(drop=True)


def _text_metrics(outputs: pd.DataFrame) -> pd.DataFrame:
    """Mean words per output, and distinct-1/2 across the candidates of each request."""
    rows = []
    texts = outputs.dropna(subset=["text"]) if not outputs.empty else outputs
    for version, frame in texts.groupby("model_version") if not texts.empty else []:
        per_request = frame.groupby("request_id")["text"].apply(list)
        several = [t for t in per_request if len(t) > 1]
        rows += [
            {"model_version": version, "metric": "words", "value": float(frame["text"].map(words).mean())},
            {"model_version": version, "metric": "distinct-1", "value": _mean(distinct_n(t, 1) for t in several)},
            {"model_version": version, "metric": "distinct-2", "value": _mean(distinct_n(t, 2) for t in several)},
        ]
    return pd.DataFrame(rows, columns=["model_version", "metric", "value"]).dropna()


def _image_metrics(outputs: pd.DataFrame, data_dir: Path | None) -> pd.DataFrame:
    """Brightness, contrast and pairwise diversity (mean pixel distance within a request)."""
    from PIL import Image

    rows = []
    images = outputs.dropna(subset=["image_path"]) if not outputs.empty else outputs
    for version, frame in images.groupby("model_version") if not images.empty else []:
        frame = frame.tail(MAX_IMAGES_PER_VERSION)
        loaded = {row.output_id: _open(Image, row.image_path, data_dir) for row in frame.itertuples()}
        present = [image for image in loaded.values() if image is not None]
        if not present:
            continue
        summary = image_metrics(present)
        distances = []
        for _, ids in frame.groupby("request_id")["output_id"]:
            arrays = [np.asarray(image.resize((32, 32)), dtype=float) / 255 for i in ids if (image := loaded.get(i))]
            distances += [float(np.abs(a - b).mean()) for a, b in itertools.combinations(arrays, 2)]
        rows += [
            {"model_version": version, "metric": "brightness", "value": summary["mean_brightness"]},
            {"model_version": version, "metric": "contrast", "value": summary["mean_contrast"]},
            {"model_version": version, "metric": "pairwise diversity", "value": _mean(distances)},
        ]
    return pd.DataFrame(rows, columns=["model_version", "metric", "value"]).dropna()


def _open(image_module: ModuleType, path: str, data_dir: Path | None) -> Image | None:
    """The image at `path` (relative: under `data_dir`) as RGB, from PIL's `Image` module."""
    file = Path(path)
    if not file.is_absolute() and data_dir is not None:
        file = data_dir / file
    try:
        image: Image = image_module.open(file).convert("RGB")
        return image
    except OSError:
        return None  # a deleted image leaves a gap in the figures, not an error


def _mean(values: Iterable[float]) -> float:
    values = list(values)
    return float(np.mean(values)) if values else np.nan


def _runs(session: Session, modality: str) -> pd.DataFrame:
    rows = []
    for run in list_runs(session, modality=modality):
        rows.append(
            {
                "run": run.id,
                "status": run.status,
                "method": run.method,
                "started_at": run.started_at,
                "finished_at": run.finished_at,
                "data": run.data_counts,
                "error": run.error,
                "report": _report_text(run.report_path),
            }
        )
    return pd.DataFrame(rows, columns=["run", "status", "method", "started_at", "finished_at", "data", "error", "report"])


def _report_text(path: str | None) -> str:
    if not path:
        return ""
    try:
        return Path(path).read_text(encoding="utf-8")[:MAX_REPORT_CHARS]
    except OSError:
        return f"(report {path} is missing)"


def _flagged(outputs: pd.DataFrame, ratings: pd.DataFrame, flags: pd.DataFrame) -> pd.DataFrame:
    columns = ["output_id", "model_version", "prompt", "output", "reason", "comments", "flagged_at"]
    if flags.empty or outputs.empty:
        return pd.DataFrame(columns=columns)
    merged = flags.merge(outputs, on="output_id", how="inner")
    comments = (
        ratings.dropna(subset=["comment"]).groupby("output_id")["comment"].apply(" | ".join) if not ratings.empty else pd.Series(dtype=str)
    )
    # Looked up one by one: with no comment at all, a mapped column is float NaN, not text.
    merged["comments"] = [comments.get(output_id, "") for output_id in merged["output_id"]]
    merged["output"] = merged["text"].fillna(merged["image_path"])
    merged = merged.rename(columns={"created_at": "flagged_at"})
    return merged[columns].sort_values("flagged_at", ascending=False).reset_index(drop=True)
