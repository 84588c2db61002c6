"""One candidate version: read a modality's feedback, then train, gate and publish it.

`train_and_gate` is stages 5b-7 of `playground retrain` (playground/retrain/run.py) for one
candidate: the global version of a modality, or one identity's personal version
(playground/retrain/personal.py), which differ only in whose ratings train it and who owns it.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from feedback_db.arena import battles_frame
from feedback_db.frames import outputs_frame, ratings_frame, set_ratings_frame
from feedback_db.runs import last_finished_run, next_version_name, start_run, training_counts
from feedback_db.standings import preset_votes
from feedback_db.versions import active_version
from models.base import BASE_VERSION, Modality
from models.finetune.combine import combine
from models.finetune.data import FeedbackDatasets
from playground.core.database import Database
from playground.core.settings import Settings
from playground.retrain.capability import check_capability
from playground.retrain.chain import report_chain
from playground.retrain.publish import OutcomeStatus, decide_promotion, publish, run_metrics
from playground.retrain.ranks import SHARED_MODALITIES, Ranks, TrainJob
from playground.retrain.report import ReportInputs, write_report
from playground.retrain.running import first_night
from playground.retrain.trainers import ModalityTrainer, RetrainOptions, VersionRef, candidate_version, served_version

TEMP_PREFIX = ".tmp-"


@dataclass
class RetrainOutcome:
    modality: Modality
    status: OutcomeStatus
    message: str
    run_id: int | None = None
    version: str | None = None
    report_path: Path | None = None
    counts: dict[str, int] = field(default_factory=dict)


@dataclass
class Feedback:
    """What stage 3 reads for one modality."""

    frames: dict[str, pd.DataFrame]
    parent: VersionRef
    parent_defaults: dict[str, Any]
    preset_votes: pd.DataFrame  # the parent's arena sampling-preset battles
    watermark: str
    last_run_id: int | None
    last_watermark: str | None
    arena_votes: int = 0  # the modality's arena votes read (both kinds of battle)
    parent_watermark: str | None = None  # what the parent's training run read (None: the base model)


def read_feedback(database: Database, modality: Modality) -> Feedback:
    with database.read_sessions() as session:
        frames = {
            "ratings": ratings_frame(session, modality=modality),
            "set_ratings": set_ratings_frame(session, modality=modality),
            "outputs": outputs_frame(session, modality=modality),
        }
        active = active_version(session, modality=modality)
        parent = served_version(active)
        defaults = dict(active.sampling_defaults) if active else {}
        presets = preset_votes(session, modality=modality)
        presets = presets[presets["version"] == (active.name if active else BASE_VERSION)]
        votes = battles_frame(session, modality=modality)
        last = last_finished_run(session, modality=modality)
        parent_counts = training_counts(session, version_id=active.id if active else None) or {}
        return Feedback(
            frames,
            parent,
            defaults,
            presets,
            feedback_watermark(frames, votes),
            last.id if last else None,
            last.data_counts.get("watermark") if last else None,
            len(votes),
            parent_counts.get("watermark"),
        )


def train_and_gate(
    settings: Settings,
    database: Database,
    options: RetrainOptions,
    datasets: FeedbackDatasets,
    sampling: dict[str, Any],
    feedback: Feedback,
    ranks: Ranks,
    trainer: ModalityTrainer,
    gathering: bool = False,
    owner_id: int | None = None,
    extra_counts: dict[str, int] | None = None,
) -> RetrainOutcome:
    """Train, gate and publish one candidate. `gathering`: an older candidate on the same active
    version is gathering running evidence, so this one does not start to (playground/retrain/running.py).
    `owner_id`: a personal version of that identity, trained on its ratings alone on top of the
    active global version and gated on its own held-out prompts (playground/retrain/personal.py)."""
    modality, counts, timings = datasets.modality, {**datasets.summary(), **(extra_counts or {})}, {}
    with database.sessions.begin() as session:
        run_id = start_run(session, modality=modality, data_counts={**counts, "watermark": feedback.watermark}, owner_id=owner_id).id
        name = next_version_name(session, modality=modality, personal=owner_id is not None)
    # 5b. Train into a temporary folder.
    temp_dir = settings.adapters_dir / f"{TEMP_PREFIX}{name}"
    shutil.rmtree(temp_dir, ignore_errors=True)
    temp_dir.mkdir(parents=True)
    if modality in SHARED_MODALITIES:  # the other processes of a multi-GPU launch train along
        ranks.send(TrainJob(modality, datasets, temp_dir, feedback.parent))
    started = time.perf_counter()
    result = trainer.train(datasets, temp_dir, feedback.parent)
    timings["train_s"] = round(time.perf_counter() - started, 1)
    # 6. The gate, the behaviour comparison, the decision and the report.
    started = time.perf_counter()
    candidate = candidate_version(name, temp_dir)
    margins = trainer.evaluate(datasets, feedback.parent, candidate)
    behaviour = trainer.compare_behaviour(datasets, feedback.parent, candidate)
    timings["evaluate_s"] = round(time.perf_counter() - started, 1)
    capability = check_capability(settings, trainer, candidate)  # against the base model: playground/retrain/capability.py
    if capability is not None:
        timings["capability_s"] = capability.seconds
    evaluation = combine(margins, behaviour.answers, options.gate)  # judged answers and margins: one verdict
    decision = decide_promotion(
        evaluation, arena_min_battles=options.arena_min_battles if owner_id is None else None, capability=capability
    )
    # Feedback drift against the active global version (global candidates only).
    drift = options.feedback_drift(database, modality) if options.feedback_drift and owner_id is None else []
    figures = capability.as_metrics() if capability else None
    report = ReportInputs(
        name,
        modality,
        feedback.parent.name,
        decision.summary,
        decision.promote,
        counts,
        result,
        evaluation,
        behaviour,
        sampling,
        timings,
        margins,
        capability,
        drift,
        report_chain(database, modality, owner_id, name, feedback.parent.name, decision.status, evaluation, capability=figures),
    )
    report_path = write_report(settings.reports_dir, report)
    # 7. Publish: final adapter folder, version row, promotion and run status in one transaction.
    metrics = run_metrics(decision, evaluation, margins, behaviour, result, capability)
    if decision.status == "insufficient-evidence" and not gathering and owner_id is None:
        metrics["running_evidence"] = first_night(datasets)
    publish(
        settings,
        database,
        report,
        run_id=run_id,
        temp_dir=temp_dir,
        report_path=report_path,
        metrics=metrics,
        owner_id=owner_id,
        refused=decision.status == "forgets",
    )
    message = f"{decision.status}: {name} {decision.summary}"
    return RetrainOutcome(modality, decision.status, message, run_id, name, report_path, counts)


def feedback_watermark(frames: dict[str, pd.DataFrame], votes: pd.DataFrame | None = None) -> str:
    """Changes whenever a rating or set rating is added or edited, or (with `votes`, the
    modality's `battles_frame`) an arena vote is cast: votes move the learned sampling defaults
    and the arena gate, so a night with only new votes is not skipped."""
    parts = []
    for key in ("ratings", "set_ratings"):
        frame = frames[key]
        latest = frame["updated_at"].max() if not frame.empty else None
        parts.append(f"{key}:{len(frame)}:{latest}")
    if votes is not None:
        parts.append(f"votes:{len(votes)}:{votes['voted_at'].max() if not votes.empty else None}")
    return "|".join(parts)
