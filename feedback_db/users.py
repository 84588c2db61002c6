"""Accounts: annotators and admins log in with argon2-hashed passwords; end users are anonymous."""

from __future__ import annotations

import re
import unicodedata
import uuid
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from feedback_db.errors import InvalidInputError, UnknownIdError, UserExistsError
from feedback_db.schema import ROLES, User, UserSession

MIN_PASSWORD_LENGTH = 8
_NAME_PATTERN = re.compile(r"^[A-Za-z0-9_.@-]{2,64}$")
_hasher = PasswordHasher()  # argon2id with the library's recommended parameters


def user_name_key(name: object) -> str:
    """The one key of a user name, for the log-in throttle, the lookup and creation alike.

    NFKC folds look-alike spellings (fullwidth letters, no-break and em spaces) into their plain
    form, strip() drops padding, casefold() ignores case: " bob", "\u00a0bob", "bob\u2003" and
    "BOB" are all "bob", so no spelling of a locked name escapes its lockout.
    """
    return unicodedata.normalize("NFKC", name).strip().casefold() if isinstance(name, str) else ""


def create_user(session: Session, *, name: str, role: str, password: str | None = None) -> User:
    """Add a user; annotators and admins must have a password. The name is kept as typed (NFKC,
    stripped); no other spelling of it (`user_name_key`) may exist already."""
    name = unicodedata.normalize("NFKC", name).strip() if isinstance(name, str) else ""
    if not _NAME_PATTERN.match(name):
        raise InvalidInputError("user names are 2-64 characters: letters, digits and _ . @ - only")
    if role not in ROLES:
        raise InvalidInputError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    if role != "end_user" and (password is None or len(password) < MIN_PASSWORD_LENGTH):
        raise InvalidInputError(f"{role}s need a password of at least {MIN_PASSWORD_LENGTH} characters")
    if _user_named(session, name) is not None:
        raise UserExistsError(f"a user named {name!r} already exists")
    user = User(name=name, role=role, password_hash=_hasher.hash(password) if password else None)
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, *, name: str, password: str) -> User | None:
    """Return the user if the password matches, else None (never says which part was wrong)."""
    user = _user_named(session, name)
    if user is None or user.password_hash is None:
        _hasher.hash(password or "x")  # same cost either way, so timing does not leak names
        return None
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    return user


def _user_named(session: Session, name: str) -> User | None:
    """The user whose name has the same key as `name` (names are ASCII, so lower() is casefold)."""
    return session.scalar(select(User).where(func.lower(User.name) == user_name_key(name)))


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).where(User.role != "end_user").order_by(User.name)))


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise UnknownIdError(f"user {user_id} does not exist")
    return user


def anonymous_user_for_session(
    session: Session, *, session_id: str | None = None, expires_at: datetime | None = None
) -> tuple[User, UserSession]:
    """Return the end user behind a browser session, creating both on first use."""
    if session_id is not None:
        existing = session.get(UserSession, session_id)
        if existing is not None:
            return get_user(session, existing.user_id), existing
    session_id = session_id or uuid.uuid4().hex
    user = User(name=f"anon-{session_id[:32]}", role="end_user")
    session.add(user)
    session.flush()
    browser_session = UserSession(id=session_id, user_id=user.id, expires_at=expires_at)
    session.add(browser_session)
    session.flush()
    return user, browser_session


def user_id_for_session(session: Session, *, session_id: str) -> int | None:
    """The user behind a browser or log-in session key, or None if there is none (one statement:
    the session row and its user must both exist)."""
    return session.scalar(select(UserSession.user_id).join(User, User.id == UserSession.user_id).where(UserSession.id == session_id))


def open_login_session(session: Session, *, user_id: int, session_id: str, expires_at: datetime, now: datetime) -> UserSession:
    """Start a log-in session under `session_id`: the user's expired sessions are dropped (so the
    table does not grow with every log-in) and an earlier log-in under the same key is replaced."""
    session.execute(delete(UserSession).where(UserSession.user_id == user_id, UserSession.expires_at < now))
    session.execute(delete(UserSession).where(UserSession.id == session_id))
    row = UserSession(id=session_id, user_id=user_id, expires_at=expires_at)
    session.add(row)
    return row


def close_login_session(session: Session, *, session_id: str) -> int | None:
    """End a session; returns whose it was (None if it did not exist)."""
    row = session.get(UserSession, session_id)
    if row is None:
        return None
    session.delete(row)
    session.flush()
    return row.user_id


def set_personal_defaults(session: Session, *, user_id: int, on: bool) -> User:
    """Turn an identity's personal sampling defaults on or off (flushed, not committed)."""
    user = get_user(session, user_id)
    user.personal_defaults = bool(on)
    session.flush()
    return user
