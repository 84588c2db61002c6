"""Errors of the app layer; the UI turns them (and the packages' errors) into messages."""


class PlaygroundError(Exception):
    """Base class of the app's own errors."""


class NotAllowedError(PlaygroundError):
    """The viewer may not do this (rate someone else's output, use an annotator endpoint)."""


class StaleRequestError(PlaygroundError):
    """The action refers to candidates that are no longer on screen (e.g. nothing generated yet)."""
