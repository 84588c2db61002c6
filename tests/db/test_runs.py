"""Training-run queries (`feedback_db.runs`): what `playground retrain` reads and writes about runs."""

import pytest

from feedback_db.errors import InvalidInputError, UnknownIdError
from feedback_db.runs import (
    fail_interrupted_runs,
    finish_run,
    last_finished_run,
    list_runs,
    next_version_name,
    record_skipped_run,
    registered_adapter_folders,
    start_run,
)
from feedback_db.versions import create_version


def test_a_run_opens_finishes_and_is_the_last_finished_one(database):
    with database.sessions.begin() as session:
        assert last_finished_run(session, modality="text") is None
        run = start_run(session, modality="text", data_counts={"pairs": 3, "watermark": "w1"})
        assert last_finished_run(session, modality="text") is None  # running is not finished
        finish_run(session, run_id=run.id, method="dpo", metrics={"decision": "promoted"}, timings={"train_s": 1.0}, report_path="r.md")
        skipped = record_skipped_run(session, modality="image", data_counts={}, reason="too little")
    with database.read_sessions() as session:
        last = last_finished_run(session, modality="text")
        assert (last.id, last.status, last.method, last.metrics["decision"]) == (run.id, "succeeded", "dpo", "promoted")
        assert last_finished_run(session, modality="image").id == skipped.id
        assert [r.status for r in list_runs(session)] == ["succeeded", "skipped"]


def test_interrupted_runs_are_failed_and_adapter_folders_known(database):
    with database.sessions.begin() as session:
        start_run(session, modality="text", data_counts={})
        create_version(session, name="text-v1", modality="text", base_model="embedded", adapter_path="/data/adapters/text-v1")
    with database.sessions.begin() as session:
        assert fail_interrupted_runs(session) == 1
        assert fail_interrupted_runs(session) == 0
        assert registered_adapter_folders(session) == {"text-v1"}
        assert next_version_name(session, modality="text") == "text-v2"
        assert next_version_name(session, modality="image") == "image-v1"
    with database.read_sessions() as session:
        assert list_runs(session, modality="text")[0].status == "failed"


def test_bad_modality_and_unknown_run_are_refused(database):
    with database.sessions.begin() as session:
        with pytest.raises(InvalidInputError):
            start_run(session, modality="txet", data_counts={})
        with pytest.raises(UnknownIdError):
            finish_run(session, run_id=999, method="dpo", metrics={}, timings={}, report_path="x")
