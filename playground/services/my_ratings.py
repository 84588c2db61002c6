"""What an end user's ratings did: how many this browser gave, which version they trained, and
that version's gate result and arena standing (the "Your ratings at work" tab).

Rated outputs and scores are counted as everywhere else on the page (feedback_db/activity.py).
The arena standing is the version's place on the public leaderboard, so it counts the votes the
Leaderboard tab counts: the caller passes the same vote hygiene (playground/services/vote_hygiene.py).
It is everyone's votes on that version, not this browser's, so the daily cap and the outlier test
apply to it as they do there.

A rating goes into the first training run of its modality that started after it was last
changed; that run's version (if it produced one) is the version the rating helped train.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import datetime

import pandas as pd
from sqlalchemy.orm import Session

from feedback_db.activity import FeedbackCounts, RatedAt, feedback_counts, rating_times, vote_count
from feedback_db.hygiene import VoteHygiene
from feedback_db.runs import list_runs
from feedback_db.schema import TrainingRun
from feedback_db.standings import leaderboard
from feedback_db.versions import version_of_run
from playground.core.database import Database
from playground.services.identity import Viewer

COLUMNS = ["modality", "rated outputs", "scores", "went into", "gate", "arena standing"]
STATUS_WORDS = {
    "active": "passed: served now",
    "candidate": "kept as a candidate",
    "retired": "was served, now retired",
}


@dataclass(frozen=True)
class MyRatings:
    counts: FeedbackCounts  # this browser's rated outputs and scores, all modalities
    votes: int  # its arena votes
    table: pd.DataFrame  # one row per (modality, version the ratings went into): COLUMNS


def my_ratings(database: Database, viewer: Viewer, *, hygiene: VoteHygiene | None) -> MyRatings:
    """This browser's counts and one row per (modality, version its ratings went into); the
    arena standing counts the votes `hygiene` counts (the leaderboard's: `vote_hygiene(settings)`)."""
    with database.read_sessions() as session:
        # 1. This browser's ratings and set ratings, with their modality and time, and its votes.
        rated = rating_times(session, rater_id=viewer.user_id)
        counts = feedback_counts(session, rater_id=viewer.user_id)
        votes = vote_count(session, voter_id=viewer.user_id)
        # 2. Which run (and version) each rating fed, per modality.
        rows = []
        for modality in ("text", "image"):
            mine = sorted((r for r in rated if r.modality == modality), key=lambda r: _aware(r.changed_at))
            if not mine:
                continue
            runs = sorted(list_runs(session, modality=modality), key=lambda run: _aware(run.started_at))
            board = leaderboard(session, "versions", modality=modality, rounds=0, hygiene=hygiene).table.set_index("contestant")
            for run_id, (outputs, scores) in _per_run(mine, runs).items():
                rows.append([modality, outputs, scores, *_fate(session, run_id, runs, board)])
    return MyRatings(counts, votes, pd.DataFrame(rows, columns=COLUMNS))


def _per_run(rated: list[RatedAt], runs: list[TrainingRun]) -> dict[int | None, tuple[int, int]]:
    """(rated outputs, scores) per run they went into (None: the next retrain), in time order."""
    starts = [_aware(run.started_at) for run in runs]
    totals: dict[int | None, tuple[int, int]] = {}
    for row in rated:
        index = bisect_right(starts, _aware(row.changed_at))
        run_id = runs[index].id if index < len(runs) else None
        outputs, scores = totals.get(run_id, (0, 0))
        totals[run_id] = (outputs + row.rated_outputs, scores + row.scores)
    return totals


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
        standing = f"#{row['rank']} of {len(board)} by score, win rate {row['win_rate']:.0%} over {row['battles']} battles"
    return [version.name, gate, standing]


def _aware(value: datetime) -> datetime:
    from datetime import UTC

    return value if value.tzinfo else value.replace(tzinfo=UTC)  # SQLite drops the zone
