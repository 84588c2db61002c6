"""No stored text holds a control character other than tab, LF and CR, whichever path wrote it.

The requests path used to clean its text by hand while the arena stored raw prompts and vote
reasons (PostgreSQL refuses NUL outright, so there the vote failed). The column types now clean
every bound value, so these write through the arena, the ORM and Core statements that skip the
query functions, then read the rows back with raw SQL on a fresh connection.
"""

from __future__ import annotations

import json
import unicodedata

from sqlalchemy import text, update

from feedback_db.arena import Contestant, create_battle, finish_battle, record_vote
from feedback_db.schema import Battle, Flag, Rating, Request, TrainingRun
from tests.db.helpers import add_rater, add_text_request

DIRTY = "hi\x00 the\x07re\x1b[31m\x7f\x85\ttab\nline\r\nend\r"
CLEAN = "hi there[31m\ttab\nline\r\nend\r"


def _controls(value: object) -> list[str]:
    """Control characters (C0, DEL, C1) other than tab, LF and CR anywhere in `value`."""
    if isinstance(value, dict):
        return [c for k, v in value.items() for c in _controls(k) + _controls(v)]
    if isinstance(value, list):
        return [c for v in value for c in _controls(v)]
    if not isinstance(value, str):
        return []
    return [c for c in value if unicodedata.category(c) == "Cc" and c not in "\t\n\r"]


def _stored(database, sql: str) -> list[object]:
    """Every value of the first column of `sql`, read on a fresh connection."""
    with database.engine.connect() as connection:
        return [row[0] for row in connection.execute(text(sql))]


def _as_json(value: object) -> object:
    return json.loads(value) if isinstance(value, str) else value  # SQLite gives text, psycopg parsed


def test_arena_prompts_and_vote_reasons_are_stored_without_control_characters(database):
    with database.sessions.begin() as session:
        user = add_rater(session, "voter")
        battle = create_battle(
            session, modality="text", prompt=DIRTY, side_a=Contestant("base"), side_b=Contestant("text-v1"), user_id=user.id
        )
        first, second = add_text_request(session, n=1), add_text_request(session, n=1)
        finish_battle(session, battle_id=battle.id, request_a_id=first.id, request_b_id=second.id)
        record_vote(session, battle_id=battle.id, voter_id=user.id, outcome="a", reason="nul\x00in\x07vote")

    assert _stored(database, "SELECT prompt FROM battles") == [CLEAN]
    assert _stored(database, "SELECT reason FROM battle_votes") == ["nulinvote"]


def test_core_updates_that_skip_the_query_functions_are_cleaned_too(database):
    with database.sessions.begin() as session:
        user = add_rater(session, "voter")
        battle = create_battle(
            session, modality="text", prompt="fine", side_a=Contestant("base"), side_b=Contestant("text-v1"), user_id=user.id
        )
        session.execute(update(Battle).where(Battle.id == battle.id).values(prompt=DIRTY))

    assert _stored(database, "SELECT prompt FROM battles") == [CLEAN]


def test_orm_writes_to_other_tables_are_cleaned(database):
    with database.sessions.begin() as session:
        rater = add_rater(session, "rater")
        request = add_text_request(session, n=1)
        output_id = request.outputs[0].id
        # Straight through the ORM, past record_request's and upsert_rating's own cleaning.
        session.add(
            Request(modality="text", prompt=DIRTY, model_version="base\x00", parameters={"neg\x01": ["a\x00b", {"k": "v\x07"}], "n": 1})
        )
        session.add(Rating(output_id=output_id, rater_id=rater.id, source="end_user", comment=DIRTY, reason="r\x00"))
        session.add(Flag(output_id=output_id, rater_id=rater.id, reason="spam\x00\x08"))
        session.add(TrainingRun(modality="text", status="failed", error=DIRTY, metrics={"note": "x\x00y"}))

    assert _stored(database, "SELECT prompt FROM requests ORDER BY id")[-1] == CLEAN
    assert _stored(database, "SELECT model_version FROM requests ORDER BY id")[-1] == "base"
    parameters = _as_json(_stored(database, "SELECT parameters FROM requests ORDER BY id")[-1])
    assert parameters == {"neg": ["ab", {"k": "v"}], "n": 1}
    assert _stored(database, "SELECT comment FROM ratings") == [CLEAN]
    assert _stored(database, "SELECT reason FROM ratings") == ["r"]
    assert _stored(database, "SELECT reason FROM flags") == ["spam"]
    assert _stored(database, "SELECT error FROM training_runs") == [CLEAN]
    assert _as_json(_stored(database, "SELECT metrics FROM training_runs")[0]) == {"note": "xy"}

    for table, column in [
        ("requests", "prompt"),
        ("requests", "parameters"),
        ("ratings", "comment"),
        ("flags", "reason"),
        ("training_runs", "error"),
        ("training_runs", "metrics"),
    ]:
        values = [_as_json(v) if column in ("parameters", "metrics") else v for v in _stored(database, f"SELECT {column} FROM {table}")]
        assert _controls(values) == [], f"{table}.{column}"
