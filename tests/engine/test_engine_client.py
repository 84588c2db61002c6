"""The engine client against a tiny fake OpenAI-compatible server (fast, no vLLM): spec parsing,
request bodies, seeds, finish reasons, cancel, versions, errors that name the URL, and token
confidence read from `logprobs` (tests/engine/test_vllm_confidence.py checks a real vLLM)."""

from __future__ import annotations

import math
import threading

import pytest

from models.base import CONFIDENCE_ALTERNATIVES, InvalidParameterError, ModelLoadError, PartialAnswer, TextParams, UnknownVersionError
from models.registry import load_text_generator
from models.text_engine import (
    EngineResponseError,
    EngineSpec,
    EngineTextGenerator,
    EngineTimeouts,
    EngineUnreachableError,
    InvalidEngineSpecError,
)
from tests.engine.fake_engine import BASE_MODEL, WORD_LOGPROB, FakeEngine, reply_words
from tests.ports import free_port


@pytest.fixture
def engine():
    fake = FakeEngine().start()
    yield fake
    fake.stop()


@pytest.fixture
def generator(engine) -> EngineTextGenerator:
    return EngineTextGenerator(f"openai:{engine.url}")


@pytest.mark.parametrize(
    ("spec", "url", "model"),
    [
        ("openai:http://127.0.0.1:8000/v1", "http://127.0.0.1:8000/v1", None),
        ("openai:http://gpu-box:8000/v1/#Qwen/Qwen2.5-1.5B-Instruct", "http://gpu-box:8000/v1", "Qwen/Qwen2.5-1.5B-Instruct"),
        ("openai:https://engine.example/api/v1#m", "https://engine.example/api/v1", "m"),
    ],
)
def test_specs_parse_into_url_and_model(spec, url, model):
    assert EngineSpec.parse(spec) == EngineSpec(url, model)


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("openai:127.0.0.1:8000/v1", "http(s)://host"),
        ("openai:ftp://host/v1", "http(s)://host"),
        ("openai:http://127.0.0.1:8000", "with its path, e.g. http://127.0.0.1:8000/v1"),
        ("openai:http://host/v1?x=1", "no query string"),
    ],
)
def test_malformed_specs_are_refused_with_what_to_write(spec, words):
    with pytest.raises(InvalidEngineSpecError, match="openai:") as error:
        EngineSpec.parse(spec)
    assert words in str(error.value)


def test_a_server_with_several_base_models_needs_one_named(engine, monkeypatch):
    generator = EngineTextGenerator(f"openai:{engine.url}")
    monkeypatch.setattr(generator, "served_models", lambda: {"m1": None, "m2": None})
    with pytest.raises(ModelLoadError, match=r"serves 2 base models \(m1, m2\): name one as openai:http"):
        generator.load()


def test_the_registry_shares_one_client_per_engine_spec(engine):
    spec = f"openai:{engine.url}"
    first = load_text_generator(spec, "cpu", "unused")
    assert isinstance(first, EngineTextGenerator) and load_text_generator(spec, "cuda", "other") is first


def test_the_base_model_is_the_one_the_server_lists_or_the_one_named(engine):
    assert EngineTextGenerator(f"openai:{engine.url}").base_model == BASE_MODEL
    assert EngineTextGenerator(f"openai:{engine.url}#{BASE_MODEL}").base_model == BASE_MODEL
    with pytest.raises(ModelLoadError, match=f"does not serve 'other'; it serves {BASE_MODEL}"):
        EngineTextGenerator(f"openai:{engine.url}#other").load()
    # Loaded adapters are listed with their base as parent: the base is still the one.
    engine.adapters["a-lora"] = "/x"
    assert EngineTextGenerator(f"openai:{engine.url}").base_model == BASE_MODEL


def test_candidates_stream_with_seeds_s_plus_i_and_the_request_body(generator, engine):
    params = TextParams(n=3, seed=10, max_new_tokens=5, temperature=0.8, top_p=0.95, repetition_penalty=1.2)
    updates = list(generator.stream("Hello", params))

    outputs = updates[-1].outputs
    assert updates[-1].done and len(updates) > 2, "text arrives in several updates before the end"
    assert [o.seed for o in outputs] == [10, 11, 12]
    assert [o.text for o in outputs] == [" ".join(reply_words(s)[:5]) for s in (10, 11, 12)]
    assert all(o.finish_reason == "length" and o.tokens == 5 for o in outputs)
    assert all(0 < o.time_to_first_token_ms <= o.latency_ms for o in outputs)
    body = engine.chats()[0]
    assert body["messages"] == [{"role": "user", "content": "Hello"}] and body["model"] == BASE_MODEL
    assert (body["n"], body["max_tokens"], body["temperature"], body["top_p"], body["repetition_penalty"]) == (1, 5, 0.8, 0.95, 1.2)
    assert body["stream"] and body["stream_options"] == {"include_usage": True}
    # Candidate 1 alone, with n=1 and seed 11, is the same text.
    alone = generator.generate("Hello", TextParams(n=1, seed=11, max_new_tokens=5, temperature=0.8, top_p=0.95, repetition_penalty=1.2))
    assert alone[0].text == outputs[1].text


def test_a_continuation_asks_to_continue_the_open_answer_and_reports_the_whole_answer(generator, engine):
    partial = PartialAnswer("The start of it ", tokens=4, latency_ms=100.0)
    updates = list(generator.stream("Hello", TextParams(seed=3, max_new_tokens=5), continuing=partial))
    body = engine.chats()[0]
    assert body["messages"] == [{"role": "user", "content": "Hello"}, {"role": "assistant", "content": "The start of it"}]
    assert body["continue_final_message"] is True and body["add_generation_prompt"] is False
    [output] = updates[-1].outputs
    assert all(u.texts[0].startswith("The start of it") for u in updates)
    assert output.text == "The start of it " + " ".join(reply_words(3)[:5])
    assert (output.tokens, output.seed, output.finish_reason) == (9, 3, "length") and output.latency_ms > 100.0


def test_a_request_without_a_seed_gets_one_and_reports_it(generator):
    outputs = generator.generate("Hi", TextParams(n=2, max_new_tokens=3))
    assert outputs[1].seed == (outputs[0].seed + 1) % 2**32
    assert outputs[0].text == " ".join(reply_words(outputs[0].seed)[:3])


def test_a_stop_string_ends_the_text_before_it_with_finish_reason_stop(generator):
    third = reply_words(5)[2]
    (output,) = generator.generate("Hi", TextParams(seed=5, stop=(third,), max_new_tokens=30))
    assert output.finish_reason == "stop" and output.text == " ".join(reply_words(5)[:2])
    (full,) = generator.generate("Hi", TextParams(seed=5, max_new_tokens=100))
    assert full.finish_reason == "stop" and full.tokens == 40  # the reply ended by itself


def test_cancel_closes_the_streams_and_reports_cancelled(generator, engine):
    engine.delay_s = 0.05
    cancel = threading.Event()
    stream = generator.stream("Hi", TextParams(n=2, seed=3, max_new_tokens=40), cancel)
    for progress in stream:
        if sum(len(t.split()) for t in progress.texts) >= 4:
            cancel.set()
        if progress.done:
            break
    outputs = progress.outputs
    assert [o.finish_reason for o in outputs] == ["cancelled", "cancelled"]
    assert all(0 < o.tokens < 20 for o in outputs), [o.tokens for o in outputs]
    engine.delay_s = 0  # let the fake notice the closed connections
    deadline = threading.Event()
    deadline.wait(0.5)
    assert sorted(engine.closed_early) == [3, 4]


def test_a_stream_abandoned_by_its_reader_is_closed(generator, engine):
    engine.delay_s = 0.05
    stream = generator.stream("Hi", TextParams(n=1, seed=8, max_new_tokens=40))
    next(stream)
    stream.close()
    threading.Event().wait(0.5)
    assert engine.closed_early == [8]


def test_bad_parameters_and_prompts_fail_before_any_network_call():
    dead = EngineTextGenerator(f"openai:http://127.0.0.1:{free_port()}/v1")
    with pytest.raises(InvalidParameterError, match="temperature"):
        dead.stream("Hi", TextParams(temperature=5))
    with pytest.raises(InvalidParameterError, match="empty"):
        dead.stream("   ", TextParams())


def test_an_engine_that_is_down_is_a_clear_error_naming_its_url():
    url = f"http://127.0.0.1:{free_port()}/v1"
    dead = EngineTextGenerator(f"openai:{url}", timeouts=EngineTimeouts(connect=1))
    with pytest.raises(EngineUnreachableError, match=f"the text engine at {url} is not reachable"):
        dead.load()


def test_an_engine_that_goes_down_after_loading_fails_the_request_clearly(generator, engine):
    generator.load()
    engine.stop()
    with pytest.raises(EngineUnreachableError, match=f"the text engine at {engine.url} is not reachable"):
        generator.generate("Hi", TextParams(n=2))


@pytest.mark.parametrize("status", [400, 500, 503])
def test_http_errors_carry_the_status_and_the_engines_message(generator, engine, status):
    generator.load()
    engine.fail_with = status
    with pytest.raises(EngineResponseError, match=f"answered {status} to /v1/chat/completions: the fake engine fails on purpose"):
        generator.generate("Hi", TextParams(n=3))


def test_a_stream_without_a_finish_reason_is_an_error(generator, engine):
    engine.drop_finish_reason = True
    with pytest.raises(EngineResponseError, match="without a finish reason"):
        generator.generate("Hi", TextParams(max_new_tokens=3))


def test_versions_load_into_the_engine_and_requests_name_them(generator, engine, tmp_path):
    adapters = []
    for name in ("text-v1", "text-v2"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "adapter_config.json").write_text("{}")
        adapters.append(tmp_path / name)
    # 1. A new version is loaded from its absolute path and answers as model=<version>.
    generator.use_version("text-v1", adapters[0])
    assert engine.adapters == {"text-v1": str(adapters[0].resolve())}
    generator.generate("Hi", TextParams(max_new_tokens=2))
    assert engine.chats()[-1]["model"] == "text-v1"
    # 2. Switching back and forth loads nothing again; the base is the base model's name.
    generator.use_version("text-v2", adapters[1])
    generator.use_version("text-v1", None)
    generator.use_version("base", None)
    generator.generate("Hi", TextParams(max_new_tokens=2))
    assert engine.chats()[-1]["model"] == BASE_MODEL
    assert [r["lora_name"] for r in engine.requests if r["path"] == "/v1/load_lora_adapter"] == ["text-v1", "text-v2"]
    # 3. Unloading frees it in the engine; the served version falls back to the base.
    generator.use_version("text-v2", None)
    assert generator.unload_version("text-v2") and not generator.unload_version("text-v2")
    assert generator.model_version == "base" and list(engine.adapters) == ["text-v1"]
    assert generator.loaded_versions == ["base", "text-v1"]


def test_a_name_the_engine_kept_from_an_earlier_run_is_reloaded_from_our_path(generator, engine, tmp_path):
    (tmp_path / "text-v1").mkdir()
    (tmp_path / "text-v1" / "adapter_config.json").write_text("{}")
    engine.adapters["text-v1"] = "/elsewhere/text-v1"
    generator.use_version("text-v1", tmp_path / "text-v1")
    assert engine.adapters == {"text-v1": str(tmp_path / "text-v1")}


def test_a_version_another_replica_loaded_from_the_same_path_is_kept_as_it_is(generator, engine, tmp_path):
    (tmp_path / "text-v1").mkdir()
    (tmp_path / "text-v1" / "adapter_config.json").write_text("{}")
    engine.adapters["text-v1"] = str((tmp_path / "text-v1").resolve())  # loaded by the other replica
    generator.use_version("text-v1", tmp_path / "text-v1")
    generator.generate("Hi", TextParams(max_new_tokens=2))
    assert not [r for r in engine.requests if r["path"] == "/v1/unload_lora_adapter"]  # it was in use there
    assert engine.chats()[-1]["model"] == "text-v1"


def test_an_adapter_the_engine_forgot_is_loaded_again_and_the_request_retried(generator, engine, tmp_path):
    (tmp_path / "text-v1").mkdir()
    (tmp_path / "text-v1" / "adapter_config.json").write_text("{}")
    generator.use_version("text-v1", tmp_path / "text-v1")
    engine.adapters.clear()  # the engine restarted

    outputs = generator.generate("Hi", TextParams(n=2, seed=4, max_new_tokens=3))

    assert [o.text for o in outputs] == [" ".join(reply_words(s)[:3]) for s in (4, 5)]
    assert engine.adapters == {"text-v1": str(tmp_path / "text-v1")}
    assert [r["model"] for r in engine.chats()] == ["text-v1"] * 4  # 2 refused, 2 answered


def test_unknown_versions_and_folders_without_an_adapter_are_refused(generator, tmp_path):
    with pytest.raises(UnknownVersionError):
        generator.use_version("text-v9", None)
    with pytest.raises(ModelLoadError, match="adapter_config.json missing"):
        generator.use_version("text-v9", tmp_path)
    assert generator.model_version == "base"


# -- token confidence ------------------------------------------------------------------------


def test_each_token_gets_exp_of_its_logprob_and_the_top_alternatives_sorted(generator, engine):
    updates = list(generator.stream("Hello", TextParams(n=2, seed=4, max_new_tokens=5)))

    body = engine.chats()[0]
    assert body["logprobs"] is True and body["top_logprobs"] == CONFIDENCE_ALTERNATIVES + 1
    for output in updates[-1].outputs:
        assert output.confidence is not None and len(output.confidence) == output.tokens == 5
        assert "".join(t.text for t in output.confidence) == output.text
        for token in output.confidence:
            assert token.probability == pytest.approx(math.exp(WORD_LOGPROB))
            # vLLM lists the sampled token first: sorted here, the top 3 of the 4 asked for.
            assert [name for name, _ in token.alternatives] == ["top", token.text, "third"]
            assert [p for _, p in token.alternatives] == pytest.approx([math.exp(-0.2), math.exp(WORD_LOGPROB), math.exp(-2.0)])
    for update in updates:
        assert ["".join(t.text for t in tokens) for tokens in update.confidence] == update.texts


def test_a_stop_string_cut_keeps_the_texts_joined(generator):
    third = reply_words(5)[2]
    (output,) = generator.generate("Hi", TextParams(seed=5, stop=(third,), max_new_tokens=30))
    assert output.confidence is not None and "".join(t.text for t in output.confidence) == output.text


def test_confidence_off_asks_for_no_logprobs(generator, engine):
    updates = list(generator.stream("Hello", TextParams(seed=4, max_new_tokens=3, confidence=False)))
    assert "logprobs" not in engine.chats()[0] and "top_logprobs" not in engine.chats()[0]
    assert all(u.confidence == [] for u in updates) and updates[-1].outputs[0].confidence is None


def test_a_generator_pinned_to_a_version_reports_confidence_too(generator, engine, tmp_path):
    adapter = tmp_path / "v1"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text("{}")
    generator.use_version("text-v1", adapter)
    pinned = generator.for_version("text-v1")
    (output,) = pinned.generate("Hello", TextParams(seed=4, max_new_tokens=3))
    assert engine.chats()[-1]["model"] == "text-v1" and engine.chats()[-1]["logprobs"] is True
    assert output.confidence is not None and len(output.confidence) == 3
