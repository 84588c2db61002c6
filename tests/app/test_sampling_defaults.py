"""Sampling defaults learned from naturalness and diversity ratings."""

from feedback_db.frames import outputs_frame, ratings_frame, set_ratings_frame
from feedback_db.queries import NewOutput, record_request, upsert_rating, upsert_set_rating
from feedback_db.versions import create_version, promote_version
from models.finetune.sampling import SamplingConfig, learn_sampling_defaults
from playground.ui.text_tab import _learned
from tests.db.helpers import add_rater


def seed(database, temperature, naturalness, diversity, requests=6):
    with database.sessions.begin() as session:
        rater = add_rater(session, f"r{temperature}")
        for k in range(requests):
            request = record_request(
                session, modality="text", prompt=f"p{k}", parameters={"temperature": temperature},
                model_version="base", outputs=[NewOutput(index=i, seed=i, latency_ms=1, text=f"t{i}") for i in range(2)],
            )
            for output in request.outputs:
                upsert_rating(session, output_id=output.id, rater_id=rater.id, source="end_user", naturalness=naturalness)
            upsert_set_rating(session, request_id=request.id, rater_id=rater.id, source="end_user", diversity=diversity)


def frames(database):
    with database.read_sessions() as session:
        return ratings_frame(session), set_ratings_frame(session), outputs_frame(session)


def test_the_best_rated_temperature_with_enough_evidence_wins(database):
    seed(database, 0.3, naturalness=4, diversity=1)  # 4 + 0.5 * 1 = 4.5
    seed(database, 0.9, naturalness=4, diversity=5)  # 4 + 0.5 * 5 = 6.5
    seed(database, 1.5, naturalness=5, diversity=5, requests=2)  # best, but too little evidence
    learned = learn_sampling_defaults("text", *frames(database), SamplingConfig(min_requests_per_bucket=5))
    assert learned["temperature"] == 0.9
    assert set(learned["evidence"]) == {"0.3", "0.9"}


def test_too_little_evidence_learns_nothing(database):
    seed(database, 0.5, naturalness=5, diversity=5, requests=3)
    assert learn_sampling_defaults("text", *frames(database)) == {}


def test_the_ui_shows_the_active_versions_learned_default(context, database):
    assert _learned(context, "temperature", 0.7) == 0.7
    with database.sessions.begin() as session:
        version = create_version(session, name="text-v1", modality="text", base_model="embedded",
                                 adapter_path="x", sampling_defaults={"temperature": 0.4})
        promote_version(session, version_id=version.id)
    assert _learned(context, "temperature", 0.7) == 0.4
