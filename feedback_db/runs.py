"""Training runs: the `training_runs` rows `playground retrain` opens, closes and reads back.

Every query the retrain command needs about runs and version names lives here, so the command
never writes SQL of its own. As everywhere in `feedback_db`, the caller owns the session and the
transaction: these functions add, flush and read, and never commit.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from feedback_db.engine import rows_changed
from feedback_db.errors import InvalidInputError, UnknownIdError
from feedback_db.schema import MODALITIES, ModelVersion, TrainingRun, utcnow

INTERRUPTED = "interrupted (the process ended before finishing)"


def _check_modality(modality: str) -> None:
    if modality not in MODALITIES:
        raise InvalidInputError(f"unknown modality {modality!r}; use one of {MODALITIES}")


def start_run(session: Session, *, modality: str, data_counts: dict[str, Any], owner_id: int | None = None) -> TrainingRun:
    """Open a run in status `running` (a run left in that status later is a crashed one);
    `owner_id`: a personal run, training that identity's version."""
    _check_modality(modality)
    run = TrainingRun(modality=modality, status="running", data_counts=dict(data_counts), owner_id=owner_id)
    session.add(run)
    session.flush()
    return run


def finish_run(
    session: Session,
    *,
    run_id: int,
    method: str,
    metrics: dict[str, Any],
    timings: dict[str, float],
    report_path: str,
) -> TrainingRun:
    """Close a run as `succeeded` with what it measured (whether or not its version was promoted)."""
    run = session.get(TrainingRun, run_id)
    if run is None:
        raise UnknownIdError(f"training run {run_id} does not exist")
    run.status, run.method, run.finished_at = "succeeded", method, utcnow()
    run.metrics, run.timings, run.report_path = metrics, timings, report_path
    session.flush()
    return run


def record_skipped_run(
    session: Session, *, modality: str, data_counts: dict[str, Any], reason: str, owner_id: int | None = None
) -> TrainingRun:
    """A run that looked at the feedback and found too little to train on."""
    _check_modality(modality)
    run = TrainingRun(
        modality=modality, status="skipped", data_counts=dict(data_counts), error=reason, finished_at=utcnow(), owner_id=owner_id
    )
    session.add(run)
    session.flush()
    return run


def last_finished_run(session: Session, *, modality: str, owner_id: int | None = None) -> TrainingRun | None:
    """The latest global run of `modality` (with `owner_id`: that identity's personal run) that
    succeeded or was skipped (not failed, not running)."""
    owner = TrainingRun.owner_id.is_(None) if owner_id is None else TrainingRun.owner_id == owner_id
    return session.scalar(
        select(TrainingRun)
        .where(TrainingRun.modality == modality, TrainingRun.status.in_(("succeeded", "skipped")), owner)
        .order_by(TrainingRun.id.desc())
        .limit(1)
    )


def fail_interrupted_runs(session: Session) -> int:
    """Mark every run still `running` as failed; return how many. Call it only while holding
    the retrain lock: then no run can be in progress, so a `running` row is a crashed run."""
    result = session.execute(
        update(TrainingRun).where(TrainingRun.status == "running").values(status="failed", error=INTERRUPTED, finished_at=utcnow())
    )
    return rows_changed(result)


def fail_personal_run(session: Session, *, owner_id: int, error: str) -> int:
    """Mark `owner_id`'s personal run still `running` as failed with `error` (a personal run that
    raised: the retrain goes on with the next identity, holding the lock); return how many."""
    result = session.execute(
        update(TrainingRun)
        .where(TrainingRun.status == "running", TrainingRun.owner_id == owner_id)
        .values(status="failed", error=error[:2000], finished_at=utcnow())
    )
    return rows_changed(result)


def registered_adapter_folders(session: Session) -> set[str]:
    """Folder names of every registered version's adapter (anything else in the folder is litter)."""
    return {Path(path).name for path in session.scalars(select(ModelVersion.adapter_path)) if path}


def next_version_name(session: Session, *, modality: str, personal: bool = False) -> str:
    """`<modality>-v<N>`, one more than the global versions of that modality so far; a personal
    version's is `<modality>-p-<random hex>` (a count would tell how many others have one, and
    counts shrink when an identity's data is deleted)."""
    _check_modality(modality)
    if personal:
        return f"{modality}-p-{secrets.token_hex(5)}"
    count = (
        session.scalar(select(func.count(ModelVersion.id)).where(ModelVersion.modality == modality, ModelVersion.owner_id.is_(None))) or 0
    )
    return f"{modality}-v{count + 1}"


def list_runs(session: Session, *, modality: str | None = None, personal: bool = False) -> list[TrainingRun]:
    """The global runs (`personal`: the personal runs too), oldest first."""
    statement = select(TrainingRun).order_by(TrainingRun.id)
    if not personal:
        statement = statement.where(TrainingRun.owner_id.is_(None))
    if modality is not None:
        statement = statement.where(TrainingRun.modality == modality)
    return list(session.scalars(statement))


def gathering_candidate(session: Session, *, modality: str, parent_id: int | None) -> tuple[ModelVersion, dict[str, Any]] | None:
    """The oldest candidate of `modality` trained on `parent_id` (None: the base model) that is
    still gathering running evidence, with that evidence (playground/retrain/running.py)."""
    _check_modality(modality)
    parent = ModelVersion.parent_id.is_(None) if parent_id is None else ModelVersion.parent_id == parent_id
    rows = session.execute(
        select(ModelVersion, TrainingRun)
        .join(TrainingRun, ModelVersion.training_run_id == TrainingRun.id)
        .where(ModelVersion.modality == modality, ModelVersion.status == "candidate", ModelVersion.owner_id.is_(None), parent)
        .order_by(ModelVersion.id)
    ).all()
    for version, run in rows:
        evidence = (run.metrics or {}).get("running_evidence")
        if evidence and evidence.get("gathering"):
            return version, dict(evidence)
    return None


def record_running_evidence(session: Session, *, version_id: int, evidence: dict[str, Any]) -> None:
    """Keep a candidate's running evidence with the run that trained it."""
    version = session.get(ModelVersion, version_id)
    if version is None or version.training_run_id is None:
        raise UnknownIdError(f"model version {version_id} does not exist or has no training run")
    run = session.get(TrainingRun, version.training_run_id)
    if run is None:
        raise UnknownIdError(f"training run {version.training_run_id} does not exist")
    run.metrics = {**(run.metrics or {}), "running_evidence": dict(evidence)}  # a new dict: SQLAlchemy sees it
    session.flush()


def training_counts(session: Session, *, version_id: int | None) -> dict[str, Any] | None:
    """The data counts (with the feedback watermark) of the run that trained version `version_id`
    (None: the base model, or a version with no run on record)."""
    if version_id is None:
        return None
    run = session.scalar(
        select(TrainingRun).join(ModelVersion, ModelVersion.training_run_id == TrainingRun.id).where(ModelVersion.id == version_id)
    )
    return dict(run.data_counts) if run is not None else None
