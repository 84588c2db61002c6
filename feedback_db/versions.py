"""Model versions: which adapter each modality serves, and promotion between them.

Exactly one global version per modality is active at a time (or none: the base model is served),
and at most one personal version per modality and identity (feedback_db/personal.py). Promotion
retires the old active version of the same owner and activates the new one in the caller's
transaction, so a crash never leaves two active versions or none half-way. Everything here reads
global versions unless an owner is named: a personal version is never listed, resolved or served
for anyone but its owner.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from feedback_db.errors import InvalidInputError, UnknownIdError
from feedback_db.schema import MODALITIES, ModelVersion, utcnow


def active_version(session: Session, *, modality: str, owner_id: int | None = None) -> ModelVersion | None:
    """The global version the app should serve for `modality` (None: the base model), or with
    `owner_id` that identity's active personal version (None: it has none)."""
    return session.scalar(
        select(ModelVersion).where(ModelVersion.modality == modality, ModelVersion.status == "active", _owned_by(owner_id))
    )


def _owned_by(owner_id: int | None) -> Any:
    return ModelVersion.owner_id.is_(None) if owner_id is None else ModelVersion.owner_id == owner_id


def create_version(
    session: Session,
    *,
    name: str,
    modality: str,
    base_model: str,
    adapter_path: str | None,
    parent_id: int | None = None,
    training_run_id: int | None = None,
    sampling_defaults: dict[str, Any] | None = None,
    owner_id: int | None = None,
) -> ModelVersion:
    """Register a new candidate version (not served until promoted); `owner_id`: a personal one."""
    if modality not in MODALITIES:
        raise InvalidInputError(f"unknown modality {modality!r}")
    version = ModelVersion(
        name=name,
        modality=modality,
        base_model=base_model,
        adapter_path=adapter_path,
        parent_id=parent_id,
        training_run_id=training_run_id,
        sampling_defaults=sampling_defaults or {},
        owner_id=owner_id,
        status="candidate",
    )
    session.add(version)
    session.flush()
    return version


def promote_version(session: Session, *, version_id: int) -> ModelVersion:
    """Make `version_id` the active version of its modality (and owner), retiring the previous one."""
    version = session.get(ModelVersion, version_id)
    if version is None:
        raise UnknownIdError(f"model version {version_id} does not exist")
    previous = active_version(session, modality=version.modality, owner_id=version.owner_id)
    if previous is not None and previous.id != version.id:
        previous.status = "retired"
        session.flush()  # the old row leaves "active" before the new one enters it
    version.status = "active"
    version.promoted_at = utcnow()
    session.flush()
    return version


def list_versions(session: Session, *, modality: str | None = None) -> list[ModelVersion]:
    """The global versions (of `modality`, if given), oldest first."""
    statement = select(ModelVersion).where(ModelVersion.owner_id.is_(None)).order_by(ModelVersion.id)
    if modality is not None:
        statement = statement.where(ModelVersion.modality == modality)
    return list(session.scalars(statement))


def version_by_name(session: Session, *, name: str, modality: str | None = None, owner_id: int | None = None) -> ModelVersion:
    """The global version named `name` (of `modality`, if given), or with `owner_id` also that
    identity's personal ones; UnknownIdError otherwise (the same for another's personal version
    as for no version at all, so a name tells nobody whether someone has one)."""
    owners = (
        ModelVersion.owner_id.is_(None) if owner_id is None else or_(ModelVersion.owner_id.is_(None), ModelVersion.owner_id == owner_id)
    )
    statement = select(ModelVersion).where(ModelVersion.name == name, owners)
    if modality is not None:
        statement = statement.where(ModelVersion.modality == modality)
    version = session.scalar(statement)
    if version is None:
        raise UnknownIdError(f"there is no {modality + ' ' if modality else ''}model version named {name!r}")
    return version


def version_of_run(session: Session, *, run_id: int) -> ModelVersion | None:
    """The version a training run registered, if it registered one."""
    return session.scalar(select(ModelVersion).where(ModelVersion.training_run_id == run_id))


def retire_version(session: Session, *, version_id: int) -> ModelVersion:
    """Stop offering `version_id` (an active one leaves its modality on the base model)."""
    version = session.get(ModelVersion, version_id)
    if version is None:
        raise UnknownIdError(f"model version {version_id} does not exist")
    version.status = "retired"
    session.flush()
    return version
