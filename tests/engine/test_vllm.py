"""The engine backend against a real vLLM on loopback (one server for the session: conftest.py):
streaming, n=4, seeds, stop strings, cancel, and LoRA versions after a real retrain promotion."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import replace

import httpx
import pytest

from feedback_db.versions import create_version, promote_version
from models.base import PartialAnswer, TextParams
from models.text_engine import EngineTextGenerator
from playground.core.database import open_database
from playground.core.settings import Settings
from playground.services.generation import stream_text
from playground.serving.context import build_context
from tests.engine.vllm_server import SERVED_NAME
from tests.retrain.seed import seed_length_preference

pytestmark = [pytest.mark.engine, pytest.mark.real_model]
PROMPT = "Write two sentences about the sea."


@pytest.fixture(scope="module")
def engine(vllm_server) -> EngineTextGenerator:
    return EngineTextGenerator(vllm_server.spec)


def test_four_candidates_stream_at_once_and_differ(engine):
    updates = list(engine.stream(PROMPT, TextParams(n=4, seed=11, max_new_tokens=24)))

    final = updates[-1]
    texts = [o.text for o in final.outputs]
    assert final.done and len(set(texts)) == 4 and all(texts), texts
    assert [o.seed for o in final.outputs] == [11, 12, 13, 14]
    assert all(o.finish_reason in ("stop", "length") and 0 < o.tokens <= 24 for o in final.outputs)
    assert all(0 < o.time_to_first_token_ms < o.latency_ms for o in final.outputs)
    # Text arrived while it grew, not in one piece at the end.
    assert any(0 < len(update.texts[0]) < len(texts[0]) for update in updates[:-1])


def test_a_seed_reproduces_its_texts_and_candidate_i_alone(engine):
    params = TextParams(n=2, seed=5, max_new_tokens=16)
    first = [o.text for o in engine.generate(PROMPT, params)]

    assert [o.text for o in engine.generate(PROMPT, params)] == first
    assert [o.text for o in engine.generate(PROMPT, replace(params, seed=500))] != first
    (alone,) = engine.generate(PROMPT, replace(params, n=1, seed=6))
    assert alone.text == first[1]


def test_a_cut_answer_continued_goes_on_where_it_stopped(engine):
    """vLLM's continue_final_message: greedy 8 tokens, continued for 8 more, is the greedy 16."""
    greedy = TextParams(temperature=0.0, max_new_tokens=8)
    [cut] = engine.generate(PROMPT, greedy)
    assert cut.finish_reason == "length", cut.text
    partial = PartialAnswer(cut.text, cut.tokens, cut.latency_ms)
    [whole] = list(engine.stream(PROMPT, greedy, continuing=partial))[-1].outputs
    [longer] = engine.generate(PROMPT, replace(greedy, max_new_tokens=16))
    assert whole.text.startswith(cut.text) and whole.text == longer.text and whole.tokens == 16, (cut.text, whole.text, longer.text)


def test_a_stop_string_ends_the_text_before_it(engine):
    params = TextParams(seed=21, max_new_tokens=40)
    reference = engine.generate(PROMPT, params)[0].text
    stop = next(word for word in reference.split()[4:] if len(word) >= 4)

    (output,) = engine.generate(PROMPT, replace(params, stop=(stop,)))

    assert output.finish_reason == "stop"
    assert output.text == reference[: reference.index(stop)], (stop, reference)


def test_cancel_closes_the_streams_and_the_engine_stops_generating(engine, vllm_server):
    cancel = threading.Event()
    params = TextParams(n=2, seed=3, max_new_tokens=400)  # ~15 s of work if nothing stops it
    for progress in engine.stream("Tell me a long story about a dragon and a knight.", params, cancel):
        if sum(len(t) for t in progress.texts) > 20:
            cancel.set()

    assert [o.finish_reason for o in progress.outputs] == ["cancelled", "cancelled"]
    assert all(o.tokens < 100 for o in progress.outputs), [o.tokens for o in progress.outputs]
    # The engine dropped both requests: nothing runs and no token is generated a second later.
    time.sleep(1)
    generated = vllm_server.metric("vllm:generation_tokens_total")
    assert vllm_server.metric("vllm:num_requests_running") == 0
    time.sleep(1)
    assert vllm_server.metric("vllm:generation_tokens_total") == generated


def completion(url: str, model: str, prompt: str, params: TextParams, seed: int) -> str:
    """One non-streamed chat completion straight from the engine, to compare with the app's."""
    reply = httpx.post(
        f"{url}/chat/completions",
        timeout=60,
        json={
            "model": model,
            "messages": [{"role": "user", "content": prompt}],
            "seed": seed,
            "max_tokens": params.max_new_tokens,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "repetition_penalty": params.repetition_penalty,
        },
    )
    reply.raise_for_status()
    return reply.json()["choices"][0]["message"]["content"]


@pytest.mark.long
@pytest.mark.timeout(1800)
def test_a_version_promoted_by_a_real_retrain_is_served_through_the_engine(vllm_server, tmp_path, model_cache_dir):
    settings = Settings(
        data_dir=tmp_path / "data", device="cpu", model_cache=model_cache_dir, text_model=vllm_server.spec, text_train_model="embedded"
    )
    database = open_database(settings)
    seed_length_preference(database, prompts=30)
    # 1. `playground retrain`, as cron runs it: trains and gates locally on the embedded model.
    env = {
        **os.environ,
        "PLAYGROUND_DATA_DIR": str(settings.data_dir),
        "PLAYGROUND_MODEL_CACHE": str(model_cache_dir),
        "PLAYGROUND_DEVICE": "cpu",
        "PLAYGROUND_TEXT_MODEL": vllm_server.spec,
        "PLAYGROUND_TEXT_TRAIN_MODEL": "embedded",
    }
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "playground",
            "retrain",
            "--modality",
            "text",
            "--max-steps",
            "4",
            "--eval-prompts",
            "0",
            "--min-examples",
            "4",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=1500,
    )
    assert run.returncode == 0 and "[text] promoted: text-v1" in run.stdout, run.stdout + run.stderr[-3000:]
    # 2. The app's next request answers with text-v1, which the engine loaded and serves.
    context = build_context(settings, database)
    prompt, params = "What is the capital of France?", TextParams(n=2, seed=77, max_new_tokens=24)
    final = list(stream_text(context, None, prompt, params))[-1]
    generator = context.generator("text")
    assert final.recorded.model_version == "text-v1" and generator.model_version == "text-v1"
    assert generator.served_models().get("text-v1") == SERVED_NAME
    # The texts are the adapter's: model=text-v1 gives them, the base model other ones.
    texts = [o.text for o in final.outputs]
    assert [completion(vllm_server.url, "text-v1", prompt, params, seed) for seed in (77, 78)] == texts
    assert [completion(vllm_server.url, SERVED_NAME, prompt, params, seed) for seed in (77, 78)] != texts
    # 3. A later promotion retires text-v1: the next request serves text-v2 and frees text-v1.
    shutil.copytree(settings.adapters_dir / "text-v1", settings.adapters_dir / "text-v2")
    with database.sessions.begin() as session:
        version = create_version(
            session, name="text-v2", modality="text", base_model=vllm_server.spec, adapter_path=str(settings.adapters_dir / "text-v2")
        )
        promote_version(session, version_id=version.id)
    final = list(stream_text(context, None, prompt, params))[-1]
    served = generator.served_models()
    assert final.recorded.model_version == "text-v2" and "text-v2" in served and "text-v1" not in served
    assert generator.loaded_versions == ["base", "text-v2"]
