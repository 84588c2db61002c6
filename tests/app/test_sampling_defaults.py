"""Sampling defaults learned from naturalness and diversity ratings."""

from feedback_db.frames import outputs_frame, ratings_frame, set_ratings_frame
from feedback_db.queries import NewOutput, record_request, upsert_rating, upsert_set_rating
from feedback_db.versions import create_version, promote_version
from models.finetune.sampling import SamplingConfig, learn_sampling_defaults
from playground.services.personal_defaults import everyones_value
from tests.db.helpers import add_rater


def seed(database, temperature, naturalness, diversity):
    """One request per naturalness value, all at `temperature`."""
    with database.sessions.begin() as session:
        rater = add_rater(session, f"r{temperature}-{len(naturalness)}")
        for k, score in enumerate(naturalness):
            request = record_request(
                session,
                modality="text",
                prompt=f"p{k}",
                parameters={"temperature": temperature},
                model_version="base",
                outputs=[NewOutput(index=i, seed=i, latency_ms=1, text=f"t{i}") for i in range(2)],
            )
            for output in request.outputs:
                upsert_rating(session, output_id=output.id, rater_id=rater.id, source="end_user", naturalness=score)
            upsert_set_rating(session, request_id=request.id, rater_id=rater.id, source="end_user", diversity=diversity)


def frames(database):
    with database.read_sessions() as session:
        return ratings_frame(session), set_ratings_frame(session), outputs_frame(session)


def test_a_bucket_clearly_better_than_the_runner_up_becomes_the_default(database):
    seed(database, 0.3, naturalness=[3, 4, 3, 4, 3, 4], diversity=1)
    seed(database, 0.9, naturalness=[4, 5, 4, 5, 5, 4], diversity=5)
    seed(database, 1.5, naturalness=[5, 5], diversity=5)  # best, but too few requests to count
    learned = learn_sampling_defaults("text", *frames(database), config=SamplingConfig(min_requests_per_bucket=5))
    assert learned["temperature"] == 0.9
    assert learned["evidence"]["learned"] and learned["evidence"]["runner_up"] == "0.3"
    assert learned["evidence"]["p_value"] < 0.05


def test_one_bucket_compares_nothing_and_keeps_the_parents_defaults(database):
    # Every request used the same temperature: its ratings cannot say that value is better.
    seed(database, 1.0, naturalness=[5, 4, 5, 5, 4, 5, 5, 4], diversity=4)
    learned = learn_sampling_defaults("text", *frames(database), {"temperature": 0.6, "evidence": {}})
    assert learned["temperature"] == 0.6 and not learned["evidence"]["learned"]
    assert "nothing to compare" in learned["evidence"]["why"]
    assert "temperature" not in learn_sampling_defaults("text", *frames(database))


def test_a_difference_within_noise_keeps_the_parents_defaults(database):
    seed(database, 0.5, naturalness=[3, 5, 4, 2, 5, 3], diversity=3)
    seed(database, 1.0, naturalness=[4, 3, 5, 3, 4, 4], diversity=3)
    learned = learn_sampling_defaults("text", *frames(database), {})
    assert "temperature" not in learned and learned["evidence"]["p_value"] > 0.05
    assert "within noise" in learned["evidence"]["why"]


def test_too_little_evidence_learns_nothing(database):
    seed(database, 0.5, naturalness=[5, 5, 5], diversity=5)
    assert "temperature" not in learn_sampling_defaults("text", *frames(database))


def test_the_ui_shows_the_active_versions_learned_default(context, database):
    assert everyones_value(context, "text") == 0.7
    with database.sessions.begin() as session:
        version = create_version(
            session, name="text-v1", modality="text", base_model="embedded", adapter_path="x", sampling_defaults={"temperature": 0.4}
        )
        promote_version(session, version_id=version.id)
    assert everyones_value(context, "text") == 0.4


def preset_battles(database, outcomes: dict[str, int]) -> None:
    """Voted arena battles of the base version, temperature 0.7 (side A) vs 1.0 (side B)."""
    from feedback_db.arena import Contestant, create_battle, finish_battle, record_vote

    with database.sessions.begin() as session:
        voter = add_rater(session, f"arena-{sum(outcomes.values())}")
        request = record_request(
            session,
            modality="text",
            prompt="p",
            parameters={},
            model_version="base",
            outputs=[NewOutput(index=0, seed=0, latency_ms=1, text="t")],
        )
        for outcome, count in outcomes.items():
            for _ in range(count):
                battle = create_battle(
                    session,
                    modality="text",
                    prompt="p",
                    user_id=voter.id,
                    side_a=Contestant("base", "temperature=0.7"),
                    side_b=Contestant("base", "temperature=1.0"),
                )
                finish_battle(session, battle_id=battle.id, request_a_id=request.id, request_b_id=request.id)
                record_vote(session, battle_id=battle.id, voter_id=voter.id, outcome=outcome)


def presets_of_base(database):
    from feedback_db.standings import preset_votes

    with database.read_sessions() as session:
        votes = preset_votes(session, modality="text")
    return votes[votes["version"] == "base"]


def test_arena_preset_votes_set_the_default_when_the_ratings_show_nothing(database):
    # The ratings compare nothing (one bucket); 24 of 30 decisive votes prefer 0.7 (p < 0.001).
    seed(database, 1.0, naturalness=[5, 4, 5, 5, 4, 5], diversity=4)
    preset_battles(database, {"a": 24, "b": 6, "tie": 5, "both_bad": 3})
    learned = learn_sampling_defaults("text", *frames(database), {"temperature": 0.9}, preset_votes=presets_of_base(database))
    assert learned["temperature"] == 0.7 and learned["evidence"]["source"] == "arena"
    assert learned["evidence"]["arena"]["wins"] == 24 and learned["evidence"]["arena"]["losses"] == 6
    assert "won 24 of 30 decisive preset battles" in learned["evidence"]["why"]


def test_arena_votes_within_noise_or_too_few_keep_the_parents_default(database):
    seed(database, 1.0, naturalness=[5, 4, 5, 5, 4, 5], diversity=4)
    preset_battles(database, {"a": 13, "b": 11, "tie": 10})  # 13 of 24: a coin does this often
    learned = learn_sampling_defaults("text", *frames(database), {"temperature": 0.9}, preset_votes=presets_of_base(database))
    assert learned["temperature"] == 0.9 and not learned["evidence"]["learned"]
    assert learned["evidence"]["arena"]["p_value"] > 0.05
    few = learn_sampling_defaults(
        "text", *frames(database), {}, SamplingConfig(min_preset_battles=40), preset_votes=presets_of_base(database)
    )
    assert "temperature" not in few and "40+ decisive arena votes" in few["evidence"]["arena"]["why"]
