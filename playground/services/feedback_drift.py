"""Feedback drift: does recent feedback differ from what the active version was trained on?

"Then" is the feedback up to when the active global version's training run read it; "now" is
the feedback since. With no trained version yet, "now" is the last `recent_days` days and "then"
everything before. Four things are compared (thresholds: Settings.drift_*, justified in
docs/RETRAIN.md, "Feedback drift"):

1. the prompt mix: the cosine distance between the mean MiniLM vectors of the prompts then and
   now, and the topic clusters' shares (playground/services/categories.py TopicModel, fitted on
   both sides together) as a total variation distance (the share of prompts that would have to
   change topic to turn one mix into the other);
2. the mean score per axis (naturalness, reliability, diversity), and the same means by week;
3. the share of outputs with feedback that someone flagged.

A measure needs `min_feedback` items on each side; with fewer it says so instead of guessing.
The queries are feedback_db/drift.py; everything here is pandas and numpy on their frames.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

import numpy as np
import pandas as pd

from feedback_db.drift import feedback_outputs, feedback_prompts, feedback_scores, trained_cutoff
from models.text_embedding import SentenceEmbedder
from playground.core.database import Database
from playground.core.settings import Settings
from playground.services.categories import TopicModel

AXES = ("naturalness", "reliability", "diversity")
WEEKLY_COLUMNS = ["week", "axis", "mean", "count"]
TOPIC_COLUMNS = ["topic", "name", "then", "now"]
Status = Literal["moved", "steady", "too-little"]
Kind = Literal["distance", "share", "score"]
UNITS = {"distance": "prompts", "score": "scores", "share": "outputs"}  # what a measure of each kind counts


@dataclass(frozen=True)
class DriftThresholds:
    min_feedback: int = 30
    prompt_distance: float = 0.15
    topic_shift: float = 0.25
    score: float = 0.5
    flagged: float = 0.1
    recent_days: int = 7

    @classmethod
    def from_settings(cls, settings: Settings) -> DriftThresholds:
        return cls(
            settings.drift_min_feedback,
            settings.drift_prompt_distance,
            settings.drift_topic_shift,
            settings.drift_score,
            settings.drift_flagged,
            settings.drift_recent_days,
        )


@dataclass(frozen=True)
class DriftFrames:
    """One modality's feedback with its times (feedback_db/drift.py)."""

    prompts: pd.DataFrame  # request_id, prompt, at
    scores: pd.DataFrame  # at, axis, score
    outputs: pd.DataFrame  # output_id, at, flagged


@dataclass(frozen=True)
class Baseline:
    """Where "then" ends: `version` (None: no version trained yet) read its feedback at `cutoff`."""

    version: str | None
    cutoff: pd.Timestamp

    @property
    def words(self) -> str:
        when = f"{self.cutoff:%d %b %Y %H:%M} UTC"
        if self.version is None:
            return f"the feedback before {when} (no version trained yet: the last days against everything before)"
        return f"what `{self.version}` was trained on (the feedback before {when})"


@dataclass(frozen=True)
class Measure:
    name: str  # "prompt mix (embedding distance)", "reliability mean", ...
    kind: Kind
    then: float | None  # the value then (None for a distance, which has one value)
    now: float | None
    change: float | None  # now - then, or the distance; None: too little feedback
    threshold: float
    then_count: int
    now_count: int

    @property
    def moved(self) -> bool | None:
        """True past the threshold, False within it, None with too little feedback to tell."""
        return None if self.change is None else bool(abs(self.change) > self.threshold)

    @property
    def words(self) -> str:
        """`reliability mean 3.90 -> 2.80 (-1.10; threshold ±0.5)`."""
        if self.kind == "distance":
            return f"{self.name} {_fmt(self.change, 'distance')} (threshold {_fmt(self.threshold, 'distance')})"
        change = "-" if self.change is None else f"{self.change:+.0%}" if self.kind == "share" else f"{self.change:+.2f}"
        return (
            f"{self.name} {_fmt(self.then, self.kind)} -> {_fmt(self.now, self.kind)} "
            f"({change}; threshold ±{_fmt(self.threshold, self.kind)})"
        )


@dataclass(frozen=True)
class FeedbackDrift:
    baseline: Baseline
    measures: list[Measure]
    min_feedback: int
    prompts_compared: bool  # False: the embedding part was skipped (no encoder passed)
    topics: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=TOPIC_COLUMNS))  # shares then and now
    weekly: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=WEEKLY_COLUMNS))  # mean score per week and axis

    @property
    def status(self) -> Status:
        moved = [m.moved for m in self.measures]
        return "moved" if any(moved) else "too-little" if all(m is None for m in moved) else "steady"

    @property
    def sentence(self) -> str:
        """The verdict in one sentence (Markdown), with what moved or what is too thin to tell."""
        since = self.baseline.words
        if self.status == "moved":
            moved = "; ".join(m.words for m in self.measures if m.moved)
            return f"**Feedback has moved** against {since}: {moved}."
        if self.status == "too-little":
            first = self.measures[0]
            return (
                f"**Too little feedback to tell** whether it has moved against {since}: {first.then_count} {UNITS[first.kind]} then "
                f"and {first.now_count} since; each measure needs {self.min_feedback} on each side."
            )
        thin = [m.name for m in self.measures if m.moved is None]
        rest = f" Too little feedback to tell for: {', '.join(thin)}." if thin else ""
        return f"**Feedback has not moved** against {since}: every measure with enough feedback is within its threshold.{rest}"

    @property
    def notes(self) -> list[str]:
        return [] if self.prompts_compared else ["The prompt mix was not compared (the embedding part was skipped here)."]

    def table(self) -> pd.DataFrame:
        """One row per measure, as people read it."""
        rows = [
            {
                "Measure": m.name,
                "Then": _fmt(m.then, m.kind),
                "Now": _fmt(m.now, m.kind),
                "Change": _fmt(m.change, "distance" if m.kind == "distance" else "change", m.kind),
                "Threshold": _fmt(m.threshold, m.kind),
                "Then / now count": f"{m.then_count} / {m.now_count}",
                "Moved": {True: "yes", False: "no", None: "too little feedback"}[m.moved],
            }
            for m in self.measures
        ]
        return pd.DataFrame(rows, columns=["Measure", "Then", "Now", "Change", "Threshold", "Then / now count", "Moved"])


def baseline_of(version: str | None, read_at: datetime | None, now: datetime, recent_days: int) -> Baseline:
    """The trained version's cutoff, or with none trained the start of the last `recent_days` days."""
    cutoff = read_at if read_at is not None else now - timedelta(days=recent_days)
    return Baseline(version if read_at is not None else None, pd.Timestamp(cutoff).tz_convert("UTC"))


def feedback_drift(frames: DriftFrames, baseline: Baseline, thresholds: DriftThresholds, topics: TopicModel | None) -> FeedbackDrift:
    """The drift figures; `topics` (the MiniLM encoder in a TopicModel) None skips the prompt mix."""
    cut, least = baseline.cutoff, thresholds.min_feedback
    # 1. The prompt mix: embedding distance and topic shares.
    then, now = _split(frames.prompts, cut)
    measures, topic_table = [], pd.DataFrame(columns=TOPIC_COLUMNS)
    if topics is not None:
        enough = min(len(then), len(now)) >= least
        distance = _centroid_distance(topics, list(then["prompt"]), list(now["prompt"])) if enough else None
        measures.append(
            Measure("prompt mix (embedding distance)", "distance", None, None, distance, thresholds.prompt_distance, len(then), len(now))
        )
        topic_table = _topic_shares(topics, list(then["prompt"]), list(now["prompt"])) if enough else topic_table
        shift = float(0.5 * (topic_table["then"] - topic_table["now"]).abs().sum()) if not topic_table.empty else None
        measures.append(Measure("topic shares (moved share)", "distance", None, None, shift, thresholds.topic_shift, len(then), len(now)))
    # 2. The mean score per axis.
    scores_then, scores_now = _split(frames.scores, cut)
    for axis in AXES:
        before, after = scores_then[scores_then["axis"] == axis]["score"], scores_now[scores_now["axis"] == axis]["score"]
        measures.append(_mean_measure(f"{axis} mean", "score", before, after, thresholds.score, least))
    # 3. The flagged share.
    outputs_then, outputs_now = _split(frames.outputs, cut)
    measures.append(_mean_measure("flagged share", "share", outputs_then["flagged"], outputs_now["flagged"], thresholds.flagged, least))
    return FeedbackDrift(baseline, measures, least, topics is not None, topic_table, weekly_means(frames.scores))


def weekly_means(scores: pd.DataFrame) -> pd.DataFrame:
    """The mean score per week (starting Monday, UTC) and axis, with how many scores it rests on."""
    if scores.empty:
        return pd.DataFrame(columns=WEEKLY_COLUMNS)
    week = scores["at"].dt.tz_convert("UTC").dt.tz_localize(None).dt.to_period("W-SUN").dt.start_time
    weekly = scores.assign(week=week).groupby(["week", "axis"])["score"].agg(mean="mean", count="count").reset_index()
    return weekly[WEEKLY_COLUMNS]


def read_feedback_drift(
    database: Database, modality: str, thresholds: DriftThresholds, topics: TopicModel | None, now: datetime | None = None
) -> FeedbackDrift:
    """The figures for one modality, read from the database (`now`: the clock, for tests)."""
    with database.read_sessions() as session:
        cutoff = trained_cutoff(session, modality=modality)
        frames = DriftFrames(
            feedback_prompts(session, modality=modality),
            feedback_scores(session, modality=modality),
            feedback_outputs(session, modality=modality),
        )
    clock = now or pd.Timestamp.now(tz="UTC").to_pydatetime()
    return feedback_drift(frames, baseline_of(cutoff.version, cutoff.read_at, clock, thresholds.recent_days), thresholds, topics)


@dataclass(frozen=True)
class DriftReader:
    """What Insights and the retrain report read the figures with: the thresholds and the encoder
    (a TopicModel shares its cached prompt vectors between calls; None skips the prompt mix)."""

    thresholds: DriftThresholds
    topics: TopicModel | None

    def read(self, database: Database, modality: str) -> FeedbackDrift:
        return read_feedback_drift(database, modality, self.thresholds, self.topics)

    def report_lines(self, database: Database, modality: str) -> list[str]:
        return report_lines(self.read(database, modality))


def retrain_drift(settings: Settings, embed: bool = True) -> Callable[[Database, str], list[str]]:
    """`playground retrain`'s "Feedback drift" lines per modality, against the active global version.
    One MiniLM for the night, loaded only once some modality has enough prompts on both sides
    (about 1 s when transformers is already imported); `embed=False` skips the prompt mix."""
    return DriftReader(DriftThresholds.from_settings(settings), TopicModel(SentenceEmbedder().embed) if embed else None).report_lines


def report_lines(drift: FeedbackDrift) -> list[str]:
    """The retrain report's "Feedback drift" section body: the sentence, the measures, the topics."""
    lines = [drift.sentence, *drift.notes, "", *_markdown_table(drift.table())]
    if not drift.topics.empty:
        topics = drift.topics.assign(then=drift.topics["then"].map("{:.0%}".format), now=drift.topics["now"].map("{:.0%}".format))
        lines += ["", *_markdown_table(topics.rename(columns=str.capitalize))]
    return lines


def _split(frame: pd.DataFrame, cutoff: pd.Timestamp) -> tuple[pd.DataFrame, pd.DataFrame]:
    before = frame["at"] < cutoff
    return frame[before], frame[~before]


def _centroid_distance(topics: TopicModel, then: list[str], now: list[str]) -> float:
    """1 - the cosine similarity of the two sides' mean vectors (each prompt counts as often as it was asked)."""
    centres = [topics.vectors(side).mean(axis=0) for side in (then, now)]
    cosine = float(centres[0] @ centres[1] / max(float(np.linalg.norm(centres[0]) * np.linalg.norm(centres[1])), 1e-12))
    return round(1.0 - cosine, 4)


def _topic_shares(topics: TopicModel, then: list[str], now: list[str]) -> pd.DataFrame:
    """Each topic's share of the prompts then and now (clusters fitted on both sides together)."""
    topic_of, names = topics.topics(then + now)
    if not topic_of:
        return pd.DataFrame(columns=TOPIC_COLUMNS)
    shares = {
        side: pd.Series([topic_of[p] for p in prompts]).value_counts(normalize=True) for side, prompts in (("then", then), ("now", now))
    }
    rows = [
        {"topic": n, "name": names[n], "then": float(shares["then"].get(n, 0.0)), "now": float(shares["now"].get(n, 0.0))}
        for n in sorted(names)
    ]
    return pd.DataFrame(rows, columns=TOPIC_COLUMNS)


def _mean_measure(name: str, kind: Kind, then: pd.Series, now: pd.Series, threshold: float, least: int) -> Measure:
    if min(len(then), len(now)) < least:
        return Measure(name, kind, _mean(then), _mean(now), None, threshold, len(then), len(now))
    before, after = float(then.astype(float).mean()), float(now.astype(float).mean())
    return Measure(name, kind, before, after, round(after - before, 4), threshold, len(then), len(now))


def _mean(values: pd.Series) -> float | None:
    return float(values.astype(float).mean()) if len(values) else None


def _fmt(value: float | None, style: str, kind: Kind | None = None) -> str:
    if value is None:
        return "-"
    if style == "change":
        return f"{value:+.0%}" if kind == "share" else f"{value:+.2f}"
    return f"{value:.0%}" if style == "share" else f"{value:.2f}"


def _markdown_table(frame: pd.DataFrame) -> list[str]:
    header = [str(c) for c in frame.columns]
    rows = [[str(v) for v in row] for row in frame.itertuples(index=False)]
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header), *["| " + " | ".join(r) + " |" for r in rows]]
