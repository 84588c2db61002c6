"""The UI's edge: known errors become a clear message in the browser, the rest are logged."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import gradio as gr

from feedback_db.errors import FeedbackDBError
from models.base import ModelError
from playground.errors import PlaygroundError

log = logging.getLogger("playground.ui")
USER_ERRORS = (FeedbackDBError, ModelError, PlaygroundError)


@contextmanager
def shown_to_user(action: str) -> Iterator[None]:
    """Turn known errors into `gr.Error(message)`; log anything else and show a short notice.

    A failure of one request must leave the app and every other session working, so nothing
    escapes as a crash; unexpected errors keep their traceback in the log, not in the browser.
    """
    try:
        yield
    except gr.Error:
        raise
    except USER_ERRORS as error:
        raise gr.Error(str(error), title=f"Could not {action}") from error
    except Exception as error:
        log.exception("unexpected error while trying to %s", action)
        raise gr.Error(
            f"Something went wrong while trying to {action}; it has been logged. Please try again.",
            title="Error",
        ) from error
