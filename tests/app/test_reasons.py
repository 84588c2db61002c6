"""Reasons on a thumbs-down or a flag: chips plus details, validated, stored, exported."""

import pytest

from feedback_db.errors import InvalidInputError
from feedback_db.export import read_frame, write_frame
from feedback_db.frames import flags_frame, ratings_frame
from feedback_db.reasons import MAX_REASON_DETAIL_CHARS, Reason, compose_reason, parse_reason
from models.base import TextParams
from playground.services.generation import stream_text
from playground.services.ratings import flag_output, give_reason, rate_output


@pytest.fixture
def recorded(context, viewer):
    return list(stream_text(context, viewer, "hello there", TextParams(n=2)))[-1].recorded


def test_compose_orders_chips_and_round_trips():
    stored = compose_reason(["off-topic", "wrong"], "  Paris is   the capital ")
    assert stored == "wrong, off-topic: Paris is the capital"
    assert parse_reason(stored) == Reason(("wrong", "off-topic"), "Paris is the capital")
    assert compose_reason([], "just text") == "other: just text"
    assert compose_reason(None, "") is None
    assert parse_reason("harmful") == Reason((), "harmful")  # flags stored before reasons existed


@pytest.mark.parametrize(
    "chips, detail, message",
    [
        (["rude"], None, "unknown reason 'rude'"),
        ([3], None, "must be text"),
        (["wrong"], "x" * (MAX_REASON_DETAIL_CHARS + 1), f"limited to {MAX_REASON_DETAIL_CHARS}"),
    ],
)
def test_bad_reasons_are_refused(chips, detail, message):
    with pytest.raises(InvalidInputError, match=message):
        compose_reason(chips, detail)


def test_thumbs_down_reason_is_stored_and_cleared_by_thumbs_up(database, viewer, recorded):
    first = recorded.output_ids[0]
    with pytest.raises(InvalidInputError, match="thumbs-down or a flag"):
        give_reason(database, viewer, first, ["wrong"], None)
    rate_output(database, viewer, first, thumbs=-1)
    assert give_reason(database, viewer, first, ["wrong", "incoherent"], "<b>bold</b>") == "Saved reason: wrong, incoherent: <b>bold</b>"
    with database.read_sessions() as session:
        assert ratings_frame(session).loc[0, "reason"] == "wrong, incoherent: <b>bold</b>"  # markup kept as text
    rate_output(database, viewer, first, thumbs=1)
    with database.read_sessions() as session:
        assert ratings_frame(session).loc[0, "reason"] is None


def test_flag_reason_replaces_the_default_and_an_unknown_chip_changes_nothing(database, viewer, recorded):
    second = recorded.output_ids[1]
    flag_output(database, viewer, second, True)
    with database.read_sessions() as session:
        assert flags_frame(session).loc[0, "reason"] == "harmful"
    give_reason(database, viewer, second, ["unsafe"], '=HYPERLINK("http://x")')
    with pytest.raises(InvalidInputError):
        give_reason(database, viewer, second, ["nope"], None)
    with database.read_sessions() as session:
        assert flags_frame(session).loc[0, "reason"] == 'unsafe: =HYPERLINK("http://x")'


@pytest.mark.parametrize("fmt", ["csv", "parquet", "jsonl"])
def test_reasons_reach_every_export_format_and_csv_cells_stay_inert(database, viewer, recorded, tmp_path, fmt):
    first = recorded.output_ids[0]
    rate_output(database, viewer, first, thumbs=-1, reason="=1+1")  # a direct write, as a script could
    flag_output(database, viewer, first, True, reason="-2+3")
    with database.read_sessions() as session:
        frames = {"ratings": ratings_frame(session, include_withheld=True), "flags": flags_frame(session)}
    for name, frame in frames.items():
        path = write_frame(frame, tmp_path / f"{name}.{fmt}", fmt)
        assert read_frame(path, fmt)["reason"].tolist() == frame["reason"].tolist()
        if fmt == "csv":
            assert "'=1+1" in path.read_text() or "'-2+3" in path.read_text()


def test_scripts_give_reasons_through_the_api_and_bad_ones_are_refused(context, database):
    from gradio_client import Client

    from tests.launch import running_app

    with running_app(context) as url:
        client = Client(url, verbose=False)
        client.predict("hello world", 2, 16, 0.7, 0.9, 1.1, 3, "", api_name="/generate_text")
        with pytest.raises(Exception, match="thumbs-down or a flag"):
            client.predict(0, "wrong", "", api_name="/reason_text")
        client.predict(0, None, None, -1, None, api_name="/rate_text")
        with pytest.raises(Exception, match="unknown reason 'rude'"):
            client.predict(0, "wrong, rude", "", api_name="/reason_text")
        assert client.predict(0, "off-topic , wrong", "<i>x</i>", api_name="/reason_text") == "Saved reason: wrong, off-topic: <i>x</i>"
    with database.read_sessions() as session:
        assert ratings_frame(session)["reason"].tolist() == ["wrong, off-topic: <i>x</i>"]
