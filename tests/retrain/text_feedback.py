"""A scripted text rater's loop, shared by the text loop-closure tests: an app context on a
fresh database, and one request generated through the app's streaming path and rated."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from feedback_db.queries import upsert_rating, upsert_set_rating
from models.base import TextParams
from playground.core.database import Database, open_database
from playground.core.settings import Settings
from playground.services.generation import stream_text
from playground.serving.context import AppContext, build_context
from tests.db.helpers import add_rater


@dataclass(frozen=True)
class TextLoop:
    settings: Settings
    database: Database
    context: AppContext
    rater_id: int


def text_loop(tmp_path: Path, model_cache_dir: Path, generator, rater: str) -> TextLoop:
    settings = Settings(data_dir=tmp_path / "data", device="cpu", model_cache=model_cache_dir)
    database = open_database(settings)
    context = build_context(settings, database, text_factory=lambda: generator, image_factory=lambda: None)
    with database.sessions.begin() as session:
        rater_id = add_rater(session, rater, role="annotator").id
    return TextLoop(settings, database, context, rater_id)


def rate_one_request(
    loop: TextLoop, prompt: str, params: TextParams, score: Callable[[str], tuple[int, int]], liking: Callable[[str], float]
) -> list[str]:
    """Generate `prompt`'s candidates, rate each (naturalness, reliability) = `score(text)`, and
    pick as best the top-scored one that has the most of what the rater likes (`liking`), never
    the first or last by id. Returns the candidates' texts."""
    final = list(stream_text(loop.context, None, prompt, params))[-1]
    texts = [output.text for output in final.outputs]
    scores = [score(text) for text in texts]
    with loop.database.sessions.begin() as session:
        for (naturalness, reliability), output_id in zip(scores, final.recorded.output_ids, strict=True):
            upsert_rating(
                session, output_id=output_id, rater_id=loop.rater_id, source="annotator", naturalness=naturalness, reliability=reliability
            )
        best = max(zip(scores, map(liking, texts), final.recorded.output_ids, strict=True))[2]
        upsert_set_rating(
            session, request_id=final.recorded.request_id, rater_id=loop.rater_id, source="annotator", diversity=3, best_output_id=best
        )
    return texts
