"""The chain of versions: each version of a modality with its parent and what its training run measured.

Every nightly version trains on top of the version served at the time, so the versions form a chain
(with refused candidates branching off it). Reading the chain in one query lets the CLI, the
Insights tab and the retrain report show how the held-out preference and the capability figures
move along it. The run's metrics are handed back as stored: older runs lack the "capability" key,
and the callers show a dash for what is missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from feedback_db.schema import ModelVersion, TrainingRun
from feedback_db.versions import _owned_by


@dataclass(frozen=True)
class ChainLink:
    """One version and the figures of the run that trained it (None: not recorded)."""

    name: str
    parent: str | None  # the parent version's name; None: trained on the base model
    status: str  # candidate | active | retired
    created_at: datetime | None
    promoted_at: datetime | None  # set once the version was ever served
    decision: str | None = None  # the run's outcome: promoted, rejected, forgets, awaiting-arena, ...
    evaluation: dict[str, Any] | None = None  # held-out preference: wins, losses, ties, verdict, p_value, ...
    capability: dict[str, Any] | None = None  # base and candidate figures on the capability set, tolerance, forgets


def version_chain(session: Session, *, modality: str, owner_id: int | None = None) -> list[ChainLink]:
    """The global versions of `modality` (with `owner_id`: that identity's personal ones), oldest first."""
    parent = aliased(ModelVersion)
    rows = session.execute(
        select(ModelVersion, parent.name, TrainingRun.metrics)
        .outerjoin(parent, ModelVersion.parent_id == parent.id)
        .outerjoin(TrainingRun, ModelVersion.training_run_id == TrainingRun.id)
        .where(ModelVersion.modality == modality, _owned_by(owner_id))
        .order_by(ModelVersion.id)
    ).all()
    return [_link(version, parent_name, metrics or {}) for version, parent_name, metrics in rows]


def _link(version: ModelVersion, parent: str | None, metrics: dict[str, Any]) -> ChainLink:
    decision = metrics.get("decision")
    return ChainLink(
        name=version.name,
        parent=parent,
        status=version.status,
        created_at=version.created_at,
        promoted_at=version.promoted_at,
        decision=decision if isinstance(decision, str) else None,
        evaluation=_mapping(metrics.get("evaluation")),
        capability=_mapping(metrics.get("capability")),
    )


def _mapping(value: Any) -> dict[str, Any] | None:
    """A stored sub-dict, or None where it is missing or not a mapping (a run written by an older release)."""
    return dict(value) if isinstance(value, dict) else None
