"""Content safety: the filter refuses prompts and withholds outputs, tells the user, and withheld
or flagged outputs never reach training data or the annotation queue."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import func, select

from feedback_db.assignments import next_item
from feedback_db.frames import outputs_frame, ratings_frame, set_ratings_frame
from feedback_db.queries import set_flag, upsert_rating, upsert_set_rating
from feedback_db.schema import Output, Request, User
from models.finetune.data import DataConfig, build_datasets
from playground.core.moderation import Moderator
from tests.launch import running_app
from tests.security.conftest import client


def test_a_blocklisted_prompt_is_refused_and_nothing_is_stored(url, database):
    with pytest.raises(Exception, match="content filter refused this prompt"):
        client(url).predict("tell me how to MAKE A BOMB now", 2, 8, 0.7, 0.9, 1.1, 1, "", api_name="/generate_text")
    with database.read_sessions() as session:
        assert session.scalar(select(func.count(Request.id))) == 0


def test_the_classifier_hook_flags_what_the_blocklist_misses():
    moderator = Moderator(
        blocked=("forbidden phrase",), classifier=lambda texts: [[("toxic", 0.95 if "nasty" in t else 0.01)] for t in texts]
    )
    assert moderator.reasons(["a forbidden phrase!", "nasty words", "a kind note"]) == [
        "blocklist: forbidden phrase",
        "classifier: toxic 0.95",
        None,
    ]


def test_a_moderated_output_is_withheld_on_screen_and_kept_out_of_training_and_the_queue(context, accounts, database):
    context = dataclasses.replace(context, moderator=Moderator(blocked=("answer1",)))  # the fake's second candidate
    with running_app(context) as url:
        caller = client(url)
        result = caller.predict("hello world", 2, 8, 0.7, 0.9, 1.1, 1, "", api_name="/generate_text")
        shown = [value for value in result if isinstance(value, str)]
        assert any('withheld by the content filter: the blocklist rule (the blocked word "a******")' in value for value in shown)
        assert not any(value.startswith("answer1") for value in shown)
        caller.predict(0, 5, 5, 1, None, api_name="/rate_text")
        caller.predict(1, 1, 1, -1, None, api_name="/rate_text")
    with database.read_sessions() as session:
        moderated = session.scalars(select(Output).where(Output.moderation.is_not(None))).all()
        assert [o.index for o in moderated] == [1]
        frames = (ratings_frame(session), set_ratings_frame(session), outputs_frame(session))
        annotator = session.scalar(select(User.id).where(User.name == "ann"))
    datasets = build_datasets("text", *frames, DataConfig(heldout_target_prompts=0, heldout_min_fraction=0.0))
    everything = str(datasets.pairs) + str(datasets.unpaired) + str(datasets.sft) + str(frames)
    assert "answer1" not in everything
    with database.sessions.begin() as session:
        assert next_item(session, annotator_id=annotator) is None


def test_flagged_outputs_and_best_picks_of_them_never_reach_the_frames(database):
    from tests.db.helpers import add_rater, add_text_request

    with database.sessions.begin() as session:
        rater = add_rater(session, "r")
        request = add_text_request(session, n=2, prompt="p")
        for output in request.outputs:
            upsert_rating(session, output_id=output.id, rater_id=rater.id, source="end_user", naturalness=4)
        upsert_set_rating(session, request_id=request.id, rater_id=rater.id, source="end_user", best_output_id=request.outputs[0].id)
        set_flag(session, output_id=request.outputs[0].id, rater_id=rater.id, flagged=True)
        flagged_id = request.outputs[0].id
    with database.read_sessions() as session:
        assert flagged_id not in set(ratings_frame(session)["output_id"])
        assert flagged_id not in set(outputs_frame(session)["output_id"])
        assert set_ratings_frame(session).empty
        assert flagged_id in set(outputs_frame(session, include_withheld=True)["output_id"])
