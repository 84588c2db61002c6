"""Errors of the app layer; the UI turns them (and the packages' errors) into messages."""


class PlaygroundError(Exception):
    """Base class of the app's own errors."""


class NotAllowedError(PlaygroundError):
    """The viewer may not do this (rate someone else's output, use an annotator endpoint)."""


class StaleRequestError(PlaygroundError):
    """The action refers to candidates that are no longer on screen (e.g. nothing generated yet)."""


class NotContinuableError(PlaygroundError):
    """Only an answer cut at the length limit can be continued (playground/services/continuation.py)."""


class GenerationRunningError(PlaygroundError):
    """The client's generation is still running: an action that changes its cards must wait."""


class RateLimitedError(PlaygroundError):
    """Too many attempts (log-ins, generations) from one client, name or address."""

    def __init__(self, message: str, *, retry_after_s: int):
        super().__init__(message)
        self.retry_after_s = retry_after_s


class ContentRefusedError(PlaygroundError):
    """The content filter refused a prompt."""


class IncompleteGenerationError(RuntimeError):
    """A generation ended without its final update or without recording its request: a fault of
    the backend, not of the request, so the edges log it with its traceback (not a PlaygroundError)."""


class RequestErasedError(PlaygroundError):
    """The viewer deleted their data while this request was generating: nothing of it was kept."""
