"""Soak: 50 clients generate (real embedded image model, 2 steps) and rate while the server is
killed with SIGKILL and restarted twice. Every acknowledged rating must be in the database and
the database must pass PRAGMA integrity_check. Loopback only; the client phase lasts 150 s."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from gradio_client import Client

from playground.core.secret_key import SECRET_FILE, token_hash
from playground.web.guard import COOKIE_NAME
from tests.launch import free_port

CLIENTS = 50
# Each restart leaves 12-15 s without a server on 2 CPU cores (imports, then the model load; with
# the clients backing off, see client_loop), and 50 clients' first images take turns on the
# models; with kills at 35 and 70 s of 110, some runs got no rating acknowledged at all. 50 s
# between kills leaves every window time to rate.
CLIENT_PHASE_S = 150
KILL_AT_S = (50, 100)
START_TIMEOUT_S = 180

pytestmark = [pytest.mark.real_model, pytest.mark.soak, pytest.mark.timeout(600)]


class Server:
    def __init__(self, data_dir: Path, port: int, log_dir: Path):
        self.port, self.url, self.log_dir = port, f"http://127.0.0.1:{port}/", log_dir
        self.starts = 0
        self.env = {
            **os.environ,
            "PLAYGROUND_DATA_DIR": str(data_dir),
            "PLAYGROUND_PORT": str(port),
            "PLAYGROUND_DEVICE": "cpu",
            "PLAYGROUND_GENERATIONS_PER_IP": "1000000",
            "PLAYGROUND_GENERATIONS_PER_CLIENT": "1000000",
            "PLAYGROUND_MAX_QUEUE_SIZE": "200",
            "PLAYGROUND_GPU_CONCURRENCY": "4",
            "GRADIO_ANALYTICS_ENABLED": "False",
            "HF_HUB_OFFLINE": "1",
            "OMP_NUM_THREADS": "1",
        }
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        # Each start logs to a file of its own, quoted when the server does not come up.
        self.starts += 1
        log = self.log_dir / f"serve-{self.starts}.log"
        with log.open("wb") as sink:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "playground", "serve"], env=self.env, stdout=sink, stderr=subprocess.STDOUT
            )
        started = time.monotonic()
        while time.monotonic() < started + START_TIMEOUT_S and self.process.poll() is None:
            try:
                if httpx.get(self.url + "config", timeout=2).status_code == 200:
                    print(f"start {self.starts}: serving after {time.monotonic() - started:.1f} s")
                    return
            except httpx.HTTPError:
                time.sleep(0.3)
        tail = log.read_text(errors="replace")[-3000:]
        raise TimeoutError(
            f"start {self.starts}: the server did not serve in {time.monotonic() - started:.0f} s "
            f"(exit code {self.process.poll()}); its log ends:\n{tail}"
        )

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()


def client_loop(url: str, index: int, until: float, acks: list, errors: Counter) -> None:
    rng = random.Random(index)
    cookies: dict | None = None
    failures = 0
    while time.monotonic() < until:
        try:
            kwargs = {"timeout": 60, **({"cookies": cookies} if cookies else {})}
            client = Client(url, verbose=False, httpx_kwargs=kwargs)
            cookies = {COOKIE_NAME: client.cookies[COOKIE_NAME]}
            while time.monotonic() < until:
                client.predict(f"a red circle {index}", "", 1, 2, 2.0, 256, rng.randrange(10_000), api_name="/generate_image")
                score = rng.randint(1, 5)
                client.predict(0, score, None, None, None, api_name="/rate_image")
                acks.append((cookies[COOKIE_NAME], score))  # acknowledged by the server
                failures = 0
        except Exception as error:  # noqa: BLE001 - the server is being killed on purpose
            errors[type(error).__name__] += 1
            # Back off as a browser does (1-2 s, doubling to 8-16 s): 50 clients retrying every
            # second took CPU from the restarting server (start-up 11 s alone, ~55 s under them).
            failures += 1
            time.sleep(min(8, 2 ** (failures - 1)) * (1 + rng.random()))


def test_no_acknowledged_rating_is_lost_across_two_sigkills(tmp_path):
    data_dir = tmp_path / "data"
    server = Server(data_dir, free_port(), tmp_path)
    server.start()
    Client(server.url, verbose=False).predict("warm up", "", 1, 2, 2.0, 256, 1, api_name="/generate_image")
    acks: list = []
    errors: Counter = Counter()
    started = time.monotonic()
    until = started + CLIENT_PHASE_S
    threads = [threading.Thread(target=client_loop, args=(server.url, i, until, acks, errors), daemon=True) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for kill_at in KILL_AT_S:
        time.sleep(max(0.0, started + kill_at - time.monotonic()))
        server.kill()
        server.start()
    for thread in threads:
        thread.join(timeout=CLIENT_PHASE_S + 60)
    server.kill()

    secret = bytes.fromhex((data_dir / SECRET_FILE).read_text())
    db = sqlite3.connect(data_dir / "playground.db")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    acked_by_client: dict[str, Counter] = {}
    for token, score in acks:
        acked_by_client.setdefault(token, Counter())[score] += 1
    for token, acked in acked_by_client.items():
        stored = Counter(
            score
            for (score,) in db.execute(
                "SELECT r.naturalness FROM ratings r JOIN sessions s ON s.user_id = r.rater_id WHERE s.id = ?",
                (token_hash(secret, "browser", token),),
            )
        )
        assert not acked - stored, f"acknowledged ratings missing for one client: {acked - stored}"
    print(f"{len(acks)} acknowledged ratings from {len(acked_by_client)} clients; client errors {dict(errors)}")
    # How many ratings get through depends on the machine (each restart reloads the model);
    # what must hold is above: none of those acknowledged is missing.
    assert len(acks) >= 10, dict(errors)
