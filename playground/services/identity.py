"""Anonymous end users: one identity per browser, named by the keyed hash of its cookie token.

The browser holds a random 256-bit token in an HttpOnly cookie (playground/web/guard.py); the
server stores only HMAC(app secret, token) as the session id, and maps it to an end-user row, so
re-rating from the same browser updates ratings instead of adding new ones, across restarts.
Rows are created only by a write that passed validation (`viewer_in_transaction`), never by a
page view or a refused call.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy.orm import Session

from feedback_db.users import anonymous_user_for_session, user_id_for_session
from playground.core.database import Database


@dataclass(frozen=True)
class Viewer:
    """Who is using the page: their user row and their browser session id (a token hash)."""

    user_id: int
    browser_session: str


@dataclass(frozen=True)
class Client:
    """The caller of one event: keyed hashes of their cookie token, and their address."""

    key: str  # names their anonymous end-user session
    login_key: str  # names their annotator log-in session, if they log in
    ip: str


def find_viewer(database: Database, key: str) -> Viewer | None:
    """The viewer behind a client key, or None if this client has never written anything."""
    # One statement (every rating asks): the session row and its user must both exist.
    with database.read_sessions() as session:
        user_id = user_id_for_session(session, session_id=key)
    return Viewer(user_id=user_id, browser_session=key) if user_id is not None else None


def viewer_in_transaction(session: Session, key: str) -> Viewer:
    """The viewer behind `key`, created inside the caller's (write) transaction if new."""
    user, browser_session = anonymous_user_for_session(session, session_id=key)
    return Viewer(user_id=user.id, browser_session=browser_session.id)


def viewer_for_token(database: Database, token: str | None) -> Viewer:
    """A viewer for scripts and tests: the one behind `token`, or a fresh identity for None."""
    with database.sessions.begin() as session:
        return viewer_in_transaction(session, token or secrets.token_hex(32))
