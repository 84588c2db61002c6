"""History speed: one browser's page of requests and its last request (what every page load
asks), among 100,000 requests of 2,000 browsers, with and without the index on
requests (session_id, created_at). Prints both side by side (a ratio, since the machine is shared).
Target: a history page and the restore query each in under 20 ms with the index.
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, text

sys.path.insert(0, ".")
from feedback_db.history import history_page, last_request_id  # noqa: E402
from feedback_db.schema import Output, Rating, Request, User, UserSession  # noqa: E402
from playground.core.database import open_database  # noqa: E402
from playground.core.settings import Settings  # noqa: E402
from tests.benchmarks.machine import describe_machine  # noqa: E402

REQUESTS, BROWSERS, CANDIDATES, LOOKUPS = 100_000, 2_000, 2, 200


def fill(database) -> list[tuple[str, int]]:
    """Browsers with their requests, two candidates each, and a rating on every fourth candidate."""
    rng = random.Random(0)
    browsers = [(f"{k:064x}", k + 1) for k in range(BROWSERS)]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with database.sessions.begin() as session:
        session.execute(insert(User), [{"id": u, "name": f"anon-{u}", "role": "end_user"} for _, u in browsers])
        session.execute(insert(UserSession), [{"id": s, "user_id": u} for s, u in browsers])
        owners = [browsers[rng.randrange(BROWSERS)] for _ in range(REQUESTS)]
        session.execute(
            insert(Request),
            [
                {
                    "id": i + 1,
                    "modality": "text",
                    "prompt": f"prompt {i}",
                    "parameters": {},
                    "model_version": "base",
                    "user_id": u,
                    "session_id": s,
                    "created_at": start + timedelta(seconds=i),
                }
                for i, (s, u) in enumerate(owners)
            ],
        )
        session.execute(
            insert(Output),
            [
                {"request_id": r + 1, "index": c, "text": "answer", "seed": c, "latency_ms": 1.0}
                for r in range(REQUESTS)
                for c in range(CANDIDATES)
            ],
        )
        session.execute(
            insert(Rating),
            [
                {"output_id": o, "rater_id": owners[(o - 1) // CANDIDATES][1], "naturalness": 3, "source": "end_user"}
                for o in range(1, REQUESTS * CANDIDATES + 1, 4)
            ],
        )
    return browsers


def per_lookup_ms(database, browsers, run) -> float:
    picks = random.Random(1).sample(browsers, LOOKUPS)
    with database.read_sessions() as session:
        started = time.perf_counter()
        for browser, user in picks:
            run(session, browser, user)
        return (time.perf_counter() - started) / LOOKUPS * 1000


def main() -> int:
    print(describe_machine())
    with tempfile.TemporaryDirectory() as folder:
        database = open_database(Settings(data_dir=Path(folder)))
        browsers = fill(database)
        print(f"{REQUESTS:,} requests of {BROWSERS:,} browsers, {CANDIDATES} candidates each (SQLite)")

        def page(session, browser, user):
            history_page(session, session_id=browser, rater_id=user, page=1, per_page=10)

        def last(session, browser, user):
            last_request_id(session, session_id=browser, modality="text")

        indexed = (per_lookup_ms(database, browsers, page), per_lookup_ms(database, browsers, last))
        with database.engine.begin() as connection:
            connection.execute(text("DROP INDEX ix_requests_session_created"))
        bare = (per_lookup_ms(database, browsers, page), per_lookup_ms(database, browsers, last))
        database.engine.dispose()
    for label, with_index, without in zip(("history page", "last request"), indexed, bare, strict=True):
        print(f"{label:<14} indexed {with_index:7.2f} ms · no index {without:7.2f} ms · {without / with_index:5.1f}x")
    ok = max(indexed) < 20
    print("PASS" if ok else "FAIL", "(target: under 20 ms each with the index)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
