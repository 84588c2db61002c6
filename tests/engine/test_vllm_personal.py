"""Personal versions on a real vLLM: two identities' own adapters and the global one served in
one batch, each request answered by its own adapter (issue #27).

The adapters are random (tests/engine/lora_adapters.py), so each gives other texts for the same
seed; that is how an answer shows which adapter wrote it. Compared with what vLLM gives for that
adapter's name asked directly, with the same seed.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import pytest

from feedback_db.versions import create_version, promote_version
from models.base import TextParams
from models.embedded_text import embedded_text_model_dir
from models.text_engine import EngineTextGenerator
from playground.core.database import open_database
from playground.core.settings import Settings
from playground.services.generation import stream_text
from playground.services.identity import Viewer, viewer_for_token
from playground.serving.context import build_context
from tests.engine.lora_adapters import random_text_adapters
from tests.engine.test_vllm import completion
from tests.engine.vllm_server import SERVED_NAME

pytestmark = [pytest.mark.engine, pytest.mark.real_model]
PROMPT = "Write two sentences about the sea."
PARAMS = TextParams(n=1, seed=7, max_new_tokens=24)
# Requests long enough (seconds each on CPU) that the app's own start-up jitter between the three
# threads (up to a second on a busy machine) cannot keep them apart in the engine.
LONG_PROMPT = "Count from one to two hundred in words, one number per line."
LONG_PARAMS = TextParams(n=1, seed=7, max_new_tokens=160)


def most_running(server, during) -> tuple[float, object]:
    """The most requests the engine itself reported running at once (/metrics, every 50 ms) while
    `during()` ran, and what `during()` returned."""
    peak, done = [0.0], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], server.metric("vllm:num_requests_running"))
            done.wait(0.05)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        result = during()
    finally:
        done.set()
        sampler.join()
    return peak[0], result


@dataclass
class Answer:
    version: str  # as recorded with the request
    text: str
    first_text: float  # time.monotonic() at the first update holding text
    finished: float  # ... at the last update


def answer(context, viewer: Viewer, start: threading.Barrier, prompt: str, params: TextParams) -> Answer:
    """One request through the app's path for `viewer`, with when its text began and ended."""
    start.wait()
    first = None
    for update in stream_text(context, viewer, prompt, params):
        if first is None and update.texts[0]:
            first = time.monotonic()
    assert update.recorded is not None and first is not None
    return Answer(update.recorded.model_version, update.texts[0], first, time.monotonic())


def at_once(context, viewers: list[Viewer], prompt: str = PROMPT, params: TextParams = PARAMS) -> list[Answer]:
    """The viewers' requests, each in its own thread, released together."""
    start = threading.Barrier(len(viewers))
    answers: list[Answer | None] = [None] * len(viewers)
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            answers[index] = answer(context, viewers[index], start, prompt, params)
        except BaseException as error:  # re-raised below, in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(viewers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    if errors:
        raise errors[0]
    assert all(a is not None for a in answers), "a request did not finish"
    return [a for a in answers if a is not None]


@pytest.mark.timeout(900)
def test_two_personal_adapters_and_the_global_one_are_served_at_once(vllm_server, tmp_path, model_cache_dir):
    settings = Settings(data_dir=tmp_path / "data", device="cpu", model_cache=model_cache_dir, text_model=vllm_server.spec)
    database = open_database(settings)
    # 1. Three adapters: the active global version, and the personal versions of Ann and Bob;
    #    Cy has none, so Cy is served the global one.
    names = ["pe-global", "pe-ann", "pe-bob"]
    settings.adapters_dir.mkdir(parents=True, exist_ok=True)
    folders = random_text_adapters(embedded_text_model_dir(model_cache_dir), settings.adapters_dir, names)
    ann, bob, cy = (viewer_for_token(database, None) for _ in range(3))
    with database.sessions.begin() as session:
        for folder, owner in zip(folders, (None, ann.user_id, bob.user_id), strict=True):
            version = create_version(
                session, name=folder.name, modality="text", base_model=vllm_server.spec, adapter_path=str(folder), owner_id=owner
            )
            promote_version(session, version_id=version.id)
    generator = EngineTextGenerator(vllm_server.spec)  # this test's own: the engine's loaded adapters are its alone
    context = build_context(settings, database, text_factory=lambda: generator)
    viewers = [cy, ann, bob]
    try:
        # 2. One request each in turn: the app loads each adapter into the engine on first use.
        alone = [at_once(context, [viewer])[0] for viewer in viewers]
        assert [a.version for a in alone] == names
        served = generator.served_models()  # the engine is shared: other tests' adapters may be there too
        assert {name: served.get(name) for name in names} == dict.fromkeys(names, SERVED_NAME)
        # 3. The three at once, same prompt and seed: each is its own adapter's answer, as vLLM
        #    gives it for that adapter's name asked directly, and the three differ.
        together = at_once(context, viewers)
        direct = [completion(vllm_server.url, name, PROMPT, PARAMS, seed=7) for name in names]
        base = completion(vllm_server.url, SERVED_NAME, PROMPT, PARAMS, seed=7)
        assert [a.version for a in together] == names
        assert [a.text for a in together] == direct == [a.text for a in alone], (together, direct)
        assert len({*direct, base}) == 4, (direct, base)
        # 4. They ran at once, as the engine counts them: three requests running together (with
        #    --max-loras 2 the third adapter's request waits for a slot, and the count stays at 2).
        peak, long_answers = most_running(vllm_server, lambda: at_once(context, viewers, LONG_PROMPT, LONG_PARAMS))
        assert [a.version for a in long_answers] == names
        assert peak >= 3, (peak, long_answers)
    finally:
        for name in names:
            generator.unload_version(name)
        database.engine.dispose()
