"""What held against the probe, kept holding: huge prompts refused with the limit named and
nothing stored, and a CLI database error that never prints the PostgreSQL password.

(The other items that held have their tests: scores, ids and comments out of range in
test_validation.py; log-in and role checks in tests/annotate; other browsers' history in
tests/app/test_history_ui.py; the cookie flags and file modes in test_identity.py; browser
storage and /config in tests/e2e/test_no_secrets_in_browser.py; markup never executed in the
e2e tests; traversal names, big bodies and the integrity check in test_probe.py.)
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from feedback_db.schema import Battle, Request, User
from playground.cli.main import main
from tests.security.conftest import client

HUGE = "x" * 100_000


@pytest.mark.parametrize(
    ("api_name", "args", "limit"),
    [
        ("/generate_text", (HUGE, 1, 8, 0.7, 0.9, 1.1, "", ""), r"the limit is \d+"),
        ("/generate_image", (HUGE, "", 1, 2, 2.0, 256, ""), r"the limit is \d+"),
        ("/arena_battle", ("text", HUGE), "the limit is 4000"),
    ],
)
def test_a_100_kb_prompt_is_refused_with_the_limit_named_and_nothing_stored(url, database, api_name, args, limit):
    with pytest.raises(Exception, match=limit):
        client(url).predict(*args, api_name=api_name)
    with database.read_sessions() as session:
        assert [session.scalar(select(func.count(t.id))) for t in (Request, Battle, User)] == [0, 0, 2]


def test_a_database_error_in_the_cli_never_prints_the_postgresql_password(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PLAYGROUND_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("PLAYGROUND_DATABASE_URL", "postgresql+psycopg://bob:s3cr3t-pw@127.0.0.1:1/nowhere")
    assert main(["db", "upgrade"]) != 0
    printed = capsys.readouterr()
    assert "error:" in printed.err and "s3cr3t-pw" not in printed.out + printed.err
