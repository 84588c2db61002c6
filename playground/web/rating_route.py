"""A rating as plain JSON over HTTP: `POST /api/ratings`, and `GET /api/outputs` for the ids.

The same app, so the same layers (docs/SECURITY.md): other origins' POSTs are refused by
OriginMiddleware, the guard limits the body and gives the identity cookie, and the caller is the
viewer behind that cookie, exactly as for the Gradio events. The values are checked by the same
function as `/rate_<kind>` (playground/web/ui/rating_api.py) and refused with the same messages.
What differs is the write: it goes through feedback_db's RatingWriter, which looks up the viewer,
checks ownership and upserts inside one group-committed transaction, and the answer comes only
once that transaction has committed.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from feedback_db.errors import FeedbackDBError, InvalidInputError, UnknownIdError
from feedback_db.history import last_request_id, request_view
from feedback_db.rating_writer import RatingWriter
from playground.core.errors import NotAllowedError, PlaygroundError, StaleRequestError
from playground.core.secret_key import token_hash
from playground.core.storage import storage_problem
from playground.services.identity import find_viewer
from playground.services.ratings import GENERATE_FIRST, rate_output_grouped
from playground.serving.context import AppContext
from playground.web.guard import client_token_from_cookie_header
from playground.web.ui.rating_api import checked_rating_fields
from playground.web.ui.values import score_value

log = logging.getLogger("playground.web.api")
RATING_KEYS = ("output_id", "naturalness", "reliability", "thumbs", "comment")
MAX_ID = 2**63 - 1
# The status code of each refusal; anything else the app knows of is 422 (bad input).
STATUS = ((UnknownIdError, 404), (NotAllowedError, 403), (StaleRequestError, 409))


def rating_router(context: AppContext, writer: RatingWriter) -> APIRouter:
    """The JSON rating routes over `context`'s database; `writer` writes for all callers."""
    router = APIRouter()

    @router.post("/api/ratings")
    async def post_rating(request: Request) -> JSONResponse:
        """Body {output_id, naturalness?, reliability?, thumbs?, comment?}: 200 once committed."""
        try:
            # 1. The body, and its values checked as `/rate_<kind>` checks them.
            body = await _json_object(request)
            output_id = score_value("output_id", body.get("output_id"), low=1, high=MAX_ID)
            if output_id is None:
                raise InvalidInputError("give the output_id of one of your candidates")
            comment = body.get("comment")
            if comment is not None and not isinstance(comment, str):
                raise InvalidInputError("a comment must be text")
            fields = checked_rating_fields(body.get("naturalness"), body.get("reliability"), body.get("thumbs"), comment)
            # 2. The write, with the viewer and ownership checked in its transaction.
            status = await rate_output_grouped(writer, _client_key(context, request), output_id, **fields)
        except Exception as error:  # noqa: BLE001 - every refusal becomes a JSON answer
            return _refusal("save the rating", error)
        return JSONResponse({"status": status, "output_id": output_id})

    @router.get("/api/outputs")
    def my_outputs(request: Request) -> JSONResponse:
        """The caller's newest request of each modality and its candidates' output ids (only the
        caller's own: the ids that POST /api/ratings takes)."""
        try:
            viewer = find_viewer(context.database, _client_key(context, request))
            if viewer is None:
                raise StaleRequestError(GENERATE_FIRST)
            requests = []
            with context.database.read_sessions() as session:
                for modality in ("text", "image"):
                    request_id = last_request_id(session, session_id=viewer.browser_session, modality=modality)
                    if request_id is not None:
                        view = request_view(session, request_id=request_id, session_id=viewer.browser_session, rater_id=viewer.user_id)
                        requests.append(
                            {"request_id": view.request_id, "modality": modality, "output_ids": [c.output_id for c in view.candidates]}
                        )
        except Exception as error:  # noqa: BLE001 - every refusal becomes a JSON answer
            return _refusal("list your outputs", error)
        return JSONResponse({"requests": requests})

    return router


async def _json_object(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body())
    except ValueError as error:
        raise InvalidInputError("the body must be a JSON object") from error
    if not isinstance(body, dict):
        raise InvalidInputError("the body must be a JSON object")
    if unknown := sorted(set(body) - set(RATING_KEYS)):
        raise InvalidInputError(f"unknown field {unknown[0]!r}; give {', '.join(RATING_KEYS)}")
    return body


def _client_key(context: AppContext, request: Request) -> str:
    """The caller's browser session id, as `client_of` names it (the guard always sets the cookie)."""
    token = client_token_from_cookie_header(request.headers.get("cookie"))
    if token is None:
        raise StaleRequestError(GENERATE_FIRST)
    return token_hash(context.secret, "browser", token)


def _refusal(action: str, error: Exception) -> JSONResponse:
    """A known error as 4xx {"error": message}; a storage problem 503; anything else logged, 500."""
    if isinstance(error, FeedbackDBError | PlaygroundError | ValueError):
        status = next((code for kind, code in STATUS if isinstance(error, kind)), 422)
        log.info("refused to %s: %s: %s", action, type(error).__name__, error)
        return JSONResponse({"error": str(error)}, status_code=status)
    if (problem := storage_problem(error)) is not None:
        log.error("could not %s: %s", action, problem)
        return JSONResponse({"error": problem}, status_code=503)
    log.error("unexpected error while trying to %s", action, exc_info=error)
    return JSONResponse({"error": f"Something went wrong while trying to {action}; it has been logged."}, status_code=500)
