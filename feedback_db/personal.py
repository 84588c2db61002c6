"""Personal versions: adapters trained on one identity's own ratings and served to it alone.

A personal version is a `model_versions` row with an owner; its training runs name the same
owner. These queries are the only ones that read them across owners (the nightly run and the
admin's Insights); everything a user's request touches asks for its own owner's row alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Select, delete, select
from sqlalchemy.orm import Session

from feedback_db.schema import ModelVersion, TrainingRun

# The run's data count that says how many of the owner's rated outputs trained the version.
RATED_OUTPUTS = "rated_outputs"


@dataclass(frozen=True)
class PersonalVersion:
    """An identity's active personal version, as its requests are served."""

    name: str
    adapter_path: Path | None
    sampling_defaults: dict[str, Any]
    rated_outputs: int  # "your version (trained on 57 of your ratings)"


def served_personal_version(session: Session, *, modality: str, owner_id: int) -> PersonalVersion | None:
    """`owner_id`'s active personal version of `modality`, or None (it is served the global one)."""
    row = session.execute(
        select(ModelVersion, TrainingRun)
        .outerjoin(TrainingRun, ModelVersion.training_run_id == TrainingRun.id)
        .where(ModelVersion.modality == modality, ModelVersion.owner_id == owner_id, ModelVersion.status == "active")
    ).first()
    if row is None:
        return None
    version, run = row
    rated = int((run.data_counts or {}).get(RATED_OUTPUTS, 0)) if run is not None else 0
    return PersonalVersion(
        version.name, Path(version.adapter_path) if version.adapter_path else None, dict(version.sampling_defaults), rated
    )


def personal_adapter_folders(session: Session, *, owner_id: int) -> list[Path]:
    """The adapter folders of every personal version of `owner_id` (to delete with its data)."""
    paths = session.scalars(select(ModelVersion.adapter_path).where(ModelVersion.owner_id == owner_id))
    return [Path(path) for path in paths if path]


def delete_personal_versions(session: Session, *, owner_id: int) -> int:
    """Delete `owner_id`'s personal versions and runs (versions first: they name their runs)."""
    versions = session.execute(
        delete(ModelVersion).where(ModelVersion.owner_id == owner_id), execution_options={"synchronize_session": False}
    )
    session.execute(delete(TrainingRun).where(TrainingRun.owner_id == owner_id), execution_options={"synchronize_session": False})
    return int(versions.rowcount or 0)  # type: ignore[attr-defined]


def personal_runs(session: Session, *, modality: str | None = None) -> list[tuple[TrainingRun, ModelVersion | None]]:
    """Every personal run (with the version it registered, if any), oldest first: for Insights."""
    statement = (
        select(TrainingRun, ModelVersion)
        .outerjoin(ModelVersion, ModelVersion.training_run_id == TrainingRun.id)
        .where(TrainingRun.owner_id.is_not(None))
        .order_by(TrainingRun.id)
    )
    if modality is not None:
        statement = statement.where(TrainingRun.modality == modality)
    return [(run, version) for run, version in session.execute(statement).all()]


def active_personal_names(session: Session, *, modality: str) -> dict[int, str]:
    """owner id -> name of its active personal version of `modality`: for Insights."""
    rows = session.execute(
        select(ModelVersion.owner_id, ModelVersion.name).where(
            ModelVersion.modality == modality, ModelVersion.owner_id.is_not(None), ModelVersion.status == "active"
        )
    )
    return {int(owner): name for owner, name in rows.all() if owner is not None}


def retire_stale_personal(session: Session, *, modality: str, owner_id: int, parent_id: int | None) -> bool:
    """Retire `owner_id`'s active personal version of `modality` if it was trained on another
    global version than `parent_id` (the one now served); return whether it did."""
    current = session.scalar(
        select(ModelVersion).where(ModelVersion.modality == modality, ModelVersion.owner_id == owner_id, ModelVersion.status == "active")
    )
    if current is None or current.parent_id == parent_id:
        return False
    current.status = "retired"
    session.flush()
    return True


def personal_names() -> Select[str]:
    """Every personal version's name, as a subquery: the public arena standings and pair
    sampler leave out battles that name one (feedback_db/arena.py)."""
    return select(ModelVersion.name).where(ModelVersion.owner_id.is_not(None))


def personal_version_names(session: Session, *, modality: str | None = None) -> set[str]:
    """The names of every personal version (of `modality`, if given), whoever owns it and
    whatever its status: what public figures leave out and Insights groups as one line."""
    statement = personal_names()
    if modality is not None:
        statement = statement.where(ModelVersion.modality == modality)
    return set(session.scalars(statement))
