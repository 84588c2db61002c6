import pandas as pd
import pytest

from feedback_db.export import export_frames, read_frame
from feedback_db.frames import read_frames
from feedback_db.queries import set_flag, upsert_rating, upsert_set_rating
from tests.db.helpers import add_rater, add_text_request


@pytest.fixture
def rated_database(database):
    with database.sessions.begin() as session:
        rater = add_rater(session, "r1")
        for k in range(3):
            request = add_text_request(session, n=2, prompt=f'prompt {k}, with "quotes"\nand a newline')
            for output in request.outputs:
                upsert_rating(
                    session,
                    output_id=output.id,
                    rater_id=rater.id,
                    source="end_user",
                    naturalness=1 + k,
                    reliability=5 - k,
                    comment="<b>ok</b>, fine" if k else None,
                )
            upsert_set_rating(
                session,
                request_id=request.id,
                rater_id=rater.id,
                source="end_user",
                diversity=3,
                best_output_id=request.outputs[1].id,
            )
        set_flag(session, output_id=request.outputs[0].id, rater_id=rater.id, flagged=True)
    return database


def test_frames_join_ratings_to_their_outputs_and_requests(rated_database):
    with rated_database.sessions() as session:
        frames = read_frames(session, include_withheld=True)  # the audit view keeps flagged rows
        default = read_frames(session)
    assert len(default["ratings"]) == 5 and len(default["outputs"]) == 5  # training never sees them
    ratings = frames["ratings"]
    assert len(ratings) == 6
    assert set(ratings["rater_role"]) == {"end_user"}
    assert ratings["flagged"].sum() == 1
    assert list(frames["set_ratings"]["best_output_index"]) == [1, 1, 1]
    assert len(frames["outputs"]) == 6


@pytest.mark.parametrize("fmt", ["csv", "parquet", "jsonl"])
def test_export_round_trips_through_pandas(rated_database, tmp_path, fmt):
    with rated_database.sessions() as session:
        frames = read_frames(session)
    paths = export_frames(frames, tmp_path / fmt, fmt)
    assert [p.name.split(".")[0] for p in paths] == list(frames)
    for (name, frame), path in zip(frames.items(), paths, strict=True):
        back = read_frame(path, fmt)
        pd.testing.assert_frame_equal(
            _missing_as_none(back),
            _missing_as_none(frame),
            check_dtype=False,
            check_index_type=False,
            check_column_type=False,
            obj=f"{name}.{fmt}",
        )


def _missing_as_none(frame: pd.DataFrame) -> pd.DataFrame:
    """CSV cannot tell None from NaN; a round trip must keep values and keep missing missing."""
    return frame.astype(object).where(frame.notna(), None)
