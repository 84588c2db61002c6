"""Findings 1, 3, 8, 10: no secret in the browser, log-in not resting on session_hash,
identity kept across restarts, files and tokens protected at rest."""

from __future__ import annotations

import json
import stat

import httpx
import pytest
from sqlalchemy import select

from feedback_db.schema import User, UserSession
from playground.core.secret_key import SECRET_FILE
from playground.serving.context import build_context
from playground.web.guard import COOKIE_NAME
from tests.launch import running_app
from tests.security.conftest import PASSWORD, client


def _config(url: str) -> dict:
    return httpx.get(url + "config").json()


def test_1_run_history_is_off_so_no_event_inputs_are_kept_in_the_browser(url):
    config = _config(url)
    assert config["run_history"] is False
    assert httpx.get(url + "gradio_api/runs").status_code == 404


def test_3_a_stolen_session_hash_without_the_cookie_gets_nothing(url):
    admin = client(url)
    admin.predict("admin1", PASSWORD, api_name="/annotate_login")
    assert "Krippendorff" in admin.predict(api_name="/annotate_agreement")
    attacker = client(url)  # its own cookie, the admin's session_hash
    attacker.session_hash = admin.session_hash
    # The session_hash is bound to the admin's cookie: refused before any handler runs
    # (playground/web/sessions.py); the handlers would refuse it too, as they read the cookie.
    with pytest.raises(Exception, match="403 Forbidden"):
        attacker.predict(api_name="/annotate_agreement")
    with pytest.raises(Exception, match="403 Forbidden"):
        attacker.predict(api_name="/annotate_next")
    assert "Krippendorff" in admin.predict(api_name="/annotate_agreement")


def test_3_log_out_revokes_the_login_on_the_server(url, database):
    annotator = client(url)
    annotator.predict("ann", PASSWORD, api_name="/annotate_login")
    cookies = dict(annotator.cookies)
    annotator.predict(api_name="/annotate_logout")
    replay = client(url, cookies=cookies)  # the same cookie, replayed after log-out
    with pytest.raises(Exception, match="Log in"):
        replay.predict(api_name="/annotate_next")
    with database.read_sessions() as session:
        assert session.scalars(select(UserSession).where(UserSession.expires_at.is_not(None))).all() == []


def test_8_a_browser_keeps_its_identity_across_a_restart(context, accounts, database):
    with running_app(context) as url:
        first = client(url)
        first.predict("a red circle", "", 1, 2, 2.0, 256, 5, api_name="/generate_image")
        cookies = dict(first.cookies)
        config = json.dumps(_config(url))
    with database.read_sessions() as session:
        before = session.scalars(select(User.id).where(User.role == "end_user")).all()
    with running_app(
        build_context(context.settings, database, lambda: context.generator("text"), lambda: context.generator("image"))
    ) as url:
        again = client(url, cookies=cookies)
        again.predict("a blue square", "", 1, 2, 2.0, 256, 6, api_name="/generate_image")
        again.predict(0, 4, None, None, None, api_name="/rate_image")  # may rate: same identity
    with database.read_sessions() as session:
        after = session.scalars(select(User.id).where(User.role == "end_user")).all()
    assert len(before) == 1 and after == before
    secret = (context.settings.data_dir / SECRET_FILE).read_text()
    assert secret not in config and "browserstate" not in config.lower() and cookies[COOKIE_NAME] not in config


def test_8_the_identity_cookie_is_http_only_and_same_site(url):
    response = httpx.get(url)
    header = response.headers["set-cookie"]
    assert header.startswith(f"{COOKIE_NAME}=") and "HttpOnly" in header and "SameSite=Lax" in header


def test_10_data_dir_secret_database_and_exports_are_private(url, context, tmp_path, capsys):
    from playground.cli.main import main

    data_dir = context.settings.data_dir
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE((data_dir / SECRET_FILE).stat().st_mode) == 0o600
    assert stat.S_IMODE((data_dir / "playground.db").stat().st_mode) == 0o600
    assert main(["--data-dir", str(data_dir), "export", "--out", str(tmp_path / "out")]) == 0
    for path in (tmp_path / "out").iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_10_tokens_are_stored_only_as_keyed_hashes(url, database):
    annotator = client(url)
    annotator.predict("hello there", 1, 8, 0.7, 0.9, 1.1, 1, "", api_name="/generate_text")
    annotator.predict("ann", PASSWORD, api_name="/annotate_login")
    token = annotator.cookies[COOKIE_NAME]
    with database.read_sessions() as session:
        ids = session.scalars(select(UserSession.id)).all()
        names = session.scalars(select(User.name)).all()
    assert len(ids) == 2  # the browser's end-user session and its annotator log-in
    assert all(token not in value and len(value) == 64 for value in ids)
    assert all(token not in name for name in names)
