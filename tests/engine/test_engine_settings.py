"""Retrain with an engine: it trains on a local copy of the base model, which must be named."""

from __future__ import annotations

import pytest

from playground.cli.main import main
from playground.core.settings import Settings
from playground.retrain.text import MissingTrainModelError, local_text_model

ENGINE = "openai:http://127.0.0.1:9/v1"


def test_the_local_model_is_text_model_or_with_an_engine_text_train_model(tmp_path):
    assert local_text_model(Settings(data_dir=tmp_path)) == "embedded"
    assert local_text_model(Settings(data_dir=tmp_path, text_model=ENGINE, text_train_model="embedded")) == "embedded"
    for missing in (None, "", ENGINE):
        with pytest.raises(MissingTrainModelError, match="set PLAYGROUND_TEXT_TRAIN_MODEL"):
            local_text_model(Settings(data_dir=tmp_path, text_model=ENGINE, text_train_model=missing))


def test_retrain_with_an_engine_and_no_local_copy_stops_at_once_with_what_to_set(tmp_path, capsys):
    code = main(["--data-dir", str(tmp_path / "data"), "retrain", "--modality", "text", "--text-model", ENGINE])
    assert code == 1
    error = capsys.readouterr().err
    assert error.startswith(f"error: text is served by the engine {ENGINE}") and "--text-train-model" in error
