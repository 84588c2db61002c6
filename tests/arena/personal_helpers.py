"""Builders shared by the personal-arena tests: a global version, personal versions owned by
identities, and votes cast straight into the database (the service path: test_personal_arena.py)."""

from __future__ import annotations

from feedback_db.arena import Contestant, create_battle, finish_battle, record_vote
from feedback_db.personal import RATED_OUTPUTS
from feedback_db.schema import TrainingRun, utcnow
from feedback_db.versions import create_version, promote_version
from playground.core.database import Database
from tests.db.helpers import add_text_request

ACTIVE, CANDIDATE = "text-v1", "text-v2"


def add_global(database: Database, *, candidate: bool = False) -> None:
    """The active global text version, and a global candidate if asked."""
    with database.sessions.begin() as session:
        active = create_version(session, name=ACTIVE, modality="text", base_model="m", adapter_path=None)
        promote_version(session, version_id=active.id)
        if candidate:
            create_version(session, name=CANDIDATE, modality="text", base_model="m", adapter_path=None)


def add_personal(
    database: Database, owner_id: int, name: str, *, rated_outputs: int = 50, decision: str = "promoted", defaults: dict | None = None
) -> None:
    """A personal text version of `owner_id` from a succeeded run; active when the run promoted it."""
    with database.sessions.begin() as session:
        run = TrainingRun(
            modality="text",
            status="succeeded",
            owner_id=owner_id,
            data_counts={RATED_OUTPUTS: rated_outputs},
            metrics={"decision": decision},
            finished_at=utcnow(),
        )
        session.add(run)
        session.flush()
        version = create_version(
            session,
            name=name,
            modality="text",
            base_model="m",
            adapter_path=None,
            training_run_id=run.id,
            sampling_defaults=defaults or {},
            owner_id=owner_id,
        )
        if decision == "promoted":
            promote_version(session, version_id=version.id)


def add_run(database: Database, owner_id: int, status: str) -> None:
    """A personal run that registered no version (skipped, failed)."""
    with database.sessions.begin() as session:
        session.add(TrainingRun(modality="text", status=status, owner_id=owner_id, finished_at=utcnow()))


def cast_votes(database: Database, voter_id: int, version: str, opponent: str, *, wins: int, losses: int, ties: int = 0) -> None:
    """`voter_id`'s battles of `version` against `opponent` (sides alternating), each voted."""
    outcomes = ["won"] * wins + ["lost"] * losses + ["tie"] * ties
    with database.sessions.begin() as session:
        for index, result in enumerate(outcomes):
            first, second = (version, opponent) if index % 2 == 0 else (opponent, version)
            battle = create_battle(
                session, modality="text", prompt=f"p{index}", side_a=Contestant(first), side_b=Contestant(second), user_id=voter_id
            )
            request = add_text_request(session, n=1)
            finish_battle(session, battle_id=battle.id, request_a_id=request.id, request_b_id=request.id)
            winner_side = "a" if first == version else "b"
            outcome = {"won": winner_side, "lost": "b" if winner_side == "a" else "a", "tie": "tie"}[result]
            record_vote(session, battle_id=battle.id, voter_id=voter_id, outcome=outcome)
