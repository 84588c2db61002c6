"""Recognising storage failures - a read-only or full data dir, a missing permission - so the
app and the CLI can say so instead of "something went wrong"."""

from __future__ import annotations

import errno

from sqlalchemy.exc import SQLAlchemyError

_SQLITE_MESSAGES = {
    "readonly": "the database is read-only (check the data dir's permissions and free space: {where})",
    "disk is full": "the disk holding the data dir is full ({where})",
    "disk i/o error": "the disk holding the data dir failed to read or write ({where})",
    "unable to open database": "the database file cannot be opened ({where})",
}
_OS_MESSAGES = {
    errno.EROFS: "the data dir is on a read-only file system ({where})",
    errno.ENOSPC: "the disk holding the data dir is full ({where})",
    errno.EACCES: "no permission to write in the data dir ({where})",
    errno.EPERM: "no permission to write in the data dir ({where})",
}


def storage_problem(error: BaseException, where: str = "see the log") -> str | None:
    """A one-line description if `error` is a storage failure, else None."""
    current: BaseException | None = error
    while current is not None:
        if isinstance(current, SQLAlchemyError):
            text = str(getattr(current, "orig", None) or "").lower()
            for needle, message in _SQLITE_MESSAGES.items():
                if needle in text:
                    return message.format(where=where)
        if isinstance(current, OSError) and current.errno in _OS_MESSAGES:
            return _OS_MESSAGES[current.errno].format(where=current.filename or where)
        current = current.__cause__ or current.__context__
    return None


def database_error_line(error: SQLAlchemyError) -> str:
    """One line for a database error, without the SQL statement or its parameters (they can
    hold password hashes and user text)."""
    problem = storage_problem(error)
    if problem is not None:
        return problem
    original = getattr(error, "orig", None)
    return f"database error: {type(original or error).__name__}: {original or error.__class__.__doc__ or ''}".strip()
