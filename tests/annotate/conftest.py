"""Builders for the annotation tests: annotators and requests to rate, on a fresh database."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from feedback_db.schema import User
from tests.db.helpers import add_text_request


def add_annotator(session: Session, name: str, role: str = "annotator") -> int:
    """An annotator row without a password hash (argon2 is slow and not what these tests test)."""
    user = User(name=name, role=role)
    session.add(user)
    session.flush()
    return user.id


@pytest.fixture
def make_requests(database):
    def make(count: int, n: int = 2) -> list[int]:
        with database.sessions.begin() as session:
            return [add_text_request(session, n=n, prompt=f"prompt {i}").id for i in range(count)]

    return make


@pytest.fixture
def make_annotators(database):
    def make(*names: str) -> list[int]:
        with database.sessions.begin() as session:
            return [add_annotator(session, name) for name in names]

    return make


@pytest.fixture
def fake_context(context):
    """The app's context on the fast fake generators (tests/conftest.py)."""
    return context
