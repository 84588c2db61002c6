"""The CLI: clear one-line errors and non-zero exits for bad arguments, never a traceback."""

import io
import subprocess
import sys

import pytest

from playground.cli.main import main


def run(argv, capsys, stdin: str | None = None, monkeypatch=None):
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse exits on usage errors
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def data_dir_args(tmp_path):
    return ["--data-dir", str(tmp_path / "data")]


def test_console_script_shows_help():
    result = subprocess.run([sys.executable, "-m", "playground", "--help"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0
    for command in ("serve", "db", "export", "users", "retrain"):
        assert command in result.stdout


def test_db_upgrade_then_current(capsys, data_dir_args):
    code, out, _ = run([*data_dir_args, "db", "upgrade"], capsys)
    assert code == 0 and "revision" in out
    code, out, _ = run([*data_dir_args, "db", "current"], capsys)
    assert code == 0 and "up to date" in out


def test_users_add_list_and_existing_user_is_refused(capsys, monkeypatch, data_dir_args):
    code, out, _ = run([*data_dir_args, "users", "add", "ann", "--password-stdin"], capsys, "longenough\n", monkeypatch)
    assert code == 0 and "added annotator 'ann'" in out

    code, _, err = run([*data_dir_args, "users", "add", "ann", "--password-stdin"], capsys, "longenough\n", monkeypatch)
    assert code == 1
    assert err.strip() == "error: a user named 'ann' already exists"

    code, out, _ = run([*data_dir_args, "users", "list"], capsys)
    assert code == 0 and "annotator" in out and "ann" in out


def test_users_add_short_password_and_bad_role(capsys, monkeypatch, data_dir_args):
    code, _, err = run([*data_dir_args, "users", "add", "bob", "--password-stdin"], capsys, "short\n", monkeypatch)
    assert code == 1 and "at least 8 characters" in err and "Traceback" not in err
    code, _, err = run([*data_dir_args, "users", "add", "bob", "--role", "root"], capsys)
    assert code == 2 and "invalid choice" in err


def test_users_add_without_terminal_asks_for_password_stdin(capsys, monkeypatch, data_dir_args):
    code, _, err = run([*data_dir_args, "users", "add", "carol"], capsys, "", monkeypatch)
    assert code == 1 and "--password-stdin" in err


def test_export_unknown_format_is_a_usage_error(capsys, data_dir_args, tmp_path):
    code, _, err = run([*data_dir_args, "export", "--out", str(tmp_path / "x"), "--format", "xml"], capsys)
    assert code == 2 and "invalid choice: 'xml'" in err


def test_export_to_an_unwritable_path_fails_cleanly(capsys, data_dir_args, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    code, _, err = run([*data_dir_args, "export", "--out", str(blocker)], capsys)
    assert code == 1 and "is not a folder" in err

    code, _, err = run([*data_dir_args, "export", "--out", str(blocker / "sub")], capsys)
    assert code == 1 and err.startswith("error: cannot write to") and "Traceback" not in err


def test_export_writes_every_table(capsys, data_dir_args, tmp_path):
    code, out, _ = run([*data_dir_args, "export", "--out", str(tmp_path / "out"), "--format", "jsonl"], capsys)
    assert code == 0
    for name in ("ratings", "set_ratings", "outputs", "flags"):
        assert (tmp_path / "out" / f"{name}.jsonl").exists()
        assert name in out


def test_bad_setting_from_environment_is_reported(capsys, monkeypatch, data_dir_args):
    monkeypatch.setenv("PLAYGROUND_PORT", "not-a-port")
    code, _, err = run([*data_dir_args, "db", "current"], capsys)
    assert code == 1 and "port" in err


def test_unknown_database_url_scheme_is_reported(capsys, tmp_path):
    code, _, err = run(["--database-url", "nosuchdb://x", "db", "upgrade"], capsys)
    assert code == 1 and "error:" in err and "Traceback" not in err


def test_versions_list_shows_parents_and_with_chain_the_held_out_and_capability_figures(capsys, tmp_path):
    from playground.core.database import open_database
    from playground.core.settings import Settings
    from tests.db.test_version_chain import seed_chain

    data = ["--data-dir", str(tmp_path / "data")]
    database = open_database(Settings(data_dir=tmp_path / "data"))
    seed_chain(database)
    database.engine.dispose()
    # 1. The plain list: one line per version, its parent beside its arena standing.
    code, out, _ = run([*data, "versions", "list", "--modality", "text"], capsys)
    lines = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert code == 0 and list(lines) == ["base", "text-v1", "text-v2", "text-v3", "text-v4", "text-v5"]
    assert "from base" in lines["text-v1"] and "from text-v1" in lines["text-v2"] and "no arena votes" in lines["text-v2"]
    # 2. --chain: one line per version with the figures, and what drifted in words.
    code, out, _ = run([*data, "versions", "list", "--modality", "text", "--chain"], capsys)
    assert code == 0
    rows = {line.split()[0]: line for line in out.splitlines() if line.startswith("  text-v")}
    assert list(rows) == ["text-v1", "text-v2", "text-v3", "text-v4", "text-v5"]
    assert "exact answers" in out and "forgets" in out
    assert "0.600 (0.620)" in rows["text-v2"] and "none" in rows["text-v2"]
    assert rows["text-v3"].split()[-2:] == ["exact", "answers"]  # forgets: on what
    assert "1 version refused for forgetting it" in out
    # 3. Images: a version without a run, no capability figures yet; nothing fails.
    code, out, _ = run([*data, "versions", "list", "--modality", "image", "--chain"], capsys)
    assert code == 0 and "image-v1" in out and "No capability figures yet" in out
