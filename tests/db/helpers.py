"""Small builders shared by the database tests."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from feedback_db.arena import Contestant, create_battle, finish_battle, record_vote
from feedback_db.queries import NewOutput, record_request
from feedback_db.schema import Request, User

if TYPE_CHECKING:
    from playground.core.database import Database

_VOTERS = itertools.count()


def add_rater(session: Session, name: str, role: str = "end_user") -> User:
    user = User(name=name, role=role)
    session.add(user)
    session.flush()
    return user


def add_text_request(session: Session, n: int = 2, prompt: str = "Say hi") -> Request:
    outputs = [NewOutput(index=i, seed=100 + i, latency_ms=12.5, text=f"hi {i}", tokens=12) for i in range(n)]
    return record_request(
        session,
        modality="text",
        prompt=prompt,
        parameters={"temperature": 0.7, "n": n},
        model_version="base",
        outputs=outputs,
    )


def add_voted_battle(database: Database, side_a: Contestant, side_b: Contestant, outcome: str, *, prompt: str = "p") -> None:
    """One finished text battle with its vote, from a new voter (both sides answered by one request)."""
    with database.sessions.begin() as session:
        voter = add_rater(session, f"voter-{next(_VOTERS)}")
        request = add_text_request(session, n=1, prompt=prompt)
        battle = create_battle(session, modality="text", prompt=prompt, user_id=voter.id, side_a=side_a, side_b=side_b)
        finish_battle(session, battle_id=battle.id, request_a_id=request.id, request_b_id=request.id)
        record_vote(session, battle_id=battle.id, voter_id=voter.id, outcome=outcome)
