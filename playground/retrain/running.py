"""Evidence that accumulates: a candidate kept for "too little evidence" is judged again each
night on held-out prompts it has not been judged on, under an always-valid sequential test.

The rules (docs/RETRAIN.md, "Evidence that accumulates"):
1. A run whose verdict is `insufficient-evidence` starts gathering for its candidate, unless an
   older candidate on the same active version is already gathering (one at a time: the older
   one keeps its evidence; the newer is kept as a candidate for the arena).
2. Each later night, before training, the gathering candidate and the active version score the
   held-out pairs of prompts the candidate was never judged on (its first night's prompts are
   left out too, so the running test starts clean of the selection that kept it). Their votes
   add to its tally, and the mixture SPRT's e-value (`models.finetune.sequential`) is read.
3. E >= 1/alpha: the candidate is promoted (at most alpha of no-better candidates ever get
   there, however many nights are looked at). It stops gathering when it is clearly behind
   (more losses than wins over at least MIN_DECIDED prompts) or its active version changed.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Any

from feedback_db.runs import gathering_candidate, record_running_evidence
from feedback_db.versions import active_version, promote_version
from models.finetune.data import FeedbackDatasets, normalise_prompt
from models.finetune.evaluate import GateConfig
from models.finetune.sequential import RunningEvidence
from playground.core.database import Database
from playground.retrain.trainers import ModalityTrainer, served_version

log = logging.getLogger("playground.retrain")
MIN_DECIDED = 10  # prompts with a winner before a candidate that trails is let go


@dataclass(frozen=True)
class Examination:
    """What tonight's look at the gathering candidate found."""

    version: str
    promoted: bool
    still_gathering: bool
    message: str


def prompt_key(prompt: str) -> str:
    """A stored prompt's key: short, and no prompt text kept in the run's metrics."""
    return hashlib.sha256(normalise_prompt(prompt).encode()).hexdigest()[:16]


def first_night(datasets: FeedbackDatasets) -> dict[str, Any]:
    """The evidence a newly kept candidate starts with: nothing, and tonight's prompts used up."""
    return {
        "gathering": True,
        "wins": 0,
        "losses": 0,
        "ties": 0,
        "nights": 0,
        "prompts": sorted({prompt_key(p) for p in datasets.heldout_prompts}),
    }


def examine_gathering_candidate(
    database: Database, trainer: ModalityTrainer, datasets: FeedbackDatasets, gate: GateConfig
) -> Examination | None:
    """Judge the gathering candidate (if any) on tonight's new held-out pairs; promote it once
    its running evidence suffices. None when no candidate is gathering."""
    # 1. The candidate gathering against the active version, if any.
    with database.read_sessions() as session:
        active = active_version(session, modality=datasets.modality)
        found = gathering_candidate(session, modality=datasets.modality, parent_id=active.id if active else None)
        if found is None:
            return None
        version, evidence = found
        candidate, version_id, parent = served_version(version), version.id, served_version(active)
        name = candidate.name
    # 2. Held-out pairs of prompts it was never judged on.
    seen = set(evidence.get("prompts", []))
    pairs = [row for row in datasets.heldout_pairs if prompt_key(row["prompt"]) not in seen]
    running = RunningEvidence(evidence["wins"], evidence["losses"], evidence["ties"], evidence["nights"])
    if not pairs:
        return Examination(name, False, True, f"{name}: no new held-out pairs tonight; {running.describe(gate.alpha)}")
    fresh = FeedbackDatasets(datasets.modality, heldout_pairs=pairs, heldout_prompts=sorted({row["prompt"] for row in pairs}))
    # 3. Score them under both versions; add the votes; read the e-value.
    tonight = trainer.evaluate(fresh, parent, candidate)
    running = running.add(tonight.wins, tonight.losses, tonight.ties)
    promoted = running.passes(gate.alpha)
    behind = running.losses > running.wins and running.wins + running.losses >= MIN_DECIDED
    evidence = {
        **evidence,
        "wins": running.wins,
        "losses": running.losses,
        "ties": running.ties,
        "nights": running.nights,
        "e_value": running.e_value,
        "gathering": not (promoted or behind),
        "prompts": sorted(seen | {prompt_key(row["prompt"]) for row in pairs}),
    }
    with database.sessions.begin() as session:
        record_running_evidence(session, version_id=version_id, evidence=evidence)
        if promoted:
            promote_version(session, version_id=version_id)
    verdict = "promoted on running evidence" if promoted else "stopped gathering: behind" if behind else "still gathering"
    message = f"{name} {verdict}: {running.describe(gate.alpha)}"
    log.info(message)
    return Examination(name, promoted, evidence["gathering"], message)
