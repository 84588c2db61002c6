"""What "About this answer" reads: an answer's request, the version that gave it, that version's
training run, and how many of the viewer's ratings that run could have read.

A version is found among the global versions and the viewer's own personal ones only (as in
feedback_db/versions.py): another identity's personal version reads exactly like no version at
all. An answer is found only in the viewer's own browser session (as in feedback_db/history.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session, aliased

from feedback_db.errors import UnknownIdError
from feedback_db.frames import withheld
from feedback_db.schema import ModelVersion, Output, Rating, Request, TrainingRun


@dataclass(frozen=True)
class RunRecord:
    """The training run that made a version: when, on what data, what it measured."""

    started_at: datetime
    finished_at: datetime | None
    status: str
    method: str | None
    data_counts: dict[str, Any]
    metrics: dict[str, Any]
    report_path: str | None


@dataclass(frozen=True)
class VersionRecord:
    name: str
    modality: str
    base_model: str
    status: str  # candidate | active | retired
    personal: bool  # the viewer's own personal version
    created_at: datetime
    promoted_at: datetime | None
    parent: str | None  # the version it was trained on top of; None: the base model
    sampling_defaults: dict[str, Any]
    run: RunRecord | None


@dataclass(frozen=True)
class AnswerRecord:
    """One output of the viewer's, with its request."""

    output_id: int
    modality: str
    prompt: str
    parameters: dict[str, Any]
    model_version: str
    seed: int
    moderation: str | None
    created_at: datetime


def version_record(session: Session, *, name: str, modality: str, viewer_id: int | None) -> VersionRecord | None:
    """The global version `name` of `modality`, or `viewer_id`'s own personal one; None otherwise
    (no such version, or someone else's)."""
    owners: ColumnElement[bool] = ModelVersion.owner_id.is_(None)
    if viewer_id is not None:
        owners = or_(owners, ModelVersion.owner_id == viewer_id)
    parent = aliased(ModelVersion)
    row = session.execute(
        select(ModelVersion, parent.name, TrainingRun)
        .outerjoin(parent, ModelVersion.parent_id == parent.id)
        .outerjoin(TrainingRun, ModelVersion.training_run_id == TrainingRun.id)
        .where(ModelVersion.name == name, ModelVersion.modality == modality, owners)
    ).first()
    if row is None:
        return None
    version, parent_name, run = row
    return VersionRecord(
        version.name,
        version.modality,
        version.base_model,
        version.status,
        version.owner_id is not None,
        version.created_at,
        version.promoted_at,
        parent_name,
        dict(version.sampling_defaults or {}),
        _run_record(run) if run is not None else None,
    )


def _run_record(run: TrainingRun) -> RunRecord:
    return RunRecord(
        run.started_at,
        run.finished_at,
        run.status,
        run.method,
        dict(run.data_counts or {}),
        dict(run.metrics or {}),
        run.report_path,
    )


def ratings_given_before(session: Session, *, rater_id: int, modality: str, cutoff: datetime) -> int:
    """How many of `rater_id`'s ratings of `modality` outputs were given before `cutoff` (a
    training run's start), on outputs not withheld: those a run starting then could read."""
    count = session.scalar(
        select(func.count(Rating.id))
        .join(Output, Rating.output_id == Output.id)
        .join(Request, Output.request_id == Request.id)
        .where(Rating.rater_id == rater_id, Request.modality == modality, Rating.created_at <= cutoff, ~withheld())
    )
    return int(count or 0)


def answer_record(session: Session, *, output_id: int, session_id: str) -> AnswerRecord:
    """Output `output_id` with its request, if this browser session made it; UnknownIdError
    otherwise (the same for someone else's output as for none, so ids reveal nothing)."""
    row = session.execute(
        select(Output, Request)
        .join(Request, Output.request_id == Request.id)
        .where(Output.id == output_id, Request.session_id == session_id)
    ).first()
    if row is None:
        raise UnknownIdError(f"output {output_id} is not in this browser's history")
    output, request = row
    return AnswerRecord(
        output.id,
        request.modality,
        request.prompt,
        dict(request.parameters or {}),
        request.model_version,
        output.seed,
        output.moderation,
        request.created_at,
    )
