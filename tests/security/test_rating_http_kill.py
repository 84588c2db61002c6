"""POST /api/ratings across a SIGKILL: a 200 means committed (group commit answers each caller
only after its batch's transaction), so every acknowledged rating survives the kill."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import Counter

import httpx
import pytest
from gradio_client import Client

from playground.web.guard import COOKIE_NAME
from tests.launch import free_port
from tests.security.test_soak import Server

RATERS = 20
KILL_AFTER_S = 8
AFTER_RESTART_S = 5

pytestmark = [pytest.mark.real_model, pytest.mark.long, pytest.mark.timeout(600)]


def rate_until(url: str, cookie: str, output_ids: list[int], stop: threading.Event, acks: dict, errors: Counter) -> None:
    """Rate this rater's outputs in turn; note the last acknowledged sequence number of each."""
    seq = 0
    with httpx.Client(base_url=url, cookies={COOKIE_NAME: cookie}, timeout=30) as http:
        while not stop.is_set():
            output_id = output_ids[seq % len(output_ids)]
            try:
                reply = http.post("api/ratings", json={"output_id": output_id, "comment": f"{cookie}:{seq}"})
            except httpx.HTTPError as error:  # the server is being killed on purpose
                errors[type(error).__name__] += 1
                time.sleep(0.2)
            else:
                if reply.status_code == 200:
                    acks[output_id] = seq
            seq += 1


def test_every_acknowledged_http_rating_survives_a_sigkill(tmp_path):
    # 1. A real server; each rater generates its own candidates.
    data_dir = tmp_path / "data"
    server = Server(data_dir, free_port(), tmp_path)
    server.start()
    raters = []
    for _ in range(RATERS):
        client = Client(server.url, verbose=False)
        client.predict("Say hi.", 2, 2, 0.8, 0.9, 1.1, 1, "", api_name="/generate_text")
        cookie = client.cookies[COOKIE_NAME]
        listed = httpx.get(server.url + "api/outputs", cookies={COOKIE_NAME: cookie}).json()["requests"]
        raters.append((cookie, listed[0]["output_ids"]))
    # 2. All rate in a closed loop; the server is killed mid-stream and started again.
    stop, errors = threading.Event(), Counter()
    acks: list[dict] = [{} for _ in raters]
    threads = [
        threading.Thread(target=rate_until, args=(server.url, cookie, ids, stop, acks[i], errors), daemon=True)
        for i, (cookie, ids) in enumerate(raters)
    ]
    for thread in threads:
        thread.start()
    time.sleep(KILL_AFTER_S)
    acked_before_kill = sum(len(a) for a in acks)
    server.kill()
    server.start()
    time.sleep(AFTER_RESTART_S)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    server.kill()
    # 3. Each output holds its rater's last acknowledged rating, or one sent after it.
    assert acked_before_kill > 0
    db = sqlite3.connect(data_dir / "playground.db")
    stored = dict(db.execute("SELECT output_id, comment FROM ratings WHERE comment IS NOT NULL").fetchall())
    lost = [
        (output_id, seq)
        for (cookie, _), acked in zip(raters, acks, strict=True)
        for output_id, seq in acked.items()
        if output_id not in stored or int(stored[output_id].split(":")[1]) < seq or not stored[output_id].startswith(cookie)
    ]
    assert lost == [], f"{len(lost)} acknowledged ratings lost; errors {dict(errors)}"
    print(f"{sum(len(a) for a in acks)} outputs rated, 0 lost; client errors during the kill: {dict(errors)}")
