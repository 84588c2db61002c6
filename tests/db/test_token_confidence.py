"""Token confidence in the database: the migration, what is stored and read back (history,
annotation items, frames and exports), and the confidence-against-ratings figures."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from alembic import command
from sqlalchemy import inspect
from sqlalchemy import text as sql

from feedback_db.assignments import load_item
from feedback_db.confidence_ratings import (
    MIN_OUTPUTS,
    confidence_correlation,
    confidence_deciles,
    confidence_frame,
    measured_versions,
)
from feedback_db.engine import make_engine
from feedback_db.errors import InvalidInputError
from feedback_db.export import export_frames, read_frame
from feedback_db.frames import outputs_frame, ratings_frame, read_frames
from feedback_db.history import request_view
from feedback_db.migrate import alembic_config, upgrade_to_head
from feedback_db.queries import NewOutput, record_request, set_flag, upsert_rating
from feedback_db.schema import UserSession
from tests.db.helpers import add_rater

STORED = json.dumps([["Paris", 0.91, [["Lyon", 0.04]]], [".", 0.5, []]], separators=(",", ":"))
COLUMNS = ("token_confidence", "confidence_mean", "confidence_min")


def _output(index: int, mean: float | None = None, stored: str | None = STORED) -> NewOutput:
    if mean is None:
        return NewOutput(index=index, seed=index, latency_ms=10.0, text=f"answer {index}", tokens=2)
    return NewOutput(
        index=index,
        seed=index,
        latency_ms=10.0,
        text=f"answer {index}",
        tokens=2,
        token_confidence=stored,
        confidence_mean=mean,
        confidence_min=mean / 2,
    )


def _request(session, outputs, version="base", session_id=None, modality="text"):
    return record_request(
        session,
        modality=modality,
        prompt="capital of France?",
        parameters={},
        model_version=version,
        outputs=outputs,
        session_id=session_id,
    )


# -- the migration ------------------------------------------------------------------------------


def test_migration_0011_adds_empty_columns_and_keeps_older_outputs(settings):
    # 1. An output stored before the columns existed.
    engine = make_engine(settings.resolved_database_url)
    command.upgrade(alembic_config(engine), "0010")
    with engine.begin() as connection:
        connection.execute(
            sql(
                "INSERT INTO requests (id, modality, prompt, parameters, model_version, source, status, created_at) "
                "VALUES (1, 'text', 'hi', '{}', 'base', 'playground', 'finished', CURRENT_TIMESTAMP)"
            )
        )
        connection.execute(
            sql(
                'INSERT INTO outputs (id, request_id, "index", text, seed, latency_ms, finish_reason) '
                "VALUES (3, 1, 0, 'a', 1, 1.0, 'stop')"
            )
        )
    # 2. At head it is there, with no confidence; down to 0010 and up again works too.
    upgrade_to_head(engine)
    assert set(COLUMNS) <= {c["name"] for c in inspect(engine).get_columns("outputs")}
    with engine.connect() as connection:
        assert connection.execute(sql(f"SELECT id, {', '.join(COLUMNS)} FROM outputs")).all() == [(3, None, None, None)]
    command.downgrade(alembic_config(engine), "0010")
    assert not set(COLUMNS) & {c["name"] for c in inspect(engine).get_columns("outputs")}
    upgrade_to_head(engine)
    with engine.connect() as connection:
        assert connection.execute(sql("SELECT count(*) FROM outputs")).scalar() == 1
    engine.dispose()


# -- stored and read back -------------------------------------------------------------------------


def test_history_and_annotation_items_carry_the_stored_confidence_and_none_for_older_rows(database):
    with database.sessions.begin() as session:
        rater = add_rater(session, "me")
        session.add(UserSession(id="browser", user_id=rater.id))
        session.flush()
        request = _request(session, [_output(0, 0.7), _output(1)], session_id="browser")
        request_id = request.id
    with database.read_sessions() as session:
        view = request_view(session, request_id=request_id, session_id="browser", rater_id=rater.id)
        item = load_item(session, request_id)
    assert [c.token_confidence for c in view.candidates] == [STORED, None]
    assert [o.token_confidence for o in item.outputs] == [STORED, None]


@pytest.mark.parametrize("mean", [1.5, -0.1, "high"])
def test_a_confidence_that_is_no_probability_is_refused_and_nothing_is_stored(database, mean):
    with database.sessions.begin() as session, pytest.raises(InvalidInputError, match="confidence_mean must be a probability"):
        _request(session, [NewOutput(index=0, seed=1, latency_ms=1.0, text="a", confidence_mean=mean)])
    with database.read_sessions() as session:
        assert outputs_frame(session).empty


def test_frames_carry_mean_and_minimum_and_the_full_export_the_tokens(database, tmp_path):
    # 1. A text output with confidence, one without (an older row), and an image.
    with database.sessions.begin() as session:
        rater = add_rater(session, "r")
        text = _request(session, [_output(0, 0.8), _output(1)])
        _request(session, [NewOutput(index=0, seed=1, latency_ms=1.0, image_path="a.png", image_sha256="0" * 64)], modality="image")
        for output in text.outputs:
            upsert_rating(session, output_id=output.id, rater_id=rater.id, source="end_user", reliability=4)
    # 2. Mean and minimum per output (empty for the others); the tokens only in the full export.
    with database.read_sessions() as session:
        outputs = outputs_frame(session)
        ratings = ratings_frame(session)
        frames = read_frames(session, include_withheld=True)
    assert "token_confidence" not in outputs and "token_confidence" not in ratings
    assert _values(outputs["confidence_mean"]) == [0.8, None, None]
    assert _values(outputs["confidence_min"]) == [0.4, None, None]
    assert _values(ratings["confidence_mean"]) == [0.8, None]
    assert _values(frames["outputs"]["token_confidence"]) == [STORED, None, None]
    # 3. Every format gives the columns back as they were.
    for fmt in ("csv", "parquet", "jsonl"):
        back = read_frame(export_frames(frames, tmp_path / fmt, fmt)[2], fmt)
        assert back.columns.tolist() == frames["outputs"].columns.tolist()
        for column in COLUMNS:
            assert _values(back[column]) == _values(frames["outputs"][column]), (fmt, column)


def _values(column: pd.Series) -> list[object]:
    return [None if pd.isna(v) else v for v in column.astype(object)]


# -- confidence against ratings -----------------------------------------------------------------


def seed_confidence_and_ratings(session, *, version: str = "text-v1", outputs: int = 60, older: int = 5) -> None:
    """`outputs` rated text outputs whose reliability rises with their mean confidence (the least
    sure fifth flagged or marked "wrong"), plus `older` rated outputs without confidence."""
    raters = [add_rater(session, f"{version}-r{k}") for k in range(2)]
    rng = np.random.default_rng(0)
    for i in range(outputs + older):
        confident = i < outputs
        mean = round(0.2 + 0.75 * i / outputs, 4) if confident else None
        request = _request(session, [_output(0, mean) if confident else _output(0)], version=version)
        output_id = request.outputs[0].id
        reliability = int(np.clip(round(1 + 4 * i / outputs + rng.normal(0, 0.5)), 1, 5)) if confident else 3
        for rater in raters:
            reason = "wrong: not true" if confident and i < outputs // 5 and rater is raters[0] else None
            upsert_rating(
                session, output_id=output_id, rater_id=rater.id, source="end_user", reliability=reliability, naturalness=4, reason=reason
            )
        if confident and i < outputs // 10:
            set_flag(session, output_id=output_id, rater_id=raters[1].id, flagged=True, reason="incoherent")


def test_low_confidence_deciles_have_lower_reliability_and_more_wrong_answers(database):
    with database.sessions.begin() as session:
        seed_confidence_and_ratings(session)
    with database.read_sessions() as session:
        frame = confidence_frame(session)
    # 1. One row per rated output: the older ones without confidence.
    assert len(frame) == 65 and frame["confidence_mean"].isna().sum() == 5
    # 2. Ten deciles of six, lowest confidence first: less reliable, more flagged or "wrong".
    deciles = confidence_deciles(frame)
    assert deciles["decile"].tolist() == list(range(1, 11)) and set(deciles["outputs"]) == {6}
    assert deciles["confidence_from"].is_monotonic_increasing
    first, last = deciles.iloc[0], deciles.iloc[-1]
    assert first["reliability"] < 2.5 < 4 < last["reliability"]
    assert first["flagged_or_wrong"] == 1.0 and last["flagged_or_wrong"] == 0.0
    assert set(deciles["naturalness"]) == {4.0}
    # 3. Spearman's rho: positive and clear for reliability; naturalness is constant, so none.
    correlation = confidence_correlation(frame).set_index("axis")
    assert correlation.loc["reliability", "spearman"] > 0.8 and correlation.loc["reliability", "p_value"] < 0.001
    assert correlation.loc["reliability", "outputs"] == 60
    assert np.isnan(correlation.loc["naturalness", "spearman"])


def test_a_version_with_few_rated_outputs_with_confidence_is_not_measured(database):
    with database.sessions.begin() as session:
        seed_confidence_and_ratings(session, version="text-v1", outputs=MIN_OUTPUTS - 1)
        seed_confidence_and_ratings(session, version="text-v2", outputs=MIN_OUTPUTS)
    with database.read_sessions() as session:
        frame = confidence_frame(session)
    assert measured_versions(frame) == ["text-v2"]
    assert set(confidence_deciles(frame)["model_version"]) == {"text-v2"}
    assert set(confidence_correlation(frame)["model_version"]) == {"text-v2"}


def test_no_ratings_gives_empty_figures(database):
    with database.sessions.begin() as session:
        _request(session, [_output(0, 0.5)])  # generated, never rated
    with database.read_sessions() as session:
        frame = confidence_frame(session)
    assert frame.empty and confidence_deciles(frame).empty and confidence_correlation(frame).empty
