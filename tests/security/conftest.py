"""The served app on fast fake generators, with an annotator and an admin account."""

from __future__ import annotations

import pytest
from gradio_client import Client

from feedback_db.users import create_user
from tests.launch import running_app

PASSWORD = "adminpass123"


@pytest.fixture
def accounts(database):
    with database.sessions.begin() as session:
        create_user(session, name="ann", role="annotator", password=PASSWORD)
        create_user(session, name="admin1", role="admin", password=PASSWORD)


@pytest.fixture
def url(context, accounts):
    with running_app(context) as url:
        yield url


def client(url: str, cookies: dict | None = None) -> Client:
    """A gradio_client; it keeps the identity cookie of its first response (or `cookies`)."""
    return Client(url, verbose=False, httpx_kwargs={"cookies": cookies} if cookies else None)
