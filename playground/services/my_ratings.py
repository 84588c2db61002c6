"""What an end user's ratings did: how many this browser gave, which version they trained, and
that version's gate result and arena standing (the "Your ratings at work" tab).

A rating goes into the first training run of its modality that started after it was last
changed; that run's version (if it produced one) is the version the rating helped train.
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import datetime

import pandas as pd
from sqlalchemy.orm import Session

from feedback_db.activity import rating_times, vote_count
from feedback_db.runs import list_runs
from feedback_db.schema import TrainingRun
from feedback_db.standings import leaderboard
from feedback_db.versions import version_of_run
from playground.core.database import Database
from playground.services.identity import Viewer

COLUMNS = ["modality", "ratings", "went into", "gate", "arena standing"]
STATUS_WORDS = {
    "active": "passed: served now",
    "candidate": "kept as a candidate",
    "retired": "was served, now retired",
}


def my_ratings(database: Database, viewer: Viewer) -> tuple[str, pd.DataFrame]:
    """A one-line summary and one row per (modality, version the ratings went into)."""
    with database.read_sessions() as session:
        # 1. This browser's ratings, set ratings and arena votes, with their modality and time.
        rated = rating_times(session, rater_id=viewer.user_id)
        votes = vote_count(session, voter_id=viewer.user_id)
        # 2. Which run (and version) each rating fed, per modality.
        rows = []
        for modality in ("text", "image"):
            times = sorted(_aware(t) for m, t in rated if m == modality)
            if not times:
                continue
            runs = sorted(list_runs(session, modality=modality), key=lambda run: _aware(run.started_at))
            board = leaderboard(session, "versions", modality=modality, rounds=0).table.set_index("contestant")
            counts: dict[int | None, int] = {}
            starts = [_aware(r.started_at) for r in runs]
            for time in times:
                index = bisect_right(starts, time)
                run_id = runs[index].id if index < len(runs) else None
                counts[run_id] = counts.get(run_id, 0) + 1
            for run_id, count in counts.items():
                rows.append([modality, count, *_fate(session, run_id, runs, board)])
    total = len(rated)
    summary = (
        f"This browser gave **{total} rating{'s' * (total != 1)}** and **{votes} arena vote{'s' * (votes != 1)}**."
        if total or votes
        else "You have not rated anything yet: rate candidates in the Text or Image tab."
    )
    return summary, pd.DataFrame(rows, columns=COLUMNS)


def _fate(session: Session, run_id: int | None, runs: list[TrainingRun], board: pd.DataFrame) -> list[str]:
    if run_id is None:
        return ["the next retrain", "not trained yet", "-"]
    run = next(r for r in runs if r.id == run_id)
    version = version_of_run(session, run_id=run_id)
    if version is None:
        return [f"run {run_id} ({run.status}, no new version)", run.error or "-", "-"]
    verdict = (run.metrics or {}).get("evaluation", {}).get("reason")
    gate = STATUS_WORDS.get(version.status, version.status) + (f" ({verdict})" if verdict else "")
    standing = "no arena votes yet"
    if version.name in board.index:
        row = board.loc[version.name]
        standing = f"#{row['rank']} of {len(board)}, win rate {row['win_rate']:.0%} over {row['battles']} battles"
    return [version.name, gate, standing]


def _aware(value: datetime) -> datetime:
    from datetime import UTC

    return value if value.tzinfo else value.replace(tzinfo=UTC)  # SQLite drops the zone
