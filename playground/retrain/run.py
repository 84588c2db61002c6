"""`playground retrain`: feedback in, a better model version out (or none).

One run per modality, as numbered stages:
 1. take the retrain lock (an OS file lock: a crashed run cannot leave it stuck);
 2. recover from any crashed run (mark it failed, remove half-written adapters);
 3. read the feedback and skip if nothing is new or there is too little;
 4. build the TRL datasets and learn sampling defaults (`--dry-run` stops here);
 5. judge a candidate still gathering evidence on tonight's new held-out prompts (promoted once
    its running e-value suffices: playground/retrain/running.py), then train a LoRA adapter on
    the active version into a temporary folder;
 6. evaluate new vs active on held-out feedback: the margins of the raters' pairs and the judged
    answers of both versions on held-out prompts, combined into one verdict (the gate); write the report;
 7. in one transaction: register the version, promote it if `decide_promotion` says so, close the run
    (the decision and the publishing: playground/retrain/publish.py).
Apart from a gathering candidate's promotion at stage 5 (its own transaction), nothing visible
changes before stage 7, so a kill at any point leaves the active version and
the database as they were; the app picks up a promoted version on its next request.

Under `accelerate launch` with several processes, only the main process runs these stages; the
others train the text job it sends them at stage 5 and exit (`playground.retrain.ranks`).
"""

from __future__ import annotations

import fcntl
import logging
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from feedback_db.frames import outputs_frame, ratings_frame, set_ratings_frame
from feedback_db.runs import (
    fail_interrupted_runs,
    last_finished_run,
    next_version_name,
    record_skipped_run,
    registered_adapter_folders,
    start_run,
)
from feedback_db.standings import preset_votes
from feedback_db.versions import active_version
from models.base import BASE_VERSION, MODALITIES, Modality, check_modality
from models.finetune.combine import combine
from models.finetune.data import DataConfig, FeedbackDatasets, build_datasets, sample_rows
from models.finetune.sampling import learn_sampling_defaults
from playground.core.database import Database, open_database
from playground.core.errors import PlaygroundError
from playground.core.settings import Settings
from playground.retrain.image import ImageTrainer
from playground.retrain.publish import OutcomeStatus, decide_promotion, publish, run_metrics
from playground.retrain.ranks import SHARED_MODALITIES, Ranks, TrainJob, current_ranks
from playground.retrain.report import ReportInputs, write_report
from playground.retrain.running import examine_gathering_candidate, first_night
from playground.retrain.text import TextTrainer
from playground.retrain.trainers import ModalityTrainer, RetrainOptions, VersionRef, candidate_version, served_version

log = logging.getLogger("playground.retrain")
TEMP_PREFIX = ".tmp-"
TRAINERS: dict[Modality, type[ModalityTrainer]] = {"text": TextTrainer, "image": ImageTrainer}


class RetrainBusyError(PlaygroundError):
    """Another retrain run holds the lock."""


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


def retrain(settings: Settings, options: RetrainOptions, ranks: Ranks | None = None) -> list[RetrainOutcome]:
    """Run the feedback-retrain loop for the requested modalities (on the main process; the
    other processes of a multi-process launch only train along, and return no outcome)."""
    ranks = ranks or current_ranks()
    settings = ranks.settings_for_rank(settings)
    if not ranks.is_main:
        train_along(settings, options, ranks)
        return []
    modalities = list(MODALITIES) if options.modality == "all" else [check_modality(options.modality)]
    try:
        database = open_database(settings)
        with retrain_lock(settings.data_dir / "retrain.lock"), run_log(settings) as log_path:
            log.info("retrain started: %s (log %s)", options, log_path)
            recover_crashed_runs(database, settings)
            outcomes = []
            for modality in modalities:
                if modality not in SHARED_MODALITIES:
                    ranks.send(None)  # the others have nothing (more) to train: let them exit now
                outcomes.append(retrain_modality(settings, database, modality, options, ranks))
            return outcomes
    finally:
        ranks.send(None)  # no text job was sent (skipped, dry run, image only, an error): the others exit


def train_along(settings: Settings, options: RetrainOptions, ranks: Ranks) -> None:
    """A non-main process: train the job the main process sends (if any) with it, then return.
    The adapter is saved by the main process alone (models.finetune.text)."""
    job = ranks.receive()
    if job is None:
        log.info("nothing to train on this process")
        return
    TRAINERS[job.modality](settings, options).train(job.datasets, job.out_dir, job.parent)


@contextmanager
def retrain_lock(path: Path) -> Iterator[None]:
    """An exclusive flock: the OS releases it when the process dies, however it dies."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as error:
            raise RetrainBusyError("another retrain run is in progress (lock held)") from error
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def run_log(settings: Settings) -> Iterator[Path]:
    """Send this run's log lines to a file of its own under logs/."""
    settings.logs_dir.mkdir(parents=True, exist_ok=True)
    path = settings.logs_dir / f"retrain-{time.strftime('%Y%m%d-%H%M%S')}.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    previous_level = root.level
    root.setLevel(min(previous_level or logging.INFO, logging.INFO))
    try:
        yield path
    finally:
        root.removeHandler(handler)
        root.setLevel(previous_level)
        handler.close()


def recover_crashed_runs(database: Database, settings: Settings) -> None:
    """A run still marked running holds no lock any more, so it crashed: close it, clean up."""
    with database.sessions.begin() as session:
        crashed = fail_interrupted_runs(session)
        known = registered_adapter_folders(session)
    if crashed:
        log.warning("marked %d interrupted run(s) as failed", crashed)
    if settings.adapters_dir.exists():
        for folder in settings.adapters_dir.iterdir():
            if folder.name.startswith(TEMP_PREFIX) or (folder.is_dir() and folder.name not in known and not folder.name.startswith(".")):
                shutil.rmtree(folder, ignore_errors=True)
                log.info("removed unfinished adapter folder %s", folder)


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
        last = last_finished_run(session, modality=modality)
        return Feedback(
            frames,
            parent,
            defaults,
            presets,
            feedback_watermark(frames),
            last.id if last else None,
            last.data_counts.get("watermark") if last else None,
        )


def retrain_modality(
    settings: Settings,
    database: Database,
    modality: Modality,
    options: RetrainOptions,
    ranks: Ranks | None = None,
) -> RetrainOutcome:
    # 3. Read the feedback; skip if nothing is new since the last finished run.
    feedback = read_feedback(database, modality)
    frames = feedback.frames
    if feedback.last_watermark == feedback.watermark and not options.dry_run:
        return RetrainOutcome(
            modality,
            "skipped",
            f"skipped: no new {modality} feedback since run {feedback.last_run_id}",
            counts={"ratings": len(frames["ratings"])},
        )
    # 4. Datasets and sampling defaults.
    datasets = build_datasets(modality, frames["ratings"], frames["set_ratings"], frames["outputs"], DataConfig())
    sampling = learn_sampling_defaults(
        modality, frames["ratings"], frames["set_ratings"], frames["outputs"], feedback.parent_defaults, preset_votes=feedback.preset_votes
    )
    counts = datasets.summary()
    usable = len(datasets.pairs) + len(datasets.unpaired) + len(datasets.sft)
    if options.dry_run:
        return RetrainOutcome(modality, "dry-run", describe_dry_run(datasets, sampling), counts=counts)
    if usable < options.min_examples:
        message = f"skipped: {usable} usable {modality} training rows, need {options.min_examples} ({_counts_text(counts)})"
        with database.sessions.begin() as session:
            record_skipped_run(session, modality=modality, data_counts={**counts, "watermark": feedback.watermark}, reason=message)
        return RetrainOutcome(modality, "skipped", message, counts=counts)
    # 5a. A candidate still gathering evidence is judged on tonight's new held-out prompts first;
    #     promoted, it is the parent of tonight's training.
    trainer = TRAINERS[datasets.modality](settings, options)
    examination = examine_gathering_candidate(database, trainer, datasets, options.gate)
    if examination is not None and examination.promoted:
        feedback = read_feedback(database, datasets.modality)
    outcome = train_and_gate(
        settings,
        database,
        options,
        datasets,
        sampling,
        feedback,
        ranks or Ranks(),
        trainer,
        gathering=examination is not None and examination.still_gathering,
    )
    if examination is not None:
        outcome.message = f"{examination.message}\n{outcome.message}"
    return outcome


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
) -> RetrainOutcome:
    """Train, gate and publish one candidate. `gathering`: an older candidate on the same active
    version is gathering running evidence, so this one does not start to (playground/retrain/running.py)."""
    modality, counts, timings = datasets.modality, datasets.summary(), {}
    with database.sessions.begin() as session:
        run_id = start_run(session, modality=modality, data_counts={**counts, "watermark": feedback.watermark}).id
        name = next_version_name(session, modality=modality)
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
    evaluation = combine(margins, behaviour.answers, options.gate)  # judged answers and margins: one verdict
    decision = decide_promotion(evaluation, arena_min_battles=options.arena_min_battles)
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
    )
    report_path = write_report(settings.reports_dir, report)
    # 7. Publish: final adapter folder, version row, promotion and run status in one transaction.
    metrics = run_metrics(decision, evaluation, margins, behaviour, result)
    if decision.status == "insufficient-evidence" and not gathering:
        metrics["running_evidence"] = first_night(datasets)
    publish(settings, database, report, run_id=run_id, temp_dir=temp_dir, report_path=report_path, metrics=metrics)
    message = f"{decision.status}: {name} {decision.summary}"
    return RetrainOutcome(modality, decision.status, message, run_id, name, report_path, counts)


def feedback_watermark(frames: dict[str, pd.DataFrame]) -> str:
    """Changes whenever a rating or set rating is added or edited."""
    parts = []
    for key in ("ratings", "set_ratings"):
        frame = frames[key]
        latest = frame["updated_at"].max() if not frame.empty else None
        parts.append(f"{key}:{len(frame)}:{latest}")
    return "|".join(parts)


def _counts_text(counts: dict[str, int]) -> str:
    return ", ".join(f"{key} {value}" for key, value in counts.items())


def describe_dry_run(datasets: FeedbackDatasets, sampling: dict[str, Any]) -> str:
    lines = [f"dry run ({datasets.modality}): nothing is trained", _counts_text(datasets.summary())]
    for title, rows in (("pairs (DPO)", datasets.pairs), ("labelled (KTO)", datasets.unpaired), ("top-rated (SFT)", datasets.sft)):
        lines.append(f"-- sample of {title}: {len(rows)} rows")
        lines.append(sample_rows(rows))
    knobs = {k: v for k, v in sampling.items() if k != "evidence"}
    why = sampling.get("evidence", {}).get("why", "")
    lines.append(f"-- sampling defaults: {knobs or 'unchanged'} ({why})" if why else f"-- sampling defaults: {knobs or 'unchanged'}")
    return "\n".join(lines)
