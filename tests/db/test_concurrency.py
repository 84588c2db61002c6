"""Many writers at once through the query API: no lost writes, no "database is locked"."""

import threading

import pytest
from sqlalchemy import func, select

from feedback_db.queries import upsert_rating
from feedback_db.schema import Rating
from tests.db.helpers import add_rater, add_text_request

THREADS = 16
RATINGS_PER_THREAD = 500


@pytest.mark.slow
@pytest.mark.long  # 8,000 committed writes per backend: a load test, in the long lane (`make test-long`)
def test_16_threads_writing_500_ratings_each_lose_nothing(database):
    # 1. 500 outputs to rate and one rater per thread.
    with database.sessions.begin() as session:
        output_ids = [o.id for _ in range(125) for o in add_text_request(session, n=4).outputs]
        rater_ids = [add_rater(session, f"rater{t}").id for t in range(THREADS)]
    assert len(output_ids) == RATINGS_PER_THREAD
    errors: list[BaseException] = []

    # 2. Each thread commits every rating on its own, the worst case for lock contention.
    def rate_all(rater_id: int) -> None:
        try:
            for i, output_id in enumerate(output_ids):
                with database.sessions.begin() as session:
                    upsert_rating(
                        session,
                        output_id=output_id,
                        rater_id=rater_id,
                        source="annotator",
                        naturalness=1 + i % 5,
                        reliability=1 + (i + rater_id) % 5,
                    )
        except BaseException as error:  # collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=rate_all, args=(r,)) for r in rater_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # 3. Every rating is there, with the value its thread wrote.
    assert errors == []
    with database.sessions() as session:
        assert session.scalar(select(func.count(Rating.id))) == THREADS * RATINGS_PER_THREAD
        per_rater = dict(session.execute(select(Rating.rater_id, func.count(Rating.id)).group_by(Rating.rater_id)).all())
        assert per_rater == {r: RATINGS_PER_THREAD for r in rater_ids}
        sample = session.scalars(select(Rating).where(Rating.output_id == output_ids[7])).all()
        assert {r.naturalness for r in sample} == {1 + 7 % 5}
