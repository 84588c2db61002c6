"""Feedback rows -> TRL rows, built through the real query API and frames."""

import pytest

from feedback_db.frames import outputs_frame, ratings_frame, set_ratings_frame
from feedback_db.queries import NewOutput, record_request, set_flag, upsert_rating, upsert_set_rating
from models.finetune.data import DataConfig, build_datasets, is_heldout, score_outputs
from tests.db.helpers import add_rater

FIXED_SHARE = DataConfig(heldout_min_fraction=0.2, heldout_max_fraction=0.2)


def add_request(session, prompt, texts):
    return record_request(
        session,
        modality="text",
        prompt=prompt,
        parameters={"temperature": 0.7},
        model_version="base",
        outputs=[NewOutput(index=i, seed=i, latency_ms=1, text=t) for i, t in enumerate(texts)],
    )


def frames(database):
    with database.read_sessions() as session:
        return ratings_frame(session), set_ratings_frame(session), outputs_frame(session)


@pytest.fixture
def training_prompt():
    prompt = next(f"prompt {k}" for k in range(100) if not is_heldout(f"prompt {k}", 0.2))
    return prompt


def test_pairs_labels_and_sft_follow_the_rules(database, training_prompt):
    with database.sessions.begin() as session:
        user, annotator = add_rater(session, "u"), add_rater(session, "a", role="annotator")
        request = add_request(session, training_prompt, ["great", "bad", "meh", "harmful"])
        great, bad, meh, harmful = request.outputs
        for output, score in ((great, 5), (bad, 1), (meh, 3), (harmful, 5)):
            upsert_rating(session, output_id=output.id, rater_id=user.id, source="end_user", naturalness=score, reliability=score)
        upsert_rating(session, output_id=meh.id, rater_id=annotator.id, source="annotator", naturalness=2, reliability=2)
        set_flag(session, output_id=harmful.id, rater_id=user.id, flagged=True)
        upsert_set_rating(session, request_id=request.id, rater_id=user.id, source="end_user", best_output_id=meh.id)

    datasets = build_datasets("text", *frames(database), FIXED_SHARE)

    assert all("harmful" not in (p["chosen"], p["rejected"]) for p in datasets.pairs)
    pairs = {(p["chosen"], p["rejected"]): p["origin"] for p in datasets.pairs}
    assert pairs[("meh", "great")] == "best_pick" and pairs[("meh", "bad")] == "best_pick"
    # "great" (5) vs "bad" (1): a rating-gap pair; meh scores (3*1 + 2*2)/3 = 2.33.
    assert ("great", "bad") in pairs
    assert {(r["completion"], r["label"]) for r in datasets.unpaired} == {("great", True), ("bad", False), ("meh", False)}
    assert [r["completion"] for r in datasets.sft] == ["great"]
    # Flagged outputs never reach the frames (feedback_db.frames), so none is left to count here.
    assert datasets.counts["flagged_outputs"] == 0


def test_duplicate_prompts_are_pooled_and_heldout_prompts_never_train(database):
    heldout = next(f"q{k}" for k in range(200) if is_heldout(f"q{k}", 0.2))
    with database.sessions.begin() as session:
        user = add_rater(session, "u")
        for prompt in (heldout, heldout.upper() + "  "):
            request = add_request(session, prompt, ["good answer", "bad answer"])
            for output, score in zip(request.outputs, (5, 1), strict=True):
                upsert_rating(session, output_id=output.id, rater_id=user.id, source="end_user", naturalness=score)

    datasets = build_datasets("text", *frames(database), FIXED_SHARE)

    assert datasets.pairs == [] and datasets.sft == []
    assert len(datasets.heldout_pairs) == 1  # the two requests pooled into one prompt, one pair
    assert datasets.heldout_prompts == [heldout]


def test_annotators_weigh_more_than_end_users(database):
    with database.sessions.begin() as session:
        user, annotator = add_rater(session, "u"), add_rater(session, "a", role="annotator")
        output = add_request(session, "x", ["y"]).outputs[0]
        upsert_rating(session, output_id=output.id, rater_id=user.id, source="end_user", naturalness=1)
        upsert_rating(session, output_id=output.id, rater_id=annotator.id, source="annotator", naturalness=4)
    scores = score_outputs(frames(database)[0], DataConfig(annotator_weight=2.0))
    assert scores.loc[0, "score"] == pytest.approx((1 + 2 * 4) / 3)


def test_the_heldout_share_grows_with_the_data_and_only_ever_shrinks_as_a_fraction():
    config = DataConfig()  # aims at 20 held-out prompts, 20%-50% of them
    fractions = [config.heldout_fraction(n) for n in (4, 30, 40, 60, 100, 1000)]
    assert fractions == [0.5, 0.5, 0.5, pytest.approx(1 / 3), 0.2, 0.2]
    assert fractions == sorted(fractions, reverse=True)
    # Held out now => held out in every earlier (smaller) run: no earlier version trained on it.
    prompts = [f"question {k}" for k in range(1000)]
    for small, large in ((30, 60), (60, 100), (100, 1000)):
        now = {p for p in prompts if is_heldout(p, config.heldout_fraction(large))}
        before = {p for p in prompts if is_heldout(p, config.heldout_fraction(small))}
        assert now <= before
    held = [sum(is_heldout(p, config.heldout_fraction(n)) for p in prompts[:n]) for n in (40, 100, 1000)]
    assert held[0] <= held[1] < held[2]  # never fewer held-out prompts with more data (in expectation)


def test_rated_outputs_carry_their_score_and_side(database, training_prompt):
    with database.sessions.begin() as session:
        user = add_rater(session, "u")
        request = add_request(session, training_prompt, ["good answer", "bad answer"])
        for output, score in zip(request.outputs, (5, 1), strict=True):
            upsert_rating(session, output_id=output.id, rater_id=user.id, source="end_user", naturalness=score)

    datasets = build_datasets("text", *frames(database), FIXED_SHARE)

    assert sorted((r["completion"], r["score"], r["heldout"]) for r in datasets.rated) == [
        ("bad answer", 1.0, False),
        ("good answer", 5.0, False),
    ]


def test_an_unknown_modality_raises_instead_of_meaning_image(database):
    from models.base import UnknownModalityError

    with pytest.raises(UnknownModalityError, match="unknown modality 'txet'"):
        build_datasets("txet", *frames(database))
