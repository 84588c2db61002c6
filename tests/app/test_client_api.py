"""The app's API through gradio_client, on fake models (the real-model run is in tests/e2e)."""

import pytest
from gradio_client import Client

from feedback_db.frames import ratings_frame, set_ratings_frame
from feedback_db.schema import Request
from tests.launch import running_app


@pytest.fixture
def client(context):
    with running_app(context) as url:
        yield Client(url, verbose=False)


def test_generate_then_rate_through_the_api(client, database):
    client.predict("hello world", 2, 16, 0.7, 0.9, 1.1, 3, "", api_name="/generate_text")
    assert client.predict(0, 4, 5, None, "nice", api_name="/rate_text") == "Saved naturalness 4, reliability 5, comment"
    client.predict(0, 2, None, None, None, api_name="/rate_text")
    client.predict(3, 1, api_name="/rate_text_set")

    with database.read_sessions() as session:
        ratings = ratings_frame(session)
        sets = set_ratings_frame(session)
    assert len(ratings) == 1 and (ratings.loc[0, "naturalness"], ratings.loc[0, "reliability"]) == (2, 5)
    assert (sets.loc[0, "diversity"], sets.loc[0, "best_output_index"]) == (3, 1)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("   ", 2, 16, 0.7, 0.9, 1.1, None, ""), "prompt is empty"),
        # The sliders' bounds are checked before our handler runs, naming the field and its range.
        (("hi", 2, 16, 9.0, 0.9, 1.1, None, ""), "Temperature must be a number from 0 to 2, got 9.0"),
        (("hi", 7, 16, 0.7, 0.9, 1.1, None, ""), "Candidates must be a number from 1 to 4, got 7"),
        (("hi", 2, 99999, 0.7, 0.9, 1.1, None, ""), r"Max new tokens must be a number from \d+ to \d+, got 99999"),
        (("hi", 2, 16, 0.7, 0.9, 1.1, -5, ""), "less than minimum|seed"),
        (("hi", 2, 16, 0.7, 0.9, 1.1, None, "x" * 40), "stop"),
    ],
)
def test_bad_input_sent_to_the_api_gets_a_clear_error_and_writes_nothing(client, database, args, message):
    with pytest.raises(Exception, match=message):
        client.predict(*args, api_name="/generate_text")
    with database.read_sessions() as session:
        assert session.query(Request).count() == 0


def test_rating_before_generating_is_refused(client):
    with pytest.raises(Exception, match="generate first"):
        client.predict(0, 3, None, None, None, api_name="/rate_text")


def test_generate_image_then_rate(client, database):
    client.predict("a red circle", "", 1, 3, 2.0, 256, 5, api_name="/generate_image")
    client.predict(0, 5, 4, 1, None, api_name="/rate_image")
    with database.read_sessions() as session:
        ratings = ratings_frame(session)
    assert list(ratings["modality"]) == ["image"] and ratings.loc[0, "thumbs"] == 1
