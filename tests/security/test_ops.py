"""Operations: online backup and checked restore, SIGTERM drains writes, storage failures named."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time

import httpx
import pytest

from feedback_db.schema import Rating
from playground.cli.main import main
from playground.web.app import drain
from playground.web.guard import GuardState
from tests.db.helpers import add_rater, add_text_request
from tests.launch import free_port


def _add_ratings(database, count: int, start: int = 0) -> None:
    with database.sessions.begin() as session:
        rater = add_rater(session, f"rater{start}")
        for k in range(count):
            request = add_text_request(session, n=1, prompt=f"p{start + k}")
            session.add(Rating(output_id=request.outputs[0].id, rater_id=rater.id, naturalness=3, source="end_user"))


def test_backup_while_writing_then_restore_with_a_check(settings, database, tmp_path, capsys):
    _add_ratings(database, 20)
    writer = threading.Thread(target=_add_ratings, args=(database, 200, 1000))
    writer.start()  # the app keeps writing during the backup
    args = ["--data-dir", str(settings.data_dir)]
    assert main([*args, "db", "backup", str(tmp_path / "copy.db")]) == 0
    writer.join()
    assert "integrity ok" in capsys.readouterr().out
    backed_up = sqlite3.connect(tmp_path / "copy.db").execute("SELECT count(*) FROM ratings").fetchone()[0]
    assert backed_up in (20, 220)  # a consistent snapshot: before or after the writer's transaction
    assert oct(os.stat(tmp_path / "copy.db").st_mode & 0o777) == "0o600"
    database.engine.dispose()
    assert main([*args, "db", "restore", str(tmp_path / "copy.db")]) == 0
    restored = sqlite3.connect(settings.data_dir / "playground.db")
    assert restored.execute("SELECT count(*) FROM ratings").fetchone()[0] == backed_up
    assert restored.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_restore_refuses_a_damaged_or_foreign_file(settings, database, tmp_path, capsys):
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database" * 100)
    assert main(["--data-dir", str(settings.data_dir), "db", "restore", str(junk)]) == 1
    assert "not a Playground database" in capsys.readouterr().err
    assert main(["--data-dir", str(settings.data_dir), "db", "backup", str(junk)]) == 1
    assert "exists" in capsys.readouterr().err


def test_drain_waits_for_a_write_in_flight(database):
    def slow_write():
        with database.sessions.begin() as session:
            time.sleep(0.5)
            rater = add_rater(session, "late")
            session.flush()
            assert rater.id

    thread = threading.Thread(target=slow_write)
    thread.start()
    time.sleep(0.1)
    guard = GuardState()
    drain(guard, database, timeout_s=10)
    assert guard.draining and database.sessions.in_flight == 0
    thread.join()


@pytest.mark.slow
def test_sigterm_stops_the_server_cleanly(tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "PLAYGROUND_DATA_DIR": str(tmp_path / "data"),
        "PLAYGROUND_PORT": str(port),
        "GRADIO_ANALYTICS_ENABLED": "False",
        "HF_HUB_OFFLINE": "1",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "playground", "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/config", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=60)
    finally:
        server.kill()
    assert server.returncode == 0, output[-2000:]
    assert "shutting down" in output


def test_a_read_only_or_full_data_dir_is_reported_as_such(tmp_path):
    from sqlalchemy.exc import OperationalError

    from playground.core.storage import storage_problem

    full = OperationalError("INSERT", {}, sqlite3.OperationalError("database or disk is full"))
    read_only = OperationalError("INSERT", {}, sqlite3.OperationalError("attempt to write a readonly database"))
    assert "full" in storage_problem(full) and "read-only" in storage_problem(read_only)
    assert "read-only file system" in storage_problem(OSError(30, "Read-only file system", str(tmp_path)))
    assert storage_problem(ValueError("x")) is None
