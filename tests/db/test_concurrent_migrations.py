"""Several app replicas start at once on one blank database: every one of them migrates on start,
and none may fail or leave the schema half-made (feedback_db.migrate.migration_lock).

Each starter is a process of its own with its own engine, as replicas are.
"""

from __future__ import annotations

import multiprocessing

from sqlalchemy import inspect

from feedback_db.engine import make_engine
from feedback_db.migrate import current_revision, head_revision
from tests.db.test_migrations import EXPECTED_TABLES

STARTERS = 4


def _upgrade(url: str, start, results) -> None:
    from feedback_db.migrate import upgrade_to_head

    engine = make_engine(url)
    start.wait()  # all starters migrate at the same moment
    try:
        results.put(("ok", upgrade_to_head(engine)))
    except Exception as error:  # noqa: BLE001 - reported to the test, which fails on it
        results.put(("error", f"{type(error).__name__}: {error}"))
    finally:
        engine.dispose()


def test_replicas_starting_together_all_migrate_the_blank_database(settings):
    url = settings.resolved_database_url
    settings.create_layout()
    spawn = multiprocessing.get_context("spawn")
    start, results = spawn.Barrier(STARTERS), spawn.Queue()
    starters = [spawn.Process(target=_upgrade, args=(url, start, results)) for _ in range(STARTERS)]
    for process in starters:
        process.start()
    outcomes = [results.get(timeout=120) for _ in starters]
    for process in starters:
        process.join(timeout=60)

    engine = make_engine(url)
    head = head_revision(engine)
    assert outcomes == [("ok", head)] * STARTERS
    assert current_revision(engine) == head
    assert set(inspect(engine).get_table_names()) >= EXPECTED_TABLES
    engine.dispose()
