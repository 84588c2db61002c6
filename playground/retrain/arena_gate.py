"""The arena's half of the promotion gate: promote or retire candidates on their battle record.

`playground retrain --arena-min-battles N` (and `playground versions gate`) call
`apply_arena_gate`; the rule itself is `feedback_db.standings.arena_verdict` (docs/RETRAIN.md,
"Arena gate"). A candidate whose 95% CI of the win rate against the active version lies above
0.5 is promoted, one below 0.5 is retired, any other waits for more votes.

`apply_personal_arena_gate` is the same rule on each active personal version's battles against
the active global version in its owner's votes: one clearly worse is retired (its owner is served
the global version again), one clearly better or still unclear stays. `playground retrain` runs
it every night, and `playground versions gate` with the global gate.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from feedback_db.personal_arena import PooledStanding, global_against_personal, personal_verdicts
from feedback_db.standings import ArenaVerdict, arena_verdict
from feedback_db.versions import active_version, list_versions, promote_version, retire_version
from models.base import BASE_VERSION
from playground.core.database import Database

# The personal gate's decisions: a verdict of "promote" keeps the (already served) version.
PERSONAL_DECISIONS = {"promote": "keep", "retire": "retire", "wait": "wait"}


@dataclass(frozen=True)
class GateAction:
    modality: str
    version: str
    decision: str  # promote | retire | wait
    reason: str


def apply_arena_gate(database: Database, *, modality: str, min_battles: int, seed: int = 0) -> list[GateAction]:
    """Judge every candidate of `modality` against the active version; act in one transaction.

    At most one candidate is promoted per call (the one whose CI lies highest); the others
    keep waiting, since their battles were against the version that has just been replaced.
    """
    with database.sessions.begin() as session:
        # 1. A verdict for each candidate, all against the same active version.
        candidates = [v for v in list_versions(session, modality=modality) if v.status == "candidate"]
        verdicts: list[tuple[int, ArenaVerdict]] = [
            (v.id, arena_verdict(session, modality=modality, candidate=v.name, min_battles=min_battles, seed=seed)) for v in candidates
        ]
        # 2. Retire the losers, promote the clearest winner.
        winners = sorted((x for x in verdicts if x[1].decision == "promote"), key=lambda x: -x[1].result.ci_low)
        promoted = winners[0][0] if winners else None
        actions = []
        for version_id, verdict in verdicts:
            decision = verdict.decision
            if decision == "retire":
                retire_version(session, version_id=version_id)
            elif decision == "promote" and version_id == promoted:
                promote_version(session, version_id=version_id)
            elif decision == "promote":
                decision = "wait"
            actions.append(GateAction(modality, verdict.candidate, decision, verdict.reason))
        return actions


@dataclass(frozen=True)
class PersonalGateTally:
    """What the personal gate did in one modality, in counts only (no identity, no name), and
    the active global version's record against every owner's personal version, pooled."""

    modality: str
    decisions: Counter[str]  # keep | retire | wait -> how many personal versions
    global_version: str
    against_personal: PooledStanding


def apply_personal_arena_gate(database: Database, *, modality: str, min_battles: int, seed: int = 0) -> PersonalGateTally:
    """Judge every active personal version of `modality` on its owner's battles against the
    active global version; retire the clearly worse ones, in one transaction."""
    with database.sessions.begin() as session:
        # 1. A verdict for each active personal version, against the active global version.
        verdicts = personal_verdicts(session, modality=modality, min_battles=min_battles, seed=seed)
        # 2. Retire the clear losers; the others stay as they are.
        decisions: Counter[str] = Counter()
        for personal in verdicts:
            if personal.verdict.decision == "retire":
                retire_version(session, version_id=personal.version_id)
            decisions[PERSONAL_DECISIONS[personal.verdict.decision]] += 1
        # 3. What these votes say about the global version (read by people, decides nothing).
        active = active_version(session, modality=modality)
        name = active.name if active is not None else BASE_VERSION
        pooled = global_against_personal(session, modality=modality, opponent=name, seed=seed)
        return PersonalGateTally(modality, decisions, name, pooled)
