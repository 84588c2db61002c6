"""POST /api/ratings through the real app (fake generators): the identity cookie, the origin
policy, the guard's body limit, and the same checks, messages and rows as `/rate_text`."""

from __future__ import annotations

import httpx
import pytest
from gradio_client import Client
from sqlalchemy import select

from feedback_db.schema import Rating
from playground.web.guard import COOKIE_NAME
from tests.launch import running_app

EVIL_ORIGIN = "http://evil.example.test:9999"
COLUMNS = ("naturalness", "reliability", "thumbs", "comment", "reason", "source")


@pytest.fixture
def url(context):
    with running_app(context) as url:
        yield url


def generated(url: str) -> tuple[Client, httpx.Client, list[int]]:
    """A browser that generated 2 candidates: its gradio_client, an HTTP client with the same
    cookie, and its output ids as GET /api/outputs lists them."""
    gradio = Client(url, verbose=False)
    gradio.predict("hello world", 2, 16, 0.7, 0.9, 1.1, 3, "", api_name="/generate_text")
    http = httpx.Client(base_url=url, cookies={COOKIE_NAME: gradio.cookies[COOKIE_NAME]}, timeout=30)
    listed = http.get("api/outputs").json()["requests"]
    assert [r["modality"] for r in listed] == ["text"]
    return gradio, http, listed[0]["output_ids"]


def rows(database, output_id: int) -> list[tuple]:
    with database.read_sessions() as session:
        return [tuple(getattr(r, c) for c in COLUMNS) for r in session.scalars(select(Rating).where(Rating.output_id == output_id))]


def test_a_rating_over_http_is_the_callers_own_and_stored_as_the_gradio_path_stores_it(url, database):
    gradio, http, (first, second) = generated(url)
    body = {"naturalness": 4, "thumbs": -1, "comment": "  fine  "}
    reply = http.post("api/ratings", json={"output_id": first, **body})
    assert reply.status_code == 200, reply.text
    said = gradio.predict(1, 4, None, -1, "  fine  ", api_name="/rate_text")
    assert reply.json() == {"status": said, "output_id": first}
    assert rows(database, first) == rows(database, second) and len(rows(database, first)) == 1
    # Another browser's call, with its own cookie, may not rate these.
    _, stranger, _ = generated(url)
    refused = stranger.post("api/ratings", json={"output_id": first, "naturalness": 1})
    assert refused.status_code == 403
    assert refused.json() == {"error": "you can rate only the candidates generated in your own session"}
    assert rows(database, first)[0][0] == 4


BAD_VALUES = [  # (JSON fields, the same values as /rate_text's naturalness, reliability, thumbs, comment)
    ({"naturalness": 3.5}, (3.5, None, None, None)),
    ({"naturalness": 6}, (6, None, None, None)),
    ({"reliability": "x"}, (None, "x", None, None)),
    ({"thumbs": 0}, (None, None, 0, None)),
    ({}, (None, None, None, None)),
    ({"comment": "x" * 5001}, (None, None, None, "x" * 5001)),
]


def test_bad_values_are_refused_with_the_gradio_paths_messages(url, database):
    gradio, http, (first, _) = generated(url)
    for fields, gradio_args in BAD_VALUES:
        reply = http.post("api/ratings", json={"output_id": first, **fields})
        assert reply.status_code == 422, reply.text
        with pytest.raises(Exception) as refused:
            gradio.predict(0, *gradio_args, api_name="/rate_text")
        assert reply.json()["error"] in str(refused.value), fields
    assert rows(database, first) == []


def test_unknown_ids_no_identity_other_origins_and_huge_bodies_are_refused(url, context):
    _, http, _ = generated(url)
    cases = [
        (http.post("api/ratings", json={"output_id": 10**9, "naturalness": 3}), 404, "output 1000000000 does not exist"),
        (http.post("api/ratings", json={"naturalness": 3}), 422, "give the output_id of one of your candidates"),
        (
            http.post("api/ratings", json={"output_id": 1, "stars": 3}),
            422,
            "unknown field 'stars'; give output_id, naturalness, reliability, thumbs, comment",
        ),
        (http.post("api/ratings", content=b"not json"), 422, "the body must be a JSON object"),
        (httpx.post(url + "api/ratings", json={"output_id": 1, "naturalness": 3}), 409, "generate first, then rate"),
        (httpx.get(url + "api/outputs"), 409, "generate first, then rate"),
    ]
    for reply, status, message in cases:
        assert (reply.status_code, reply.json()["error"]) == (status, message)
    evil = http.post("api/ratings", json={"output_id": 1, "naturalness": 3}, headers={"Origin": EVIL_ORIGIN})
    assert evil.status_code == 403 and evil.json()["error"].startswith(f"Requests from {EVIL_ORIGIN} are not accepted")
    huge = http.post("api/ratings", content=b"{" + b" " * (context.settings.max_request_bytes + 1) + b"}")
    assert huge.status_code == 413
