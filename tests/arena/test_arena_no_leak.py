"""Nothing that reaches the browser before the vote names the versions behind A and B.

Checks the page config and the raw event stream of a battle (what the browser receives), then
that the vote's answer does carry the names, so the check can fail.
"""

from __future__ import annotations

import json
import uuid

import httpx
import pytest

from feedback_db.versions import create_version, promote_version
from tests.launch import running_app

ACTIVE, CANDIDATE = "zz-active-5d1f", "zz-candidate-88e0"


@pytest.fixture
def url(context, database):
    with database.sessions.begin() as session:
        active = create_version(session, name=ACTIVE, modality="text", base_model="m", adapter_path=None)
        promote_version(session, version_id=active.id)
        create_version(session, name=CANDIDATE, modality="text", base_model="m", adapter_path=None)
    with running_app(context) as app_url:
        yield app_url


def call(browser: httpx.Client, url: str, config: dict, api_name: str, data: list, session_hash: str) -> list[str]:
    """Run one event through the queue as the browser does (keeping its identity cookie);
    return every raw SSE message."""
    fn = next(d for d in config["dependencies"] if d.get("api_name") == api_name)
    joined = browser.post(
        url + "gradio_api/queue/join",
        json={
            "data": data,
            "fn_index": fn["id"],
            "session_hash": session_hash,
            "event_data": None,
            "trigger_id": fn["targets"][0][0],
        },
    )
    joined.raise_for_status()
    messages = []
    with browser.stream("GET", url + f"gradio_api/queue/data?session_hash={session_hash}", timeout=60) as stream:
        for line in stream.iter_lines():
            if line.startswith("data:"):
                messages.append(line)
                if json.loads(line[5:])["msg"] == "process_completed":
                    break
    return messages


def names_in(text: str) -> set[str]:
    """Version names found in `text` ("base" too: the third published version here)."""
    return {name for name in (ACTIVE, CANDIDATE, "base") if name in text}


def test_config_and_battle_events_carry_no_version_name_until_the_vote(url, database):
    browser = httpx.Client()
    config_text = browser.get(url + "config").text
    assert not {ACTIVE, CANDIDATE} & names_in(config_text)
    config = json.loads(config_text)
    session_hash = uuid.uuid4().hex
    # Gradio fills gr.State inputs from the server-side session; the browser sends None.
    battle = call(browser, url, config, "arena_battle", ["text", "Name a fruit"], session_hash)
    payload = "\n".join(battle)
    assert '"success":true' in battle[-1].replace(" ", "")
    assert names_in(payload) == set(), "a version name reached the browser before the vote"
    assert "temperature" not in payload and "preset" not in payload
    with database.read_sessions() as session:
        from feedback_db.schema import Battle

        (row,) = session.query(Battle).all()
    assert f'"battle_id": {row.id}' not in payload and '"battle_id"' not in payload  # state stays server-side
    # The vote's answer reveals both names.
    voted = "\n".join(call(browser, url, config, "arena_vote_tie", [None, ""], session_hash))
    assert {ACTIVE, CANDIDATE} & names_in(voted) and CANDIDATE in voted


def test_double_vote_is_refused_with_a_clear_message(url):
    browser = httpx.Client()
    config = browser.get(url + "config").json()
    session_hash = uuid.uuid4().hex
    call(browser, url, config, "arena_battle", ["text", "Name a fruit"], session_hash)
    call(browser, url, config, "arena_vote_a", [None, ""], session_hash)
    again = "\n".join(call(browser, url, config, "arena_vote_b", [None, ""], session_hash))
    assert "already voted on this battle" in again


def test_vote_without_a_battle_is_refused(url):
    browser = httpx.Client()
    config = browser.get(url + "config").json()
    answer = "\n".join(call(browser, url, config, "arena_vote_a", [None, ""], uuid.uuid4().hex))
    assert "start a battle first" in answer
