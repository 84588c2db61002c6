"""Small builders shared by the database tests."""

from __future__ import annotations

from sqlalchemy.orm import Session

from feedback_db.queries import NewOutput, record_request
from feedback_db.schema import Request, User


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
