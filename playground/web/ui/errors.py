"""The UI's edge: known errors become a clear message in the browser, the rest are logged.

A refused request (bad input, not logged in, rate limited) is an everyday event: it is logged as
one line and never prints a traceback (gr.Error(print_exception=False)). A real fault is logged
with its traceback and shown with the title INTERNAL_ERROR_TITLE, which the guard
(playground/web/guard.py) keeps as HTTP 500; every other error becomes HTTP 422 there.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import gradio as gr

from feedback_db.errors import FeedbackDBError
from models.base import ModelError
from playground.core.errors import PlaygroundError
from playground.core.storage import storage_problem
from playground.web.guard import INTERNAL_ERROR_TITLE

log = logging.getLogger("playground.web.ui")
USER_ERRORS = (FeedbackDBError, ModelError, PlaygroundError)
DEFAULT_TOAST_S = 10  # Gradio's default


@contextmanager
def shown_to_user(action: str, duration: float | None = DEFAULT_TOAST_S) -> Iterator[None]:
    """Turn known errors into `gr.Error(message)`; log anything else and show a short notice.

    `duration`: seconds the message stays on screen (None: until closed). Work that moves on
    quickly (the Annotate tab, an item every few seconds) passes a shorter one, so an old
    message does not sit over the next items.

    A failure of one request must leave the app and every other session working, so nothing
    escapes as a crash; unexpected errors keep their traceback in the log, not in the browser.
    """
    try:
        yield
    except gr.Error as error:
        log.info("refused to %s: %s", action, error.message)
        error.print_exception = False
        error.duration = duration
        raise
    except USER_ERRORS as error:
        log.info("refused to %s: %s: %s", action, type(error).__name__, error)
        raise gr.Error(str(error), title=f"Could not {action}", print_exception=False, duration=duration) from error
    except Exception as error:
        problem = storage_problem(error)
        if problem is not None:
            log.error("could not %s: %s", action, problem)
            raise gr.Error(problem, title=f"Could not {action}", print_exception=False) from error
        log.exception("unexpected error while trying to %s", action)
        raise gr.Error(
            f"Something went wrong while trying to {action}; it has been logged. Please try again.",
            title=INTERNAL_ERROR_TITLE,
            print_exception=False,
        ) from error
