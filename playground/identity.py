"""Anonymous end users: one identity per browser, kept in the browser's local storage.

The browser keeps a random 128-bit token; the server maps it to a session row and an
end-user row, so re-rating from the same browser updates ratings instead of adding new ones.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from feedback_db.users import anonymous_user_for_session
from playground.database import Database

_TOKEN = re.compile(r"^[0-9a-f]{32}$")


@dataclass(frozen=True)
class Viewer:
    """Who is using the page: their user row and their browser session id."""

    user_id: int
    browser_session: str


def viewer_for_token(database: Database, token: str | None) -> Viewer:
    """Return the viewer behind `token`, creating a fresh identity for a missing or malformed one."""
    if not token or not _TOKEN.match(token):
        token = secrets.token_hex(16)
    with database.sessions.begin() as session:
        user, browser_session = anonymous_user_for_session(session, session_id=token)
        return Viewer(user_id=user.id, browser_session=browser_session.id)
