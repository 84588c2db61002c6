"""Processes that open one blank SQLite file at the same moment (replicas starting together)
all connect: switching the new file to WAL made SQLite answer "database is locked" at once to
some of them, without waiting out the busy timeout (feedback_db.engine._switch_to_wal)."""

from __future__ import annotations

import multiprocessing

import pytest
from sqlalchemy import text

from feedback_db.engine import make_engine

PROCESSES = 4
ROUNDS = 40  # before the fix about 1 round in 12 had a failed connection


def _connect(url: str, start, results) -> None:
    engine = make_engine(url)
    start.wait()  # every process opens the blank file in the same instant
    try:
        with engine.begin() as connection:
            results.put(connection.execute(text("PRAGMA journal_mode")).scalar_one())
    except Exception as error:  # noqa: BLE001 - reported to the test, which fails on it
        results.put(f"{type(error).__name__}: {error}")
    finally:
        engine.dispose()


@pytest.mark.slow  # 160 processes; `make test` runs it
def test_processes_opening_a_blank_file_together_all_connect_in_wal(tmp_path):
    # A fork server that has imported the engine: cheap starts for 160 processes, without
    # forking this threaded test process.
    processes_of = multiprocessing.get_context("forkserver")
    processes_of.set_forkserver_preload(["feedback_db.engine"])
    outcomes = []
    for round_ in range(ROUNDS):
        url = f"sqlite:///{tmp_path / f'round-{round_}.db'}"
        start, results = processes_of.Barrier(PROCESSES), processes_of.Queue()
        processes = [processes_of.Process(target=_connect, args=(url, start, results)) for _ in range(PROCESSES)]
        for process in processes:
            process.start()
        outcomes += [results.get(timeout=60) for _ in processes]
        for process in processes:
            process.join(timeout=60)
    assert outcomes == ["wal"] * (PROCESSES * ROUNDS)
