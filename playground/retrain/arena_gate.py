"""The arena's half of the promotion gate: promote or retire candidates on their battle record.

`playground retrain --arena-min-battles N` (and `playground versions gate`) call
`apply_arena_gate`; the rule itself is `feedback_db.standings.arena_verdict` (docs/RETRAIN.md,
"Arena gate"). A candidate whose 95% CI of the win rate against the active version lies above
0.5 is promoted, one below 0.5 is retired, any other waits for more votes.
"""

from __future__ import annotations

from dataclasses import dataclass

from feedback_db.standings import ArenaVerdict, arena_verdict
from feedback_db.versions import list_versions, promote_version, retire_version
from playground.core.database import Database


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
