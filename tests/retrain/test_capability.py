"""The capability guard's parts: the shipped set, its checks, the comparison with the base model,
the decision, the cache, and a bad set stopping `playground retrain` before anything is trained."""

import json
from pathlib import Path

import pytest

from models.finetune.capability import (
    EXACT,
    LOGLIK,
    CapabilityFileError,
    answer_matches,
    forgotten,
    load_text_capability,
    text_capability,
)
from models.finetune.evaluate import Evaluation
from playground.cli.main import main
from playground.core.settings import Settings
from playground.retrain.capability import check_capability
from playground.retrain.publish import decide_promotion
from playground.retrain.trainers import RetrainOptions, VersionRef
from tests.retrain.test_running_evidence import ScriptedTrainer

SHIPPED = Path(__file__).resolve().parents[2] / "assets" / "capability" / "text.jsonl"


def test_the_shipped_set_loads_with_both_kinds_of_check():
    items = load_text_capability(SHIPPED)
    assert len(items) >= 200
    assert {item.check for item in items} == {"exact", "likelihood"}
    assert len({item.prompt for item in items}) == len(items)  # no prompt twice
    assert len({item.topic for item in items}) >= 5


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read it"),
        ("", "no items"),
        ("{not json\n", "line 1: not JSON"),
        ('{"topic": "t", "prompt": "p", "check": "exact"}\n', "line 1: 'reference' must be a non-empty string"),
        ('{"topic": "t", "prompt": "p", "reference": "r", "check": "maybe"}\n', "'check' must be one of exact, likelihood"),
        ('["a list"]\n', "expected an object"),
    ],
)
def test_a_bad_set_is_refused_naming_the_file(tmp_path, content, message):
    path = tmp_path / "set.jsonl"
    if content is not None:
        path.write_text(content)
    with pytest.raises(CapabilityFileError) as error:
        load_text_capability(path)
    assert str(path) in str(error.value) and message in str(error.value)


@pytest.mark.parametrize(
    ("answer", "reference", "right"),
    [
        ("16 - 9 = 7", "7", True),
        ("12 - 2 = 5", "2", False),  # an operand is not the answer
        ("19 minus 4 equals 11.", "15", False),
        ('The opposite of "hot" is "cold".', "cold", True),
        ("The day after Wednesday is Friday.", "Thursday", False),
        ("The capital is Mexico City.", "Mexico City", True),
        ("Berliner", "Berlin", False),  # whole words only
        ("", "7", False),
    ],
)
def test_answer_matches(answer, reference, right):
    assert answer_matches(answer, reference) is right


def test_text_figures_from_scores_and_answers():
    items = load_text_capability(SHIPPED)[:10]
    figures = text_capability(items, lambda p, c: [(-2.0, 4)] * len(p), lambda prompts: ["no idea"] * len(prompts))
    assert figures[LOGLIK] == -0.5
    assert figures[EXACT] == 0.0


def test_a_figure_past_its_tolerance_is_forgotten_and_only_that_one():
    base = {LOGLIK: -2.0, EXACT: 0.50}
    assert forgotten(base, {LOGLIK: -2.1, EXACT: 0.46}, {LOGLIK: 0.15, EXACT: 0.05}) == []
    assert forgotten(base, {LOGLIK: -2.3, EXACT: 0.46}, {LOGLIK: 0.15, EXACT: 0.05}) == [LOGLIK]
    assert forgotten(base, {LOGLIK: -1.0, EXACT: 0.30}, {LOGLIK: 0.15, EXACT: 0.05}) == [EXACT]


class ForgetfulTrainer(ScriptedTrainer):
    """The base model answers half the set right; every adapter a tenth; counts its measurements."""

    measured: list[str] = []

    def measure_capability(self, version):
        type(self).measured.append(version.name)
        return {EXACT: 0.5 if version.adapter_path is None else 0.1}


def test_the_guard_measures_the_base_once_and_refuses_a_forgetful_candidate(tmp_path):
    settings = Settings(data_dir=tmp_path / "data", capability_guard=True)
    trainer = ForgetfulTrainer(settings, RetrainOptions())
    candidate = VersionRef("candidate-v1", tmp_path)
    first = check_capability(settings, trainer, candidate)
    second = check_capability(settings, trainer, candidate)
    assert ForgetfulTrainer.measured == ["base", "candidate-v1", "candidate-v1"]  # the base figures are cached
    assert first is not None and second is not None
    assert first.forgets == [EXACT] and first.base == {EXACT: 0.5} and first.candidate == {EXACT: 0.1}
    assert "exact answers 0.50 -> 0.10" in first.describe()
    # A winner on the raters' held-out prompts is still refused.
    better = Evaluation("pairs", "sign test", "better", 0.001, 12, 12, 0, 0, 24, {}, {}, "won 12 of 12 held-out prompts")
    decision = decide_promotion(better, capability=first)
    assert decision.status == "forgets" and not decision.promote
    assert "exact answers 0.50 -> 0.10" in decision.summary
    assert decide_promotion(better).status == "promoted"
    # The guard can be turned off.
    assert check_capability(settings.model_copy(update={"capability_guard": False}), trainer, candidate) is None


def test_retrain_with_a_malformed_set_exits_naming_it_before_training(tmp_path, capsys, monkeypatch):
    bad = tmp_path / "capability.jsonl"
    bad.write_text('{"topic": "t"}\n')
    monkeypatch.setenv("PLAYGROUND_CAPABILITY_GUARD", "true")
    monkeypatch.setenv("PLAYGROUND_CAPABILITY_TEXT_SET", str(bad))
    code = main(["--data-dir", str(tmp_path / "data"), "retrain", "--modality", "text"])
    _, err = capsys.readouterr()
    assert code == 1
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and str(bad) in lines[0] and "Traceback" not in err
    assert not (tmp_path / "data" / "adapters").exists() or not any((tmp_path / "data" / "adapters").iterdir())
    assert not (tmp_path / "data" / "reports").exists()


def test_a_missing_set_is_named_too(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PLAYGROUND_CAPABILITY_GUARD", "true")
    monkeypatch.setenv("PLAYGROUND_CAPABILITY_TEXT_SET", str(tmp_path / "nowhere.jsonl"))
    code = main(["--data-dir", str(tmp_path / "data"), "retrain"])
    _, err = capsys.readouterr()
    assert code == 1 and "nowhere.jsonl" in err and "cannot read it" in err


def test_shipped_items_are_plain_json_lines():
    for line in SHIPPED.read_text().splitlines():
        row = json.loads(line)
        assert set(row) == {"topic", "prompt", "reference", "check"}
