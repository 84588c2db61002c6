"""Findings 2 and 11: log-in throttling with lockout on its own pool, generation limits, and
size limits on requests and uploads."""

from __future__ import annotations

import httpx
import pytest

from playground.core.limits import SlidingWindow
from playground.web.ui.annotate import PUBLIC
from playground.web.ui.login import LOGIN_POOL
from tests.launch import running_app
from tests.security.conftest import PASSWORD, client


def test_2_repeated_wrong_passwords_lock_the_name_out_even_for_the_right_one(url):
    caller = client(url)
    for _ in range(5):
        with pytest.raises(Exception, match="Wrong name or password"):
            caller.predict("admin1", "guess", api_name="/annotate_login")
    with pytest.raises(Exception, match=r"Too many failed log-ins: try again in \d+ s"):
        caller.predict("admin1", PASSWORD, api_name="/annotate_login")
    with pytest.raises(Exception, match="Log in"):
        caller.predict(api_name="/annotate_agreement")
    client(url).predict("ann", PASSWORD, api_name="/annotate_login")  # another name is not locked


def test_2_one_address_trying_many_names_is_locked_out(context, accounts):
    context.settings.login_failures_per_ip = 3
    context.login_throttle.per_ip.limit = 3
    with running_app(context) as url:
        caller = client(url)
        for name in ("x1", "x2", "x3"):
            with pytest.raises(Exception, match="Wrong name"):
                caller.predict(name, "guess", api_name="/annotate_login")
        with pytest.raises(Exception, match="try again in"):
            caller.predict("ann", PASSWORD, api_name="/annotate_login")


def test_2_the_lockout_ends_when_the_window_has_passed():
    now = [0.0]
    window = SlidingWindow(limit=2, window_s=60, clock=lambda: now[0])
    window.add("k"), window.add("k")
    assert window.retry_after("k") == 60
    now[0] = 61
    assert window.retry_after("k") == 0


def test_2_log_in_runs_in_its_own_small_pool_apart_from_annotation(context):
    from playground.web.app import build_app

    pools = {fn.api_name: (fn.concurrency_id, fn.concurrency_limit) for fn in build_app(context).fns.values()}
    assert pools["annotate_login"] == pools["insights_login"] == ("login", 2)
    assert pools["annotate_next"][0] == PUBLIC["concurrency_id"] != LOGIN_POOL["concurrency_id"]


def test_2_generations_per_client_are_limited_with_a_wait_time(context, accounts, database):
    context.generation_limits.per_client.limit = 2
    with running_app(context) as url:
        caller = client(url)
        for _ in range(2):
            caller.predict("hello", 1, 8, 0.7, 0.9, 1.1, 1, "", api_name="/generate_text")
        with pytest.raises(Exception, match=r"Too many generations: try again in \d+ s"):
            caller.predict("hello", 1, 8, 0.7, 0.9, 1.1, 1, "", api_name="/generate_text")
        client(url).predict("hello", 1, 8, 0.7, 0.9, 1.1, 1, "", api_name="/generate_text")  # others may


def test_11_large_request_bodies_are_refused_before_parsing(url):
    big = b'{"data": ["' + b"x" * (20 * 1024 * 1024) + b'"]}'
    response = httpx.post(url + "gradio_api/run/rate_text", content=big, headers={"content-type": "application/json"}, timeout=60)
    assert response.status_code == 413


def test_11_uploads_are_refused_the_app_has_no_file_input(url):
    for size in (5 * 1024 * 1024, 4096):
        files = {"files": ("a.bin", b"\0" * size, "application/octet-stream")}
        response = httpx.post(url + "gradio_api/upload", files=files, timeout=60)
        assert response.status_code in (400, 413), (size, response.status_code, response.text[:200])
