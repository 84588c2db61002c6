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
from pathlib import Path
from typing import Any

from feedback_db.runs import (
    fail_interrupted_runs,
    record_skipped_run,
    registered_adapter_folders,
)
from models.base import MODALITIES, Modality, check_modality
from models.finetune.data import DataConfig, FeedbackDatasets, build_datasets, sample_rows
from models.finetune.sampling import learn_sampling_defaults
from playground.core.database import Database, open_database
from playground.core.errors import PlaygroundError
from playground.core.settings import Settings
from playground.retrain.candidate import TEMP_PREFIX, Feedback, RetrainOutcome, read_feedback, train_and_gate
from playground.retrain.capability import check_capability_sets
from playground.retrain.image import ImageTrainer
from playground.retrain.personal import retrain_personal
from playground.retrain.ranks import SHARED_MODALITIES, Ranks, current_ranks
from playground.retrain.replay import ReplaySelection, describe_replay, replay_datasets
from playground.retrain.running import examine_gathering_candidate
from playground.retrain.text import TextTrainer
from playground.retrain.trainers import ModalityTrainer, RetrainOptions

log = logging.getLogger("playground.retrain")
TRAINERS: dict[Modality, type[ModalityTrainer]] = {"text": TextTrainer, "image": ImageTrainer}


class RetrainBusyError(PlaygroundError):
    """Another retrain run holds the lock."""


def retrain(settings: Settings, options: RetrainOptions, ranks: Ranks | None = None) -> list[RetrainOutcome]:
    """Run the feedback-retrain loop for the requested modalities (on the main process; the
    other processes of a multi-process launch only train along, and return no outcome)."""
    ranks = ranks or current_ranks()
    settings = ranks.settings_for_rank(settings)
    if not ranks.is_main:
        train_along(settings, options, ranks)
        return []
    modalities = list(MODALITIES) if options.modality == "all" else [check_modality(options.modality)]
    check_capability_sets(settings, list(modalities))  # a bad set stops the run before anything is trained
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
                if settings.personal_versions and options.personal and not options.dry_run:
                    outcomes += retrain_personal(settings, database, TRAINERS[modality](settings, options), options)
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
            f"skipped: no new {modality} feedback (ratings or arena votes) since run {feedback.last_run_id}",
            counts={"ratings": len(frames["ratings"]), "arena_votes": feedback.arena_votes},
        )
    # 4. Datasets (tonight's new feedback and the replayed share of the older) and sampling defaults.
    everything = build_datasets(modality, frames["ratings"], frames["set_ratings"], frames["outputs"], DataConfig())
    datasets, replay = choose_training_rows(settings, everything, feedback)
    sampling = learn_sampling_defaults(
        modality, frames["ratings"], frames["set_ratings"], frames["outputs"], feedback.parent_defaults, preset_votes=feedback.preset_votes
    )
    counts = {**datasets.summary(), **replay.counts(), "arena_votes": feedback.arena_votes}
    usable = len(datasets.pairs) + len(datasets.unpaired) + len(datasets.sft)
    if options.dry_run:
        return RetrainOutcome(modality, "dry-run", describe_dry_run(datasets, sampling, replay), counts=counts)
    if usable < options.min_examples:
        message = f"skipped: {usable} usable {modality} training rows, need {options.min_examples} ({_counts_text(counts)})"
        with database.sessions.begin() as session:
            record_skipped_run(session, modality=modality, data_counts={**counts, "watermark": feedback.watermark}, reason=message)
        return RetrainOutcome(modality, "skipped", message, counts=counts)
    # 5a. A candidate still gathering evidence is judged on tonight's new held-out prompts first;
    #     promoted, it is the parent of tonight's training.
    trainer = TRAINERS[datasets.modality](settings, options)
    examination = examine_gathering_candidate(database, trainer, datasets, options.gate)
    if examination is not None and examination.promoted:  # a new parent: what is new is measured against it
        feedback = read_feedback(database, datasets.modality)
        datasets, replay = choose_training_rows(settings, everything, feedback)
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
        extra_counts={**replay.counts(), "arena_votes": feedback.arena_votes},  # the report says what it read and replayed
    )
    if examination is not None:
        outcome.message = f"{examination.message}\n{outcome.message}"
    return outcome


def choose_training_rows(settings: Settings, everything: FeedbackDatasets, feedback: Feedback) -> tuple[FeedbackDatasets, ReplaySelection]:
    """The training rows of tonight's run: all feedback new since the parent version's training run and
    the `replay_share` of the older (playground/retrain/replay.py); held-out rows stay whole."""
    seed = f"replay:{everything.modality}:{feedback.parent.name}"
    return replay_datasets(everything, feedback.frames, feedback.parent_watermark, settings.replay_share, seed)


def _counts_text(counts: dict[str, int]) -> str:
    return ", ".join(f"{key} {value}" for key, value in counts.items())


def describe_dry_run(datasets: FeedbackDatasets, sampling: dict[str, Any], replay: ReplaySelection | None = None) -> str:
    lines = [f"dry run ({datasets.modality}): nothing is trained", _counts_text(datasets.summary())]
    if replay is not None:
        lines.append(describe_replay(replay))
    for title, rows in (("pairs (DPO)", datasets.pairs), ("labelled (KTO)", datasets.unpaired), ("top-rated (SFT)", datasets.sft)):
        lines.append(f"-- sample of {title}: {len(rows)} rows")
        lines.append(sample_rows(rows))
    knobs = {k: v for k, v in sampling.items() if k != "evidence"}
    why = sampling.get("evidence", {}).get("why", "")
    lines.append(f"-- sampling defaults: {knobs or 'unchanged'} ({why})" if why else f"-- sampling defaults: {knobs or 'unchanged'}")
    return "\n".join(lines)
