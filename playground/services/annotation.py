"""Annotator log-in and the rating queue, as plain functions the Annotate tab wires (no Gradio).

Log-in checks the name and password with argon2 (`feedback_db.users.authenticate`) and opens a
`sessions` row with an expiry, keyed by the caller's session key: the keyed hash of the browser's
HttpOnly cookie token for purpose "login" (playground/web/ui/session.py), so neither the token nor
anything Gradio's session_hash can reach is the credential. Log-out deletes the row. Every
function below that touches the queue or the agreement figures starts with `require_annotator`,
which looks the key up and re-reads the user's role from the database on every call: Gradio
exposes each handler as an API endpoint, so hiding a panel in the UI protects nothing.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pandas as pd
from sqlalchemy.orm import Session

from feedback_db.agreement import agreement_frames
from feedback_db.assignments import (
    ItemRatings,
    Progress,
    QueueItem,
    QueuePolicy,
    annotator_ratings,
    load_item,
    next_item,
    progress,
    release,
    skip,
    submit,
    submitted_history,
)
from feedback_db.drafts import load_draft, save_draft
from feedback_db.schema import User, UserSession, utcnow
from feedback_db.users import authenticate, close_login_session, open_login_session
from playground.core.database import Database
from playground.core.errors import NotAllowedError
from playground.core.settings import Settings

ANNOTATOR_ROLES = ("annotator", "admin")
ADMIN_ROLES = ("admin",)
LOGIN_LIFETIME = timedelta(hours=12)


class NotLoggedInError(NotAllowedError):
    """No valid annotator login: never logged in, logged out, or expired."""


@dataclass(frozen=True)
class AnnotatorLogin:
    token: str
    user_id: int
    name: str
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @classmethod
    def claimed(cls, token: str) -> AnnotatorLogin:
        """A login the caller claims by its session key; `require_annotator` checks it."""
        return cls(token=token, user_id=-1, name="", role="")


@dataclass(frozen=True)
class Shown:
    """An item on an annotator's screen, with what they said about it before (when editing)."""

    item: QueueItem
    ratings: ItemRatings
    editing: bool  # an earlier, submitted item (Back), not a fresh lease
    lease_expires_at: datetime | None = None


def policy_for(settings: Settings) -> QueuePolicy:
    return QueuePolicy(
        overlap=settings.annotation_overlap,
        lease=timedelta(minutes=settings.annotation_lease_minutes),
        min_output_tokens=settings.annotation_min_tokens,
        include_cut=settings.annotation_include_cut,
    )


# -- log-in -----------------------------------------------------------------------------------


def log_in(
    database: Database, name: str, password: str, *, session_key: str | None = None, roles: tuple[str, ...] = ANNOTATOR_ROLES
) -> AnnotatorLogin:
    """Check the password and open a session under `session_key` (a fresh random key if None)
    for a user of one of `roles`; the message never says which part was wrong. A refused log-in
    opens nothing and leaves the key's earlier log-in as it was."""
    if not isinstance(name, str) or not isinstance(password, str):
        raise NotAllowedError("Wrong name or password.")
    with database.sessions.begin() as session:
        user = authenticate(session, name=name, password=password or "")
        if user is None:
            raise NotAllowedError("Wrong name or password.")
        if user.role not in ANNOTATOR_ROLES:
            raise NotAllowedError("Only annotators and admins can log in here.")
        if user.role not in roles:
            raise NotAllowedError("Only admins can log in here; annotators log in on the Annotate tab.")
        # Logging in again from the same browser replaces that browser's earlier log-in.
        now, token = utcnow(), session_key or secrets.token_hex(32)
        open_login_session(session, user_id=user.id, session_id=token, expires_at=now + LOGIN_LIFETIME, now=now)
        return AnnotatorLogin(token, user.id, user.name, user.role)


def log_out(database: Database, login: AnnotatorLogin | None) -> None:
    """End the session and let the annotator's current lease lapse, so others can take it."""
    if not isinstance(login, AnnotatorLogin):
        return
    with database.sessions.begin() as session:
        user_id = close_login_session(session, session_id=login.token)
        if user_id is not None:
            release(session, annotator_id=user_id)


def require_annotator(database: Database, login: object, *, admin: bool = False) -> AnnotatorLogin:
    """The checked login behind a page's state, or NotLoggedInError / NotAllowedError."""
    if not isinstance(login, AnnotatorLogin):
        raise NotLoggedInError("Log in as an annotator first.")
    with database.read_sessions() as session:
        row = session.get(UserSession, login.token)
        user = session.get(User, row.user_id) if row is not None else None
        if row is None or user is None or row.expires_at is None:
            raise NotLoggedInError("Log in as an annotator first.")
        if _expired(row.expires_at):
            raise NotLoggedInError("Your log-in has expired: log in again.")
        if user.role not in ANNOTATOR_ROLES:
            raise NotAllowedError("Only annotators and admins can use the annotation queue.")
        if admin and user.role != "admin":
            raise NotAllowedError("Only admins can see agreement figures and insights.")
        return AnnotatorLogin(login.token, user.id, user.name, user.role)


def _expired(expires_at: datetime | None) -> bool:
    if expires_at is None:
        return False
    aware = expires_at if expires_at.tzinfo else expires_at.replace(tzinfo=UTC)  # SQLite drops it
    return aware <= utcnow()


# -- the queue --------------------------------------------------------------------------------


def take_next(database: Database, settings: Settings, login: object) -> Shown | None:
    """The annotator's current or next item from the queue, with the scores of its draft (a
    reload or a crash loses nothing); None when nothing is left."""
    user = require_annotator(database, login)
    with database.sessions.begin() as session:
        lease = next_item(session, annotator_id=user.user_id, policy=policy_for(settings))
        if lease is None:
            return None
        draft = ItemRatings()
        if lease.resumed:
            draft = load_draft(session, annotator_id=user.user_id, request_id=lease.request_id)
        return Shown(load_item(session, lease.request_id), draft, False, lease.expires_at)


def keep_draft(database: Database, login: object, request_id: int, ratings: ItemRatings) -> bool:
    """Store the scores set so far on the annotator's current item (False: already submitted)."""
    user = require_annotator(database, login)
    with database.sessions.begin() as session:
        return save_draft(session, annotator_id=user.user_id, request_id=request_id, ratings=ratings)


def submit_item(database: Database, settings: Settings, login: object, request_id: int, ratings: ItemRatings) -> None:
    """Save the annotator's ratings (source "annotator") for a leased or earlier item."""
    user = require_annotator(database, login)
    with database.sessions.begin() as session:
        submit(session, annotator_id=user.user_id, request_id=request_id, ratings=ratings, policy=policy_for(settings))


def skip_item(database: Database, login: object, request_id: int) -> None:
    user = require_annotator(database, login)
    with database.sessions.begin() as session:
        skip(session, annotator_id=user.user_id, request_id=request_id)


def earlier_item(database: Database, login: object, current: int | None, editing: bool) -> Shown | None:
    """Back: the submitted item before `current` (the latest one when coming from the queue)."""
    user = require_annotator(database, login)
    with database.read_sessions() as session:
        history = submitted_history(session, annotator_id=user.user_id)
        position = history.index(current) - 1 if editing and current in history else len(history) - 1
        if position < 0:
            return None
        return _shown_again(session, user.user_id, history[position])


def later_item(database: Database, login: object, current: int) -> Shown | None:
    """After editing an earlier item: the one submitted after it, or None to return to the queue."""
    user = require_annotator(database, login)
    with database.read_sessions() as session:
        history = submitted_history(session, annotator_id=user.user_id)
        if current not in history or history.index(current) + 1 >= len(history):
            return None
        return _shown_again(session, user.user_id, history[history.index(current) + 1])


def progress_of(database: Database, settings: Settings, login: object) -> Progress:
    user = require_annotator(database, login)
    with database.read_sessions() as session:
        return progress(session, annotator_id=user.user_id, policy=policy_for(settings))


def agreement_for_admin(database: Database, login: object) -> dict[str, pd.DataFrame]:
    """Alpha per axis and co-rated items per annotator pair: admins only."""
    require_annotator(database, login, admin=True)
    with database.read_sessions() as session:
        return agreement_frames(session)


def _shown_again(session: Session, annotator_id: int, request_id: int) -> Shown:
    ratings = annotator_ratings(session, annotator_id=annotator_id, request_id=request_id)
    return Shown(load_item(session, request_id), ratings, editing=True)
