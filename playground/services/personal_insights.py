"""Personal versions in the admins' Insights: how many identities have one, how their runs' gates
ended, and how far they sit from the global version in their owners' own arena votes.

Counts and pooled figures only: no identity and no personal version is named, and the
per-version plots show every personal version as one line (`PERSONAL_LINE`, in
playground/services/insights.py).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from feedback_db.leaderboard import HeadToHead
from feedback_db.personal import RATED_OUTPUTS, active_personal_names, personal_runs
from feedback_db.personal_arena import GLOBAL, PERSONAL, global_against_personal
from feedback_db.schema import TrainingRun

PERSONAL_LINE = "personal"  # every personal version's outputs and ratings, as one line of the plots
# The gate outcomes a personal run ends with, in the order Insights lists them.
OUTCOMES = ("promoted", "rejected", "insufficient-evidence", "skipped", "failed")


@dataclass(frozen=True)
class PersonalFigures:
    """The personal-version section of Insights for one modality."""

    identities: int = 0  # with an active personal version
    runs: dict[str, int] = field(default_factory=dict)  # personal runs per gate outcome (OUTCOMES first)
    against_global: HeadToHead = HeadToHead(PERSONAL, GLOBAL, 0, np.nan, np.nan, np.nan)  # owners' votes, pooled
    voters: int = 0  # identities whose votes make up `against_global`
    mean_rated_outputs: float | None = None  # per active personal version: the ratings it was trained on

    @property
    def empty(self) -> bool:
        return not (self.identities or sum(self.runs.values()) or self.against_global.battles)


def personal_figures(session: Session, modality: str, *, since: datetime | None = None) -> PersonalFigures:
    """The section's figures; `since` limits the arena votes (runs and versions are all counted)."""
    # 1. Identities served a personal version now, and the ratings those versions were trained on.
    active = active_personal_names(session, modality=modality)
    runs = personal_runs(session, modality=modality)
    rated = [
        int((run.data_counts or {}).get(RATED_OUTPUTS, 0)) for run, version in runs if version is not None and version.status == "active"
    ]
    # 2. Every personal run by how its gate ended.
    outcomes = dict.fromkeys(OUTCOMES, 0)
    for run, _ in runs:
        outcome = run_outcome(run)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    # 3. Personal against global in the owners' own votes, pooled over every owner.
    pooled = global_against_personal(session, modality=modality, since=since)
    return PersonalFigures(len(active), outcomes, pooled.result, pooled.voters, float(np.mean(rated)) if rated else None)


def as_one_personal(frame: pd.DataFrame, personal: Collection[str]) -> pd.DataFrame:
    """`frame` with every personal version's name (in `personal`) replaced by `PERSONAL_LINE`."""
    if frame.empty or not personal:
        return frame
    return frame.assign(model_version=frame["model_version"].where(~frame["model_version"].isin(list(personal)), PERSONAL_LINE))


def run_outcome(run: TrainingRun) -> str:
    """How a personal run ended: its gate's decision once it succeeded, else its status
    (skipped, failed, or running: under way, or cut off before the next run marks it failed)."""
    if run.status == "succeeded":
        return str((run.metrics or {}).get("decision", "succeeded"))
    return run.status
