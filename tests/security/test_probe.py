"""A probe: a catalogue of bad inputs thrown at every public endpoint `view_api()` lists.

For each endpoint, each parameter in turn gets each bad value (the others a plausible value),
and whole calls get too few values, too many, and no list at all; then unknown endpoints, huge
bodies and traversal names. Every reply must be a 2xx/4xx that a person can read: no 5xx, no
traceback, no object repr, no Gradio internals. Afterwards nothing is half-written: every request
has its outputs, no stored text holds a control character, the foreign keys and SQLite's
integrity check are clean, and the server logged no traceback.
"""

from __future__ import annotations

import json
import re

import httpx
import pytest
from sqlalchemy import text

from tests.security.conftest import client

BAD_VALUES = [
    "nul\x00in\x07text\x1b[31m",  # control characters
    float("nan"),
    float("inf"),
    float("-inf"),  # sent as the JSON literals NaN / Infinity
    -1,
    10**12,
    3.5,
    True,  # out of range, fractional, a bool for a number
    "",
    "   ",
    "x" * 100_000,  # empty, blank, huge
    [],
    {"a": 1},
    None,  # wrong types
    "<img src=x onerror=alert(1)>",
    "../../etc/passwd",
    "=cmd|' /C calc'!A0",
]
INTERNALS = re.compile(
    r"Traceback|File \"|object at 0x|gradio\.|Could not preprocess|ComponentProcessingError|"
    r"FnIndexInferError|sqlalchemy|psycopg|sqlite3\.|KeyError|TypeError|AttributeError"
)
TRAVERSALS = [
    "gradio_api/file=../../../../etc/passwd",
    "gradio_api/file=/etc/passwd",
    "gradio_api/file=%2e%2e/%2e%2e/etc/passwd",
    "gradio_api/file=..%2f..%2fetc%2fpasswd",
    "gradio_api/file=data/secret.key",
    "gradio_api/file=data/playground.db",
]


def plausible(parameter: dict) -> object:
    """A value of the parameter's own type, so that one bad value at a time is what is tested."""
    if parameter.get("parameter_has_default"):
        return parameter["parameter_default"]
    kind = parameter["type"].get("type")
    if parameter["type"].get("enum"):
        return parameter["type"]["enum"][0]
    return {"number": 1, "integer": 1, "boolean": False}.get(kind, "a red circle")


def body(data: object) -> bytes:
    return json.dumps({"data": data}, allow_nan=True).encode()


def check_reply(reply: httpx.Response, what: str) -> None:
    assert reply.status_code < 500, f"{what}: HTTP {reply.status_code}: {reply.text[:300]}"
    assert not INTERNALS.search(reply.text), f"{what}: internals in the reply: {reply.text[:300]}"


def calls(endpoints: dict) -> list[tuple[str, str, object]]:
    """(description, api name, data) for every bad input of every endpoint."""
    cases: list[tuple[str, str, object]] = []
    for name, endpoint in endpoints.items():
        api = name.lstrip("/")
        parameters = endpoint["parameters"]
        good = [plausible(p) for p in parameters]
        for index, parameter in enumerate(parameters):
            for value in BAD_VALUES:
                data = [*good[:index], value, *good[index + 1 :]]
                cases.append((f"{name} {parameter['label']!r}={value!r:.30}", api, data))
        cases += [
            (f"{name} too few", api, good[:-1] if good else []),
            (f"{name} too many", api, [*good, 1, "x", None]),
            (f"{name} not a list", api, {"x": 1}),
            (f"{name} a string", api, "x"),
        ]
    return cases


@pytest.mark.slow
@pytest.mark.long  # ~80 s of HTTP round trips: the long lane (`make test-long`)
@pytest.mark.timeout(900)
def test_bad_inputs_at_every_endpoint_get_a_clear_4xx_and_write_nothing_half(url, database, capfd):
    endpoints = client(url).view_api(return_format="dict", print_info=False)["named_endpoints"]
    assert len(endpoints) >= 25, sorted(endpoints)
    with httpx.Client(base_url=url, timeout=60) as http:
        http.get("config")  # an identity cookie, as a browser has
        http.post("gradio_api/run/annotate_login", content=body(["ann", "adminpass123"]), headers={"content-type": "application/json"})
        # 1. Each endpoint, each parameter, each bad value; and wrong shapes of the whole call.
        for what, api, data in calls(endpoints):
            reply = http.post(f"gradio_api/run/{api}", content=body(data), headers={"content-type": "application/json"})
            check_reply(reply, what)
        # 2. Unknown endpoints, broken bodies, a huge body, traversal names.
        for path in ("gradio_api/run/no_such_endpoint", "gradio_api/api/no_such_endpoint", "run/no_such"):
            check_reply(http.post(path, content=body([1])), path)
        for raw in (b"{", b"[]", b'{"data": NaN', b"\xff\xfe", b'{"data": [1], "fn_index": "x"}'):
            check_reply(
                http.post("gradio_api/run/generate_text", content=raw, headers={"content-type": "application/json"}), f"body {raw!r}"
            )
        for raw in (b"{", b'{"data": [], "fn_index": 99999, "session_hash": "x"}', b'{"fn_index": -1}'):
            check_reply(
                http.post("gradio_api/queue/join", content=raw, headers={"content-type": "application/json"}), f"queue/join {raw!r}"
            )
        huge = http.post("gradio_api/run/generate_text", content=b"x" * (3 * 1024 * 1024))
        assert huge.status_code == 413
        for path in TRAVERSALS:
            reply = http.get(path)
            assert reply.status_code in (403, 404), f"{path}: {reply.status_code}"
            assert "root:" not in reply.text and "SQLite format" not in reply.text
    # 3. Nothing half-written, nothing raw, and no traceback in the server's log.
    assert_nothing_half_written(database)
    logged = capfd.readouterr()
    assert "Traceback" not in logged.out + logged.err, (logged.out + logged.err)[-3000:]


def assert_nothing_half_written(database) -> None:
    with database.engine.connect() as connection:
        assert connection.execute(text("PRAGMA integrity_check")).scalar() == "ok"
        assert connection.execute(text("PRAGMA foreign_key_check")).fetchall() == []
        orphans = connection.execute(
            text("SELECT count(*) FROM requests WHERE NOT EXISTS (SELECT 1 FROM outputs WHERE request_id = requests.id)")
        ).scalar()
        assert orphans == 0, "a request without its outputs"
        unfinished = connection.execute(text("SELECT count(*) FROM battles WHERE finished_at IS NULL")).scalar()
        assert unfinished == 0, "a battle left unfinished"
        for table, column in (
            ("requests", "prompt"),
            ("outputs", "text"),
            ("ratings", "comment"),
            ("ratings", "reason"),
            ("flags", "reason"),
            ("battles", "prompt"),
            ("battle_votes", "reason"),
        ):
            values = connection.execute(text(f"SELECT {column} FROM {table} WHERE {column} IS NOT NULL")).scalars()
            raw = [v for v in values if re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", v)]
            assert raw == [], f"control characters stored in {table}.{column}: {raw[:3]!r}"
