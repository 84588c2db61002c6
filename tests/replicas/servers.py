"""Real `playground serve` processes for the replica tests: started together, on one database and
one data dir, each on its own loopback port; stopped with SIGTERM like systemd stops them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.launch import free_port

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 180.0


@dataclass
class Replica:
    name: str
    port: int
    process: subprocess.Popen
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


def replica_env(database_url: str, data_dir: Path, model_cache: Path, **extra: str) -> dict[str, str]:
    """What every replica shares: the database URL, the data dir (images, adapters, secret.key)."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        "PLAYGROUND_DATABASE_URL": database_url,
        "PLAYGROUND_DATA_DIR": str(data_dir),
        "PLAYGROUND_MODEL_CACHE": str(model_cache),  # the text model converted once, not per replica
        "PLAYGROUND_DEVICE": "cpu",
        "GRADIO_ANALYTICS_ENABLED": "False",
        "HF_HUB_OFFLINE": "1",
        "OMP_NUM_THREADS": "1",
        "TOKENIZERS_PARALLELISM": "false",
        **extra,
    }
    return env


@contextmanager
def running_replicas(count: int, env: dict[str, str], log_dir: Path) -> Iterator[list[Replica]]:
    """Start `count` replicas at the same moment (all migrate the database on start); yield them
    once every one answers HTTP; stop them all afterwards."""
    replicas = []
    for index in range(count):
        port = free_port()
        log = log_dir / f"replica-{index}.log"
        handle = log.open("w")
        process = subprocess.Popen(
            [sys.executable, "-m", "playground", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=log_dir,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
        replicas.append(Replica(f"replica-{index}", port, process, log))
    try:
        for replica in replicas:
            wait_until_serving(replica)
        yield replicas
    finally:
        for replica in replicas:
            replica.process.send_signal(signal.SIGTERM)
        for replica in replicas:
            try:
                replica.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                replica.process.kill()
                replica.process.wait()


def wait_until_serving(replica: Replica) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if replica.process.poll() is not None:
            raise AssertionError(f"{replica.name} exited with {replica.process.returncode}:\n{replica.log_text()}")
        try:
            with urllib.request.urlopen(replica.url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{replica.name} did not answer within {START_TIMEOUT_S:.0f} s:\n{replica.log_text()}")
