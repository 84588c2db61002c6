"""Write scripted feedback through the query API (for retrain tests that need no generation)."""

from __future__ import annotations

from feedback_db.queries import NewOutput, record_request, upsert_rating, upsert_set_rating
from tests.db.helpers import add_rater

SHORT = "Paris is the capital of France."
LONG = (
    "The capital of France is Paris, a large and very old city on the river Seine, known for its "
    "museums, its cafes, its long history and many famous buildings that people visit every year."
)


def seed_length_preference(database, prompts: int = 30, prefer_short: bool = True, temperature: float = 0.7) -> None:
    """Each prompt gets a short and a long answer; the rater prefers one kind."""
    with database.sessions.begin() as session:
        rater = add_rater(session, f"scripted-{prefer_short}-{prompts}")
        for k in range(prompts):
            request = record_request(
                session,
                modality="text",
                prompt=f"Question number {k}: what is the capital of France?",
                parameters={"temperature": temperature},
                model_version="base",
                outputs=[
                    NewOutput(index=0, seed=k, latency_ms=1, text=f"{SHORT} ({k})"),
                    NewOutput(index=1, seed=k + 1, latency_ms=1, text=f"{LONG} ({k})"),
                ],
            )
            short, long = request.outputs
            good, bad = (short, long) if prefer_short else (long, short)
            upsert_rating(session, output_id=good.id, rater_id=rater.id, source="annotator", naturalness=5, reliability=5)
            upsert_rating(session, output_id=bad.id, rater_id=rater.id, source="annotator", naturalness=1, reliability=2)
            upsert_set_rating(session, request_id=request.id, rater_id=rater.id, source="annotator", diversity=3, best_output_id=good.id)
