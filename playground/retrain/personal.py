"""Personal versions: after the global run of a modality, `playground retrain` trains a LoRA
adapter for each identity with enough ratings, from that identity's own ratings alone.

1. Pick the identities: at least `personal_min_ratings` rated outputs of the modality; those with
   the most ratings new since their last personal run first, at most `personal_max_per_night`.
2. Skip an identity whose ratings and served global version are unchanged since its last run.
3. Build its datasets from its own ratings (its held-out prompts are its own, by the same stable
   hash as the global split) and train on top of the active global version.
4. Gate the adapter against the active global version with the same gate as a global version,
   on that identity's held-out prompts; publish it owned by the identity (served to it alone).

Every identity's ratings also feed the global run, as before. Run-time cost is the sum of the
personal runs, each recorded as its own training run (with its owner) and report.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace

import pandas as pd

from feedback_db.personal import RATED_OUTPUTS
from feedback_db.runs import fail_personal_run, last_finished_run, record_skipped_run
from models.base import Modality
from models.finetune.data import DataConfig, build_datasets
from models.finetune.sampling import learn_sampling_defaults
from playground.core.database import Database
from playground.core.settings import Settings
from playground.retrain.candidate import Feedback, RetrainOutcome, feedback_watermark, read_feedback, train_and_gate
from playground.retrain.ranks import Ranks
from playground.retrain.trainers import ModalityTrainer, RetrainOptions

log = logging.getLogger("playground.retrain.personal")


@dataclass(frozen=True)
class PersonalCandidate:
    """An identity that qualifies for a personal version tonight."""

    owner_id: int
    rated_outputs: int
    new_ratings: int  # since its last personal run (all of them if it has none)


def personal_candidates(
    ratings: pd.DataFrame, last_run_started: dict[int, pd.Timestamp], *, min_rated_outputs: int, limit: int
) -> list[PersonalCandidate]:
    """Step 1: identities with at least `min_rated_outputs` rated outputs, most new ratings first."""
    if ratings.empty or limit <= 0:
        return []
    candidates = []
    for owner_id, own in ratings.groupby("rater_id"):
        rated = int(own["output_id"].nunique())
        if rated < min_rated_outputs:
            continue
        since = last_run_started.get(int(owner_id))
        updated = pd.to_datetime(own["updated_at"], utc=True)
        new = int((updated > since).sum()) if since is not None else len(own)
        candidates.append(PersonalCandidate(int(owner_id), rated, new))
    candidates.sort(key=lambda c: (-c.new_ratings, -c.rated_outputs, c.owner_id))
    return candidates[:limit]


def retrain_personal(settings: Settings, database: Database, trainer: ModalityTrainer, options: RetrainOptions) -> list[RetrainOutcome]:
    """The personal runs of `trainer`'s modality, after its global run (the steps above)."""
    modality = trainer.modality
    feedback = read_feedback(database, modality)  # the global version now active is every parent
    ratings = feedback.frames["ratings"]
    owners = sorted({int(owner) for owner in ratings["rater_id"].unique()}) if not ratings.empty else []
    last_runs = last_personal_runs(database, modality, owners)
    chosen = personal_candidates(
        ratings,
        {owner: started for owner, (started, _) in last_runs.items()},
        min_rated_outputs=settings.personal_min_ratings,
        limit=settings.personal_max_per_night,
    )
    outcomes = []
    for candidate in chosen:
        started = time.perf_counter()
        own = replace(feedback, frames=own_frames(feedback.frames, candidate.owner_id), last_run_id=None)
        own = replace(own, watermark=f"{feedback_watermark(own.frames)}|parent:{feedback.parent.name}")
        if last_runs.get(candidate.owner_id, (None, None))[1] == own.watermark:
            continue  # 2. nothing new for this identity
        try:
            outcome = train_personal(settings, database, trainer, options, own, candidate)
        except Exception as error:  # one identity's failure must not stop the others' runs
            log.exception("the personal %s run of identity %s failed", modality, candidate.owner_id)
            with database.sessions.begin() as session:
                fail_personal_run(session, owner_id=candidate.owner_id, error=f"{type(error).__name__}: {error}")
            outcome = RetrainOutcome(modality, "failed", f"personal run of identity {candidate.owner_id} failed: {error}")
        cost_s = time.perf_counter() - started
        outcome.message = (
            f"personal, identity {candidate.owner_id} ({candidate.rated_outputs} rated outputs, {cost_s:.0f} s): {outcome.message}"
        )
        outcomes.append(outcome)
    return outcomes


def own_frames(frames: dict[str, pd.DataFrame], owner_id: int) -> dict[str, pd.DataFrame]:
    """One identity's ratings and set ratings (all outputs: its pairs need the outputs it rated)."""
    return {
        "ratings": frames["ratings"][frames["ratings"]["rater_id"] == owner_id],
        "set_ratings": frames["set_ratings"][frames["set_ratings"]["rater_id"] == owner_id],
        "outputs": frames["outputs"],
    }


def train_personal(
    settings: Settings, database: Database, trainer: ModalityTrainer, options: RetrainOptions, own: Feedback, candidate: PersonalCandidate
) -> RetrainOutcome:
    """Steps 3 and 4 for one identity."""
    frames, modality = own.frames, trainer.modality
    datasets = build_datasets(modality, frames["ratings"], frames["set_ratings"], frames["outputs"], DataConfig())
    sampling = learn_sampling_defaults(modality, frames["ratings"], frames["set_ratings"], frames["outputs"], own.parent_defaults)
    counts = {**datasets.summary(), RATED_OUTPUTS: candidate.rated_outputs}
    usable = len(datasets.pairs) + len(datasets.unpaired) + len(datasets.sft)
    if usable < options.min_examples:
        message = f"skipped: {usable} usable training rows, need {options.min_examples}"
        with database.sessions.begin() as session:
            record_skipped_run(
                session, modality=modality, data_counts={**counts, "watermark": own.watermark}, reason=message, owner_id=candidate.owner_id
            )
        return RetrainOutcome(modality, "skipped", message, counts=counts)
    return train_and_gate(
        settings,
        database,
        options,
        datasets,
        sampling,
        own,
        Ranks(),
        trainer,
        owner_id=candidate.owner_id,
        extra_counts={RATED_OUTPUTS: candidate.rated_outputs},
    )


def last_personal_runs(database: Database, modality: Modality, owner_ids: list[int]) -> dict[int, tuple[pd.Timestamp, str | None]]:
    """owner -> (start, watermark) of its last finished personal run of `modality`."""
    found = {}
    with database.read_sessions() as session:
        for owner_id in owner_ids:
            run = last_finished_run(session, modality=modality, owner_id=owner_id)
            if run is not None:
                found[owner_id] = (
                    pd.Timestamp(run.started_at, tz="UTC") if run.started_at.tzinfo is None else pd.Timestamp(run.started_at),
                    run.data_counts.get("watermark"),
                )
    return found
