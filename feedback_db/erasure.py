"""Delete one identity's data ("Delete my data" in My history): its requests with their outputs,
its ratings, set ratings, flags, assignments with their drafts, arena battles and votes, its
browser sessions and its user row. Nothing of it is left for a later retrain to read.

The user row goes last and takes with it, by its ON DELETE CASCADE keys, every row that names it
as rater, annotator, voter or owner. Requests name their browser session and user ON DELETE SET
NULL (a deleted log-in must not delete feedback), so they are deleted explicitly first: the
identity's own requests, including its arena sides. Other people's ratings of those outputs go
with them (they rated this identity's content). Image files are the caller's: `Erased` lists
those no remaining output refers to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from feedback_db.errors import UnknownIdError
from feedback_db.personal import delete_personal_versions, personal_adapter_folders
from feedback_db.schema import Flag, Output, Rating, Request, SetRating, User, UserSession


@dataclass(frozen=True)
class Erased:
    """What went: counts to show the person, and image files to delete from disk."""

    requests: int
    ratings: int  # this identity's, plus others' of its outputs
    set_ratings: int
    flags: int
    orphaned_images: list[str]  # image paths (as stored) no remaining output refers to
    personal_versions: int = 0
    adapter_folders: list[Path] = field(default_factory=list)  # the personal versions' adapters, to delete


def erase_identity(session: Session, *, user_id: int) -> Erased:
    """Delete everything of user `user_id` (flushed, not committed); UnknownIdError if none."""
    # 1. The identity, its browser sessions, and its requests (by session or by user).
    if session.get(User, user_id) is None:
        raise UnknownIdError(f"user {user_id} does not exist")
    sessions = select(UserSession.id).where(UserSession.user_id == user_id)
    requests = select(Request.id).where(or_(Request.user_id == user_id, Request.session_id.in_(sessions)))
    outputs = select(Output.id).where(Output.request_id.in_(requests))
    # 2. Counts for the person, and the image paths their outputs hold.
    counts = Erased(
        requests=_count(session, Request.id, Request.id.in_(requests)),
        ratings=_count(session, Rating.id, or_(Rating.rater_id == user_id, Rating.output_id.in_(outputs))),
        set_ratings=_count(session, SetRating.id, or_(SetRating.rater_id == user_id, SetRating.request_id.in_(requests))),
        flags=_count(session, Flag.id, or_(Flag.rater_id == user_id, Flag.output_id.in_(outputs))),
        orphaned_images=[],
    )
    named = session.scalars(select(Output.image_path).where(Output.id.in_(outputs), Output.image_path.is_not(None)))
    images = {path for path in named if path is not None}
    # 3. The requests (their outputs, ratings, flags and set ratings cascade), the personal
    #    versions and runs (their adapter folders are the caller's to delete), then the user row.
    adapters = personal_adapter_folders(session, owner_id=user_id)
    session.execute(delete(Request).where(Request.id.in_(requests.scalar_subquery())), execution_options={"synchronize_session": False})
    personal = delete_personal_versions(session, owner_id=user_id)
    session.execute(delete(User).where(User.id == user_id), execution_options={"synchronize_session": False})
    session.flush()
    session.expire_all()
    # 4. Images still named by someone else's output stay (files are named by content).
    kept = set(session.scalars(select(Output.image_path).where(Output.image_path.in_(images)))) if images else set()
    return Erased(counts.requests, counts.ratings, counts.set_ratings, counts.flags, sorted(images - kept), personal, adapters)


def _count(session: Session, column: object, condition: object) -> int:
    return int(session.scalar(select(func.count(column)).where(condition)) or 0)  # type: ignore[arg-type]
