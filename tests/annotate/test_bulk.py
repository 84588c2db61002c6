"""`playground generate`: bad lines reported by number, good lines generated into the queue."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from feedback_db.assignments import next_item
from feedback_db.schema import Request
from playground.cli.main import main
from playground.services.bulk import generate_from_file, read_prompt_file
from playground.serving.context import build_context
from tests.annotate.conftest import add_annotator

GOOD_AND_BAD = "\n".join(
    [
        json.dumps({"prompt": "Write a haiku about rain", "params": {"max_new_tokens": 8, "seed": 3}}),
        "{not json",
        json.dumps({"text": "no prompt key"}),
        "",  # blank lines are skipped silently
        json.dumps({"prompt": "   "}),
        json.dumps({"prompt": "Too hot", "params": {"temperature": 9}}),
        json.dumps({"prompt": "Typo", "params": {"temprature": 0.5}}),
        json.dumps({"prompt": "Wrong type", "params": {"max_new_tokens": "many"}}),
        json.dumps({"prompt": "Per-line n", "params": {"n": 3}}),
        json.dumps({"id": 7, "prompt": "Name two rivers"}),
        json.dumps(["a list"]),
    ]
)


@pytest.fixture
def prompts(tmp_path):
    path = tmp_path / "prompts.jsonl"
    path.write_text(GOOD_AND_BAD + "\n", encoding="utf-8")
    return path


def test_bad_lines_are_reported_by_number_and_good_lines_go_in(fake_context, prompts, database):
    report = generate_from_file(fake_context, prompts, modality="text", n=3)

    problems = {p.line: p.message for p in report.problems}
    assert sorted(problems) == [2, 3, 5, 6, 7, 8, 9, 11]
    assert "not valid JSON" in problems[2]
    assert 'no "prompt"' in problems[3]
    assert "empty" in problems[5]
    assert "temperature must be between" in problems[6]
    assert "unknown parameter 'temprature'" in problems[7]
    assert "whole number" in problems[8]
    assert "--n" in problems[9]
    assert "JSON object" in problems[11]
    with database.read_sessions() as session:
        requests = session.scalars(select(Request).order_by(Request.id)).all()
        assert [r.prompt for r in requests] == ["Write a haiku about rain", "Name two rivers"]
        assert {r.source for r in requests} == {"bulk"} and all(len(r.outputs) == 3 for r in requests)
        assert requests[0].parameters["max_new_tokens"] == 8 and requests[0].outputs[0].seed == 3


def test_bulk_requests_enter_the_annotation_queue(fake_context, prompts, database):
    report = generate_from_file(fake_context, prompts, modality="text", n=2)
    with database.sessions.begin() as session:
        annotator = add_annotator(session, "ann")
        assert next_item(session, annotator_id=annotator).request_id == report.request_ids[0]


def test_image_prompts(fake_context, tmp_path, database):
    path = tmp_path / "images.jsonl"
    path.write_text(
        json.dumps({"prompt": "a red circle", "params": {"steps": 2, "width": 32, "height": 32}})
        + "\n"
        + json.dumps({"prompt": "x", "params": {"width": 33}})
        + "\n"
    )
    report = generate_from_file(fake_context, path, modality="image", n=2)
    assert len(report.request_ids) == 1 and [p.line for p in report.problems] == [2]
    with database.read_sessions() as session:
        request = session.get(Request, report.request_ids[0])
        assert request.modality == "image" and all(o.image_path for o in request.outputs)


def test_unreadable_file_is_an_error(tmp_path):
    from playground.services.bulk import PromptFileError

    with pytest.raises(PromptFileError, match="cannot read"):
        read_prompt_file(tmp_path / "missing.jsonl", modality="text", n=2)
    (tmp_path / "latin1.jsonl").write_bytes(b'{"prompt": "caf\xe9"}')
    with pytest.raises(PromptFileError, match="UTF-8"):
        read_prompt_file(tmp_path / "latin1.jsonl", modality="text", n=2)


@pytest.fixture
def cli_on_fakes(monkeypatch, fake_context):
    monkeypatch.setattr("playground.serving.context.build_context", lambda settings, database: fake_context)
    return ["--data-dir", str(fake_context.settings.data_dir)]


def test_cli_reports_lines_and_exits_zero_when_something_was_generated(cli_on_fakes, prompts, capsys):
    code = main([*cli_on_fakes, "generate", "--prompts", str(prompts), "--n", "2"])
    out, err = capsys.readouterr()
    assert code == 0
    assert f"{prompts}:2: not valid JSON" in err and f"{prompts}:9:" in err
    assert "generated 2 requests with 2 candidates each" in out and "8 lines skipped" in out


def test_cli_exits_non_zero_when_nothing_could_be_generated(cli_on_fakes, tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text("oops\n")
    assert main([*cli_on_fakes, "generate", "--prompts", str(bad)]) == 1
    assert "error: nothing was generated" in capsys.readouterr().err
    assert main([*cli_on_fakes, "generate", "--prompts", str(tmp_path / "none.jsonl")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: cannot read") and "Traceback" not in err
    assert main([*cli_on_fakes, "generate", "--prompts", str(bad), "--n", "99"]) == 1
    assert "--n must be between 1 and" in capsys.readouterr().err


def test_export_writes_the_agreement_files(cli_on_fakes, tmp_path, capsys):
    assert main([*cli_on_fakes, "export", "--out", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "agreement.csv").exists() and (tmp_path / "out" / "agreement_pairs.csv").exists()
    assert "agreement" in capsys.readouterr().out


@pytest.mark.real_model
def test_bulk_generation_on_the_embedded_text_model(settings, database, real_text_generator, tmp_path):
    context = build_context(
        settings,
        database,
        text_factory=lambda: real_text_generator,
        image_factory=lambda: pytest.fail("no image model needed"),
    )
    path = tmp_path / "real.jsonl"
    path.write_text(
        "\n".join(json.dumps({"prompt": p, "params": {"max_new_tokens": 4, "seed": 1}}) for p in ("Say hi.", "Name a colour."))
        + "\nnot json\n"
    )
    report = generate_from_file(context, path, modality="text", n=2)
    assert [p.line for p in report.problems] == [3] and len(report.request_ids) == 2
    with database.read_sessions() as session:
        requests = [session.get(Request, r) for r in report.request_ids]
        assert all(r.source == "bulk" and len(r.outputs) == 2 for r in requests)
        assert all(o.text is not None and o.tokens <= 4 for r in requests for o in r.outputs)
