"""Specific errors of the feedback store; the app and the CLI turn them into messages."""


class FeedbackDBError(Exception):
    """Base class of every error raised by `feedback_db`."""


class InvalidInputError(FeedbackDBError, ValueError):
    """A value is out of range or malformed (a score of 7, an empty prompt, a 1 MB comment)."""


class UnknownIdError(FeedbackDBError, LookupError):
    """A referenced row (output, request, user) does not exist."""


class OutputReplacedError(FeedbackDBError):
    """The output was already regenerated: a newer output holds its card (feedback_db/replacements.py)."""


class UserExistsError(FeedbackDBError):
    """A user with that name already exists."""


class DatabaseURLError(FeedbackDBError, ValueError):
    """The database URL is malformed or names a driver that is not installed."""


class DatabaseUnavailableError(FeedbackDBError):
    """The database could not be reached or opened."""


class QueueError(FeedbackDBError):
    """The annotation queue refused an action (see the subclasses)."""


class NotAssignedError(QueueError):
    """The annotator holds no assignment for this request (ask for the next item first)."""


class LeaseLostError(QueueError):
    """The annotator's lease expired and another annotator took the slot."""


class ArenaError(FeedbackDBError):
    """The arena refused an action (see the subclasses in feedback_db.arena)."""


class RequestClosedError(FeedbackDBError):
    """The request's generation already closed (finished, stopped or interrupted): its outputs are set."""


class UnknownRaterError(FeedbackDBError):
    """The rating names a browser session that has no user yet (it never generated anything)."""


class NotOwnerError(FeedbackDBError):
    """The output belongs to another browser session's request: raters rate only their own."""
