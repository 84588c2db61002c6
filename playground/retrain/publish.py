"""Stages 6 and 7 of `playground retrain`: the promotion decision and publishing the version.

`decide_promotion` is the one place that turns evidence into a promotion; `publish` moves the
trained adapter into its final folder and then, in one transaction, registers the version,
promotes it if the decision says so and closes the run. Nothing visible changes before that
transaction, so a kill before it leaves the active version and the database as they were.
"""

from __future__ import annotations

import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from feedback_db.personal import retire_stale_personal
from feedback_db.runs import finish_run
from feedback_db.versions import active_version, create_version, promote_version, retire_version
from models.base import Modality
from models.finetune.evaluate import Evaluation
from models.finetune.text import TrainResult
from playground.core.database import Database
from playground.core.settings import Settings
from playground.retrain.behaviour import BehaviourComparison
from playground.retrain.capability import CapabilityCheck
from playground.retrain.report import ReportInputs

# promoted: the gate showed the new version better; insufficient-evidence: ahead but not
# significantly (kept as a candidate); rejected: not better (kept as a candidate, not served).
# forgets: it lost more than a tolerance of what the base model could do (the capability guard,
# playground/retrain/capability.py): registered as retired, never served, whatever the raters said.
# failed: a personal run that raised (the others go on; a global run's error ends the command).
OutcomeStatus = Literal["skipped", "dry-run", "promoted", "awaiting-arena", "insufficient-evidence", "rejected", "forgets", "failed"]


@dataclass(frozen=True)
class Decision:
    """Whether to promote, why, and the outcome status it gives."""

    promote: bool
    status: OutcomeStatus
    summary: str  # one line for people: the verdict in words


def decide_promotion(
    evaluation: Evaluation, *, arena_min_battles: int | None = None, capability: CapabilityCheck | None = None
) -> Decision:
    """Promote only on evidence: the held-out gate's verdict (`models.finetune.evaluate`).

    The one place that turns evidence into a promotion. With `arena_min_battles` set, the
    held-out gate alone is not enough: a version that passes it stays a candidate until the
    arena gate (`playground.retrain.arena_gate`, run at the start of each retrain) has seen that many
    battles against the active version and its win rate's 95% CI lies above one half.
    A `capability` check that found forgotten figures refuses the candidate before anything else.
    """
    if capability is not None and capability.forgets:
        return Decision(
            False,
            "forgets",
            f"refused, it forgets what the base model could do: {capability.describe(capability.forgets)} "
            f"(held-out prompts: {evaluation.reason})",
        )
    if evaluation.verdict == "better" and arena_min_battles:
        return Decision(
            False,
            "awaiting-arena",
            f"kept as a candidate, passed the held-out gate ({evaluation.reason}); "
            f"the arena decides after {arena_min_battles} battles against the active version",
        )
    if evaluation.verdict == "better":
        return Decision(True, "promoted", f"promoted to active: {evaluation.reason}")
    if evaluation.verdict == "insufficient-evidence":
        return Decision(
            False,
            "insufficient-evidence",
            f"kept as a candidate, too little evidence: {evaluation.reason}; the arena or more feedback decides",
        )
    return Decision(False, "rejected", f"not promoted (kept as a candidate): {evaluation.reason}")


def run_metrics(
    decision: Decision,
    evaluation: Evaluation,
    margins: Evaluation,
    behaviour: BehaviourComparison,
    result: TrainResult,
    capability: CapabilityCheck | None = None,
) -> dict[str, Any]:
    """What the closed run records: the decision and the evidence behind it (no per-row details)."""
    extra = {"capability": capability.as_metrics()} if capability is not None else {}
    return {
        **extra,
        "decision": decision.status,
        "evaluation": _evaluation_dict(evaluation),
        "margins": _evaluation_dict(margins),
        "behaviour": asdict(behaviour),
        "train_loss": result.train_loss,
        "steps": result.steps,
    }


def publish(
    settings: Settings,
    database: Database,
    inputs: ReportInputs,
    *,
    run_id: int,
    temp_dir: Path,
    report_path: Path,
    metrics: dict[str, Any],
    owner_id: int | None = None,
    refused: bool = False,
) -> None:
    """7. Publish: final adapter folder, version row, promotion and run status in one transaction.

    The folder is renamed first so that the version row never names a folder that is not there;
    if the transaction fails, the folder goes again (the next run would remove it anyway).
    `owner_id`: a personal version; one that is not promoted retires its owner's older personal
    version if that one was trained on another global version than tonight's (it was never
    compared with the global version now served, so the owner is served that instead)."""
    final_dir = settings.adapters_dir / inputs.version
    temp_dir.rename(final_dir)
    try:
        with database.sessions.begin() as session:
            parent = active_version(session, modality=inputs.modality)
            version = create_version(
                session,
                name=inputs.version,
                modality=inputs.modality,
                base_model=_base_model(settings, inputs.modality),
                adapter_path=str(final_dir.resolve()),
                parent_id=parent.id if parent else None,
                training_run_id=run_id,
                sampling_defaults=inputs.sampling,
                owner_id=owner_id,
            )
            if inputs.promoted:
                promote_version(session, version_id=version.id)
            elif refused:  # it forgets: never served, and no arena gate may promote it
                retire_version(session, version_id=version.id)
            elif owner_id is not None:
                retire_stale_personal(session, modality=inputs.modality, owner_id=owner_id, parent_id=version.parent_id)
            finish_run(
                session,
                run_id=run_id,
                method=inputs.training.method,
                timings=inputs.timings,
                report_path=str(report_path),
                metrics=metrics,
            )
    except BaseException:
        shutil.rmtree(final_dir, ignore_errors=True)
        raise


def _base_model(settings: Settings, modality: Modality) -> str:
    return {"text": settings.text_model, "image": settings.image_model}[modality]


def _evaluation_dict(evaluation: Evaluation) -> dict[str, Any]:
    return {key: value for key, value in asdict(evaluation).items() if key != "details"}
