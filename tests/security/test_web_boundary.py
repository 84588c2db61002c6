"""The web boundary: which address a request comes from, which origins may act with a browser's
cookie, and what a Gradio session_hash lets another client do.

A. X-Forwarded-For (and its relatives) is believed only with PLAYGROUND_TRUST_FORWARDED_FOR, and
   then only as uvicorn reads it: the right-most hop that is not a trusted proxy.
B. Only the app's own origin and PLAYGROUND_ALLOWED_ORIGINS get credentialed CORS answers, and a
   state-changing request from any other Origin is refused.
C. A session_hash belongs to the cookie that used it first: another cookie (or none) that reuses
   it gets 403 and nothing of the victim's events or gr.State.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from contextlib import AbstractContextManager

import httpx
import pytest

from playground.core.settings import Settings
from playground.web.origins import parse_origin
from playground.web.sessions import SessionOwners
from tests.db.helpers import add_text_request
from tests.launch import running_app
from tests.security.conftest import PASSWORD

APP_HOST = "playground.example.test"
OWN_ORIGIN = f"http://{APP_HOST}"
EVIL_ORIGIN = "http://evil.example.test:9999"
SPOOFED = "203.0.113.9"
LOCKED_OUT = "Too many failed log-ins"
STATE_CHANGING = ("POST", "PUT", "PATCH", "DELETE")


# -- helpers ---------------------------------------------------------------------------------


def log_in(url: str, name: str, password: str, headers: dict | None = None) -> httpx.Response:
    """One log-in through the direct REST route, from a fresh client (a fresh cookie)."""
    return httpx.post(url + "gradio_api/run/annotate_login", json={"data": [name, password]}, headers=headers or {}, timeout=60)


def fail_log_ins(url: str, count: int, headers: dict | None = None) -> None:
    """`count` failed log-ins, each with another name, so only the per-address count adds up."""
    for index in range(count):
        reply = log_in(url, f"nobody{index}-{secrets.token_hex(2)}", "guess", headers)
        assert "Wrong name or password" in reply.text, reply.text[:300]


def browser(url: str, **headers: str) -> httpx.Client:
    """An HTTP client that keeps its identity cookie, as a browser does."""
    http = httpx.Client(base_url=url, headers=headers, timeout=30)
    http.get("config")
    return http


def fn_index(http: httpx.Client, api_name: str) -> int:
    config = http.get("config").json()
    return next(dep["id"] for dep in config["dependencies"] if dep.get("api_name") == api_name)


def join(http: httpx.Client, api_name: str, data: list, session_hash: str, **headers: str) -> httpx.Response:
    body = {"data": data, "fn_index": fn_index(http, api_name), "session_hash": session_hash, "event_data": None, "trigger_id": None}
    return http.post("gradio_api/queue/join", json=body, headers=headers)


def read_events(http: httpx.Client, session_hash: str, cookies: dict | None = None) -> tuple[int, list[dict]]:
    """Status and messages of /queue/data for `session_hash`, up to the first completed event."""
    messages: list[dict] = []
    with http.stream("GET", "gradio_api/queue/data", params={"session_hash": session_hash}, cookies=cookies) as reply:
        if reply.status_code != 200:
            reply.read()
            return reply.status_code, [reply.json()]
        for line in reply.iter_lines():
            if line.startswith("data:"):
                messages.append(json.loads(line[5:]))
                if messages[-1].get("msg") in ("process_completed", "close_stream"):
                    break
    return 200, messages


def run_queued(http: httpx.Client, api_name: str, data: list, session_hash: str) -> dict:
    """Join the queue and read the event's result, as Gradio's page does."""
    joined = join(http, api_name, data, session_hash)
    assert joined.status_code == 200, joined.text[:300]
    status, messages = read_events(http, session_hash)
    assert status == 200
    completed = [m for m in messages if m.get("msg") == "process_completed"]
    assert completed and completed[0]["success"], messages
    return completed[0]["output"]


def cors_headers(reply: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in reply.headers.items() if k.lower().startswith("access-control-")}


@pytest.fixture
def served(context, accounts) -> Callable[[], AbstractContextManager[str]]:
    """Start the app after a test has changed the settings: `with served() as url`."""
    return lambda: running_app(context)


# -- A. proxy headers ------------------------------------------------------------------------


@pytest.fixture
def throttled(context):
    context.login_throttle.per_ip.limit = 3  # 20 by default; what is tested is the address
    return context


def test_a_forwarded_headers_are_not_believed_while_trust_is_off(throttled, served):
    assert throttled.settings.trust_forwarded_for is False
    with served() as url:
        fail_log_ins(url, 3)
        assert LOCKED_OUT in log_in(url, "ann", PASSWORD).text
        for header in (
            {"X-Forwarded-For": SPOOFED},
            {"X-Forwarded-For": f"{SPOOFED}, 198.51.100.7"},
            {"X-Real-IP": SPOOFED},
            {"Forwarded": f"for={SPOOFED}"},
            {"X-Forwarded-For": SPOOFED, "X-Forwarded-Proto": "https", "X-Real-IP": SPOOFED},
        ):
            reply = log_in(url, "ann", PASSWORD, header)
            assert LOCKED_OUT in reply.text, (header, reply.status_code, reply.text[:300])


def test_a_behind_a_trusted_proxy_each_forwarded_address_is_throttled_on_its_own(throttled, served):
    throttled.settings.trust_forwarded_for = True  # the proxy is this machine: 127.0.0.1
    with served() as url:
        fail_log_ins(url, 3, {"X-Forwarded-For": SPOOFED})
        assert LOCKED_OUT in log_in(url, "ann", PASSWORD, {"X-Forwarded-For": SPOOFED}).text
        other = log_in(url, "ann", PASSWORD, {"X-Forwarded-For": "198.51.100.7"})
        assert other.status_code == 200 and LOCKED_OUT not in other.text, other.text[:300]


def test_a_a_client_written_left_most_entry_cannot_pick_its_address(throttled, served):
    throttled.settings.trust_forwarded_for = True
    with served() as url:
        # The proxy appends the address it saw (SPOOFED here) to what the client sent.
        fail_log_ins(url, 3, {"X-Forwarded-For": f"198.51.100.1, {SPOOFED}"})
        for claimed in ("198.51.100.2", "10.0.0.1", "127.0.0.1"):
            reply = log_in(url, "ann", PASSWORD, {"X-Forwarded-For": f"{claimed}, {SPOOFED}"})
            assert LOCKED_OUT in reply.text, (claimed, reply.text[:300])


def test_a_the_trusted_proxies_are_a_setting(throttled, served):
    throttled.settings.trust_forwarded_for = True
    throttled.settings.forwarded_allow_ips = "192.0.2.1"  # not this machine: its headers are not believed
    with served() as url:
        fail_log_ins(url, 3)
        assert LOCKED_OUT in log_in(url, "ann", PASSWORD, {"X-Forwarded-For": SPOOFED}).text


# -- B. origins ------------------------------------------------------------------------------


def test_b_a_sibling_origin_gets_no_credentialed_cors_and_cannot_act(url):
    annotator = browser(url, Host=APP_HOST)
    own_hash = secrets.token_hex(6)
    run_queued(annotator, "annotate_login", ["ann", PASSWORD], own_hash)
    evil = {"Origin": EVIL_ORIGIN}
    for reply in (annotator.get("config", headers=evil), annotator.get("gradio_api/info", headers=evil)):
        allowed = reply.headers.get("access-control-allow-origin")
        assert allowed not in (EVIL_ORIGIN, "*"), cors_headers(reply)
        assert "access-control-allow-credentials" not in reply.headers, cors_headers(reply)
    preflight = annotator.options(
        "gradio_api/queue/join", headers={**evil, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    )
    assert cors_headers(preflight) == {}, cors_headers(preflight)
    # The annotator's own cookie, sent by a page on the sibling origin: refused before Gradio.
    evil_hash = secrets.token_hex(6)
    joined = join(annotator, "annotate_next", [], evil_hash, **evil)
    assert joined.status_code == 403, joined.text[:300]
    assert joined.json()["error"].startswith(f"Requests from {EVIL_ORIGIN} are not accepted")
    direct = annotator.post("gradio_api/run/annotate_next", json={"data": []}, headers=evil)
    assert direct.status_code == 403 and "error" in direct.json()
    for method in STATE_CHANGING:
        assert annotator.request(method, "gradio_api/cancel", headers=evil).status_code == 403, method


def test_b_the_apps_own_origin_works(url):
    page = browser(url, Host=APP_HOST, Origin=OWN_ORIGIN)
    reply = page.get("config")
    assert reply.headers.get("access-control-allow-origin") == OWN_ORIGIN
    preflight = page.options("gradio_api/queue/join", headers={"Access-Control-Request-Method": "POST"})
    assert preflight.headers.get("access-control-allow-origin") == OWN_ORIGIN
    output = run_queued(page, "annotate_login", ["ann", PASSWORD], secrets.token_hex(6))
    assert "ann" in json.dumps(output)
    direct = page.post("gradio_api/run/annotate_agreement", json={"data": []})
    assert direct.status_code in (200, 422), direct.text[:300]  # Gradio's answer, not ours
    # Spelling the default port out, or the host in capitals, is the same origin.
    assert (
        browser(url, Host=f"{APP_HOST}:80", Origin="http://PLAYGROUND.example.test")
        .post("gradio_api/run/annotate_agreement", json={"data": []})
        .status_code
        != 403
    )


def test_b_a_configured_origin_works_and_others_still_do_not(context, accounts, served):
    context.settings.allowed_origins = "https://admin.example.test, http://localhost:5173"
    with served() as url:
        page = browser(url, Host=APP_HOST, Origin="https://admin.example.test")
        assert page.get("config").headers.get("access-control-allow-origin") == "https://admin.example.test"
        assert join(page, "annotate_agreement", [], secrets.token_hex(6)).status_code == 200
        local = browser(url, Origin="http://localhost:5173")  # Host: 127.0.0.1:<port>
        assert local.get("config").headers.get("access-control-allow-origin") == "http://localhost:5173"
        evil = browser(url, Host=APP_HOST, Origin=EVIL_ORIGIN)
        assert join(evil, "annotate_agreement", [], secrets.token_hex(6)).status_code == 403


def test_b_forwarded_host_is_the_apps_origin_only_behind_a_trusted_proxy(context, accounts, served):
    proxied = {"Host": "127.0.0.1:7860", "X-Forwarded-Host": APP_HOST, "X-Forwarded-Proto": "https", "Origin": f"https://{APP_HOST}"}
    with served() as url:
        assert join(browser(url, **proxied), "annotate_agreement", [], secrets.token_hex(6)).status_code == 403
    context.settings.trust_forwarded_for = True
    with served() as url:
        assert join(browser(url, **proxied), "annotate_agreement", [], secrets.token_hex(6)).status_code == 200


# -- C. session_hash -------------------------------------------------------------------------


@pytest.fixture
def victim(database, url) -> tuple[httpx.Client, str]:
    """A logged-in annotator (its own cookie) that has loaded its next item through the queue."""
    with database.sessions.begin() as session:
        add_text_request(session, prompt="the victim's secret prompt")
    http = browser(url)
    session_hash = secrets.token_hex(6)
    run_queued(http, "annotate_login", ["ann", PASSWORD], session_hash)
    return http, session_hash


def test_c_another_cookie_or_none_cannot_read_a_reused_session_hash(url, victim):
    http, session_hash = victim
    assert join(http, "annotate_next", [], session_hash).status_code == 200
    attacker = browser(url)
    status, messages = read_events(attacker, session_hash)
    assert status == 403 and list(messages[0]) == ["error"], messages
    anonymous = httpx.Client(base_url=url, timeout=30)  # no cookie at all
    status, messages = read_events(anonymous, session_hash)
    assert status == 403 and "secret" not in json.dumps(messages), messages
    # The victim's own flow is unaffected: it reads its result.
    status, messages = read_events(http, session_hash)
    completed = [m for m in messages if m.get("msg") == "process_completed"]
    assert status == 200 and completed and "the victim's secret prompt" in json.dumps(completed[0]["output"])


def test_c_every_route_that_takes_a_session_hash_refuses_another_cookie(url, victim):
    http, session_hash = victim
    attacker = browser(url)
    refused = [
        join(attacker, "annotate_next", [], session_hash),
        attacker.post("gradio_api/run/annotate_skip", json={"data": [None], "session_hash": session_hash}),
        attacker.post("gradio_api/api/annotate_skip", json={"data": [None], "session_hash": session_hash}),
        attacker.post("gradio_api/call/annotate_skip", json={"data": [None], "session_hash": session_hash}),
        attacker.post("gradio_api/cancel", json={"session_hash": session_hash, "fn_index": 0, "event_id": "x"}),
        attacker.post("gradio_api/component_server", json={"session_hash": session_hash, "component_id": 0, "fn_name": "x", "data": None}),
        attacker.get("gradio_api/deep_link", params={"session_hash": session_hash}),
        # Two values of one name: whichever one Gradio reads, both are checked.
        attacker.get("gradio_api/queue/data", params=[("session_hash", "mine"), ("session_hash", session_hash)]),
        attacker.post(
            "gradio_api/run/annotate_skip",
            content=(f'{{"data": [null], "session_hash": "mine2", "session_hash": "{session_hash}"}}').encode(),
            headers={"content-type": "application/json"},
        ),
    ]
    with attacker.stream("GET", f"gradio_api/heartbeat/{session_hash}") as heartbeat:
        refused.append(heartbeat)
        heartbeat.read()
    for reply in refused:
        assert reply.status_code == 403, (reply.request.method, reply.request.url, reply.status_code, reply.text[:200])
        assert list(reply.json()) == ["error"]
    # And the victim still works with its own session_hash.
    assert "the victim's secret prompt" in json.dumps(run_queued(http, "annotate_next", [], session_hash))


def test_c_a_request_without_cookie_does_not_claim_a_new_session_hash(url):
    fresh = secrets.token_hex(6)
    anonymous = httpx.get(url + "gradio_api/deep_link", params={"session_hash": fresh})  # no cookie: not bound
    assert anonymous.status_code == 200
    owner = browser(url)
    assert owner.get("gradio_api/deep_link", params={"session_hash": fresh}).status_code == 200  # binds it
    assert httpx.get(url + "gradio_api/deep_link", params={"session_hash": fresh}).status_code == 403
    assert browser(url).get("gradio_api/deep_link", params={"session_hash": fresh}).status_code == 403
    assert owner.get("gradio_api/deep_link", params={"session_hash": fresh}).status_code == 200


def test_c_the_binding_map_is_bounded_and_forgets_the_least_recently_used():
    owners = SessionOwners(capacity=3)
    assert owners.admit(["a"], "A") and owners.admit(["b", "c"], "B")
    assert owners.admit(["a"], "A")  # used again: now the most recent
    assert owners.admit(["d" * 100_000], "D") and len(owners) == 3  # "b" is forgotten
    assert owners.admit(["b"], "E") and not owners.admit(["a"], "E") and not owners.admit(["a"], None)
    assert not owners.admit(["x", "a"], "E") and owners.admit(["x"], None)  # a refusal binds nothing
    assert owners.admit(["x"], "F") and not owners.admit(["x"], "E")


def test_settings_name_a_bad_origin_or_proxy():
    with pytest.raises(ValueError, match="'evil.example.test' is not an origin"):
        Settings(allowed_origins="https://ok.example.test, evil.example.test")
    with pytest.raises(ValueError, match="'https://a.example.test/app' is not an origin"):
        Settings(allowed_origins="https://a.example.test/app")
    with pytest.raises(ValueError, match="'proxy.local' is not an IP address or network"):
        Settings(forwarded_allow_ips="10.0.0.0/8, proxy.local")
    assert Settings(allowed_origins=" https://A.example.test:443/ ,").extra_origins == ["https://A.example.test:443/"]
    assert parse_origin("https://A.example.test:443/") == ("https", "a.example.test", 443)
    assert parse_origin("null") is None and parse_origin("http://[::1]:7860") == ("http", "::1", 7860)
