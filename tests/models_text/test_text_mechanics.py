"""Mechanics of HFTextGenerator on a tiny random Llama: fast, and independent of model quality."""

from __future__ import annotations

import logging
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from models.base import (
    InvalidParameterError,
    ModelLoadError,
    PartialAnswer,
    TextParams,
    UnknownVersionError,
)
from models.registry import load_text_generator
from models.text_hf import HFTextGenerator
from tests.models_text.conftest import save_random_lora

SAMPLE = TextParams(max_new_tokens=12, temperature=1.0, n=3, seed=7)


def test_stream_grows_every_candidate_over_several_updates(tiny_generator: HFTextGenerator) -> None:
    updates = list(tiny_generator.stream("Say something.", SAMPLE))
    assert updates[-1].done and len(updates[-1].outputs) == 3
    assert all(len(u.texts) == 3 for u in updates)
    for i in range(3):
        distinct = {u.texts[i] for u in updates[:-1]}
        assert len(distinct) > 1, f"candidate {i} arrived in one piece"
        assert updates[-1].outputs[i].text.startswith(updates[1].texts[i][:1])


def test_outputs_report_tokens_timings_and_seeds(tiny_generator: HFTextGenerator) -> None:
    outputs = tiny_generator.generate("Say something.", SAMPLE)
    assert [o.index for o in outputs] == [0, 1, 2]
    assert [o.seed for o in outputs] == [7, 8, 9]
    for o in outputs:
        assert o.finish_reason == "length" and o.tokens == 12
        assert 0 < o.time_to_first_token_ms <= o.latency_ms and o.tokens_per_s > 0


def test_a_continuation_leaves_the_answer_open_and_reports_the_whole_answer(tiny_generator: HFTextGenerator) -> None:
    # 1. The model sees its answer's start as an open assistant turn: no end-of-turn after it.
    formatted = tiny_generator.format_prompt("Say something.", "It was a dark")
    assert formatted.endswith("<|im_start|>assistant\nIt was a dark"), formatted[-60:]
    # 2. Every text starts with the answer so far; tokens and latency count the whole answer.
    partial = PartialAnswer("It was a dark \n", tokens=4, latency_ms=1000.0)
    updates = list(tiny_generator.stream("Say something.", replace(SAMPLE, n=1), continuing=partial))
    [output] = updates[-1].outputs
    assert all(u.texts[0].startswith("It was a dark") for u in updates) and len(output.text) > len("It was a dark")
    assert (output.tokens, output.seed, output.finish_reason) == (4 + 12, 7, "length") and output.latency_ms > 1000.0
    # 3. The continuation is the same generation as the model's own next tokens would be.
    continued = tiny_generator.encode_prompt("Say something.", "It was a dark")
    fresh = tiny_generator.encode_prompt("Say something.")
    assert continued.shape[1] > fresh.shape[1] and continued[0, : fresh.shape[1]].tolist() == fresh[0].tolist()


def test_same_seed_reproduces_and_candidates_differ(tiny_generator: HFTextGenerator) -> None:
    first = [o.text for o in tiny_generator.generate("Hello", SAMPLE)]
    again = [o.text for o in tiny_generator.generate("Hello", SAMPLE)]
    assert first == again
    assert len(set(first)) == 3


def test_candidate_i_is_reproducible_alone_with_seed_plus_i(tiny_generator: HFTextGenerator) -> None:
    batch = tiny_generator.generate("Hello", SAMPLE)
    alone = tiny_generator.generate("Hello", replace(SAMPLE, n=1, seed=batch[2].seed))
    assert alone[0].text == batch[2].text


def test_missing_seed_is_drawn_and_reported(tiny_generator: HFTextGenerator) -> None:
    outputs = tiny_generator.generate("Hello", replace(SAMPLE, seed=None, n=2, max_new_tokens=4))
    assert outputs[1].seed == (outputs[0].seed + 1) % 2**32


def test_temperature_zero_is_greedy(tiny_generator: HFTextGenerator) -> None:
    outputs = tiny_generator.generate("Hello", replace(SAMPLE, temperature=0.0, seed=None))
    assert len({o.text for o in outputs}) == 1


def test_stop_string_ends_each_candidate_before_it(tiny_generator: HFTextGenerator) -> None:
    # Random weights emit near-random tokens; most contain an "e" within a few tokens.
    params = replace(SAMPLE, max_new_tokens=60, stop=("e",))
    outputs = tiny_generator.generate("Hello", params)
    for o in outputs:
        assert o.finish_reason == "stop" and "e" not in o.text and o.tokens < 60


def test_cancel_stops_all_candidates(tiny_generator: HFTextGenerator) -> None:
    cancel = threading.Event()
    params = replace(SAMPLE, max_new_tokens=200)
    for seen, update in enumerate(tiny_generator.stream("Hello", params, cancel)):  # noqa: B007 - the last one is checked
        if seen == 3:
            cancel.set()
    assert update.done
    assert all(o.finish_reason == "cancelled" and o.tokens < 200 for o in update.outputs)


def test_abandoned_stream_frees_the_model(tiny_generator: HFTextGenerator) -> None:
    stream = tiny_generator.stream("Hello", replace(SAMPLE, max_new_tokens=200))
    next(stream)
    stream.close()  # the consumer went away: the worker must stop and release the lock
    assert tiny_generator.generate("Hello", replace(SAMPLE, max_new_tokens=2))


def test_concurrent_requests_match_sequential_ones(tiny_generator: HFTextGenerator) -> None:
    params = [replace(SAMPLE, n=2, max_new_tokens=6, seed=s) for s in (1, 2, 3)]
    expected = [[o.text for o in tiny_generator.generate("Hi", p)] for p in params]
    results: dict[int, list[str]] = {}

    def run(i: int) -> None:
        results[i] = [o.text for o in tiny_generator.generate("Hi", params[i])]

    threads = [threading.Thread(target=run, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [results[i] for i in range(3)] == expected


@pytest.mark.parametrize(
    ("prompt", "params", "message"),
    [
        ("Hi", TextParams(temperature=5), "temperature"),
        ("Hi", TextParams(n=0), "n must be"),
        ("Hi", TextParams(n=9), "n must be"),
        ("Hi", TextParams(max_new_tokens=0), "max_new_tokens"),
        ("Hi", TextParams(stop=("",)), "stop"),
        ("   ", TextParams(), "empty"),
        ("x" * 8001, TextParams(), "limit is 8000"),
        ("Hi", TextParams(max_new_tokens=250), "context of 256 tokens"),
    ],
)
def test_bad_input_raises_at_once(tiny_generator: HFTextGenerator, prompt: str, params: TextParams, message: str) -> None:
    with pytest.raises(InvalidParameterError, match=message):
        tiny_generator.stream(prompt, params)  # raises on call, before any iteration


def test_versions_switch_and_base_restores(tiny_generator: HFTextGenerator, tmp_path: Path) -> None:
    greedy = TextParams(max_new_tokens=8, temperature=0.0)
    base = tiny_generator.generate("Hello", greedy)[0].text
    adapter = save_random_lora(Path(tiny_generator.spec), tmp_path / "v1")
    try:
        tiny_generator.use_version("v1", adapter)
        assert tiny_generator.model_version == "v1"
        tuned = tiny_generator.generate("Hello", greedy)[0].text
        assert tuned != base
        tiny_generator.use_version("base", None)
        assert tiny_generator.generate("Hello", greedy)[0].text == base
        tiny_generator.use_version("v1", None)  # already loaded: no path needed
        assert tiny_generator.generate("Hello", greedy)[0].text == tuned
    finally:
        tiny_generator.use_version("base", None)
    assert tiny_generator.loaded_versions == ["base", "v1"]


def test_loading_a_second_adapter_logs_one_line_and_no_load_report(
    tiny_generator: HFTextGenerator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    first = save_random_lora(Path(tiny_generator.spec), tmp_path / "first", seed=1)
    second = save_random_lora(Path(tiny_generator.spec), tmp_path / "second", seed=2)
    caplog.set_level(logging.INFO)
    try:
        tiny_generator.use_version("log-first", first)
        tiny_generator.use_version("log-second", second)  # the model already holds another adapter
    finally:
        tiny_generator.use_version("base", None)
    messages = [record.getMessage() for record in caplog.records]
    assert not [m for m in messages if "LOAD REPORT" in m or "newly initialized" in m], messages
    assert sum(m.startswith("loaded adapter") for m in messages) == 2, messages


def test_unknown_version_and_bad_adapter_path(tiny_generator: HFTextGenerator, tmp_path: Path) -> None:
    with pytest.raises(UnknownVersionError):
        tiny_generator.use_version("never-loaded", None)
    with pytest.raises(ModelLoadError, match="no PEFT adapter"):
        tiny_generator.use_version("empty", tmp_path)
    assert tiny_generator.model_version == "base"


def test_completion_logprobs_prefer_the_greedy_continuation(tiny_generator: HFTextGenerator) -> None:
    greedy = tiny_generator.generate("Hello", TextParams(max_new_tokens=6, temperature=0.0))[0].text
    (greedy_score, greedy_tokens), (odd_score, odd_tokens) = tiny_generator.completion_logprobs(
        ["Hello", "Hello"], [greedy, "zebra quantum"]
    )
    assert greedy_score < 0 and odd_score < 0 and greedy_tokens > 0 and odd_tokens > 0
    assert greedy_score > odd_score


def test_unloadable_model_raises_model_load_error(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError):
        HFTextGenerator(str(tmp_path / "nothing-here"), "cpu").load()


def test_registry_shares_one_instance_per_spec(tiny_model_dir: Path, tmp_path: Path) -> None:
    first = load_text_generator(str(tiny_model_dir), "cpu", tmp_path)
    assert load_text_generator(str(tiny_model_dir), "cpu", tmp_path) is first
    assert load_text_generator("embedded", "cpu", tmp_path) is not first
