"""Findings 4, 5, 6, 7, 9, 12: every bad input gets a clear answer, nothing partial is stored,
errors are logged in proportion."""

from __future__ import annotations

import csv
import io
import logging
import sys

import httpx
import pandas as pd
import pytest
from sqlalchemy import func, select

from feedback_db.export import export_frames
from feedback_db.frames import read_frames
from feedback_db.schema import Rating, Request, SetRating, User, UserSession
from playground.cli.main import main
from tests.security.conftest import client


def _count(database, model) -> int:
    with database.read_sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_4_a_database_error_in_the_cli_is_one_line_without_the_password_hash(tmp_path, capsys, monkeypatch):
    data = tmp_path / "data"
    monkeypatch.chdir(tmp_path)  # a URI filename must not create a "file:" folder here
    assert main(["--data-dir", str(data), "db", "upgrade"]) == 0
    capsys.readouterr()
    read_only = f"sqlite:///file:{data / 'playground.db'}?mode=ro&uri=true"
    monkeypatch.setattr(sys, "stdin", io.StringIO("a long password\n"))
    code = main(["--data-dir", str(data), "--database-url", read_only, "users", "add", "bob", "--password-stdin"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1 and err.startswith("error: ") and "read-only" in err
    assert "argon2" not in err and "Traceback" not in err
    assert not (tmp_path / "file:").exists()


def test_5_csv_cells_that_could_be_formulas_are_escaped_and_round_trip(tmp_path):
    frame = pd.DataFrame({"comment": ['=HYPERLINK("http://x","y")', "+1", "-2", "@SUM(A1)", "'quoted", "plain"], "n": [1, 2, 3, 4, 5, 6]})
    (path,) = export_frames({"ratings": frame}, tmp_path, "csv")
    cells = [row[0] for row in csv.reader(path.open())][1:]
    assert all(not cell.startswith(("=", "+", "-", "@")) for cell in cells)
    assert cells[0] == '\'=HYPERLINK("http://x","y")'
    from feedback_db.export import read_frame

    assert read_frame(path, "csv")["comment"].tolist() == frame["comment"].tolist()


def test_5_control_characters_never_reach_the_database_or_exports(url, database, tmp_path):
    out = tmp_path / "out"
    caller = client(url)
    caller.predict("hello\x00 wor\x07ld\x1b[31m", 1, 8, 0.7, 0.9, 1.1, 1, "", api_name="/generate_text")
    caller.predict(0, 3, None, None, "fine\x00 comment\x08", api_name="/rate_text")
    with database.read_sessions() as session:
        frames = read_frames(session)
    export_frames(frames, out, "csv")
    stored = " ".join(frames["outputs"]["prompt"].tolist() + frames["outputs"]["text"].tolist() + frames["ratings"]["comment"].tolist())
    assert "hello world[31m" in stored and "fine comment" in stored
    assert not any(ord(ch) < 32 and ch not in "\t\n\r" for ch in stored)
    assert all(b"\x00" not in p.read_bytes() for p in out.iterdir())


@pytest.mark.parametrize("index", [-1, -3, 2, 0.5, "x"])
def test_6_a_candidate_index_outside_the_candidates_is_refused(url, database, index):
    caller = client(url)
    caller.predict("hello", 2, 8, 0.7, 0.9, 1.1, 1, "", api_name="/generate_text")
    with pytest.raises(Exception, match="candidate index must be a whole number from 0 to 1"):
        caller.predict(index, 3, None, None, None, api_name="/rate_text")
    with pytest.raises(Exception, match="candidate index must be a whole number from 0 to 1"):
        caller.predict(None, index, api_name="/rate_text_set")
    assert _count(database, Rating) == 0 and _count(database, SetRating) == 0


@pytest.mark.parametrize("score", [3.5, 2.4, 0, 6, True])
def test_6_fractional_or_out_of_range_scores_are_refused_not_rounded(url, database, score):
    caller = client(url)
    caller.predict("hello", 2, 8, 0.7, 0.9, 1.1, 1, "", api_name="/generate_text")
    with pytest.raises(Exception, match="naturalness must be a whole number from 1 to 5"):
        caller.predict(0, score, None, None, None, api_name="/rate_text")
    with pytest.raises(Exception, match="diversity must be a whole number from 1 to 5"):
        caller.predict(score, None, api_name="/rate_text_set")
    assert _count(database, Rating) == 0 and _count(database, SetRating) == 0


def test_7_refused_calls_from_new_clients_add_no_rows(url, database):
    users, sessions = _count(database, User), _count(database, UserSession)
    # Whatever each refusal says (tested above), the point here is that it adds no rows.
    for _ in range(5):
        caller = client(url)
        with pytest.raises(Exception):  # noqa: B017
            caller.predict(0, 3, None, None, None, api_name="/rate_text")
        with pytest.raises(Exception):  # noqa: B017
            caller.predict("   ", 2, 8, 0.7, 0.9, 1.1, 1, "", api_name="/generate_text")
        with pytest.raises(Exception):  # noqa: B017
            caller.predict(api_name="/annotate_next")
    assert (_count(database, User), _count(database, UserSession)) == (users, sessions)
    assert _count(database, Request) == 0


def test_9_the_api_schema_says_integer_and_integers_or_their_text_are_accepted(url, database):
    caller = client(url)
    info = caller.view_api(return_format="dict", print_info=False)["named_endpoints"]
    size = next(p for p in info["/generate_image"]["parameters"] if p["label"] == "Size (px)")
    assert size["type"]["type"] == "integer" and 256 in size["type"]["enum"]
    submit = info["/annotate_submit"]["parameters"]
    assert all(p["type"]["type"] == "integer" for p in submit if p["label"] in ("Naturalness", "Reliability"))
    caller.predict("a red circle", "", 1, 2, 2.0, "256", 5, api_name="/generate_image")  # text of a choice
    caller.predict("a red circle", "", 1, 2, 2.0, 256, 5, api_name="/generate_image")
    assert _count(database, Request) == 2


def test_9_a_missing_size_gets_a_clear_error(url, database):
    with pytest.raises(Exception, match="Size is missing"):
        client(url).predict("a red circle", "", 1, 2, 2.0, None, 5, api_name="/generate_image")
    assert _count(database, Request) == 0


def test_9_a_read_only_database_is_reported_as_such(url, database, monkeypatch):
    caller = client(url)
    caller.predict("hello", 1, 8, 0.7, 0.9, 1.1, 1, "", api_name="/generate_text")

    def refuse_writes(*args, **kwargs):
        import sqlite3

        from sqlalchemy.exc import OperationalError

        raise OperationalError("INSERT ...", {}, sqlite3.OperationalError("attempt to write a readonly database"))

    monkeypatch.setattr("playground.services.ratings.save_rating", refuse_writes)  # the write of /rate_text
    with pytest.raises(Exception, match="read-only"):
        caller.predict(0, 3, None, None, None, api_name="/rate_text")


def test_12_a_refusal_is_one_log_line_and_http_422_a_fault_keeps_its_traceback(url, caplog, capfd, monkeypatch):
    caplog.set_level(logging.INFO, logger="playground.web.ui")
    api = url + "gradio_api/run/rate_text"
    response = httpx.post(api, json={"data": [None, 0, 9, None, None, None]})  # (state, index, scores...)
    assert response.status_code == 422 and "naturalness must be a whole number" in response.json()["error"]
    refusals = [r for r in caplog.records if r.name == "playground.web.ui"]
    assert len(refusals) == 1 and refusals[0].exc_info is None
    assert "Traceback" not in capfd.readouterr().err

    def crash(*args, **kwargs):
        raise RuntimeError("a real bug")

    monkeypatch.setattr("playground.web.ui.rating_api.viewer_of", crash)
    response = httpx.post(api, json={"data": [None, 0, 3, None, None, None]})
    assert response.status_code == 500
    faults = [r for r in caplog.records if r.name == "playground.web.ui" and r.exc_info]
    assert len(faults) == 1 and "a real bug" in str(faults[0].exc_info[1])
