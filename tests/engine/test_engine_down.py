"""With the text engine down, text requests get a clear message naming the engine, while image
generation and ratings go on working (no vLLM needed: nothing listens on the port)."""

from __future__ import annotations

import gradio as gr
import pytest

from models.base import ImageParams, TextParams
from models.registry import load_text_generator
from playground.core.settings import Settings
from playground.services.generation import stream_image, stream_text
from playground.services.identity import viewer_for_token
from playground.services.ratings import rate_output
from playground.serving.context import build_context
from playground.web.ui.errors import shown_to_user
from tests.engine.vllm_server import free_port

pytestmark = pytest.mark.real_model


def test_engine_down_is_a_clear_message_and_images_and_ratings_still_work(settings, database, real_image_generator):
    url = f"http://127.0.0.1:{free_port()}/v1"
    settings = Settings(data_dir=settings.data_dir, device="cpu", text_model=f"openai:{url}")
    context = build_context(
        settings,
        database,
        text_factory=lambda: load_text_generator(settings.text_model, "cpu", settings.model_cache_dir),
        image_factory=lambda: real_image_generator,
    )
    viewer = viewer_for_token(database, None)
    # 1. Warm-up reports the text model as not available, naming the engine.
    context.warmup.start().join(timeout=120)
    assert f"the text engine at {url} is not reachable" in context.warmup.banner()
    # 2. A text request shows the same clear message, the way the Text tab shows errors.
    with pytest.raises(gr.Error) as error, shown_to_user("generate"):
        list(stream_text(context, viewer, "Say hi.", TextParams(n=2)))
    assert f"the text engine at {url} is not reachable" in error.value.message
    # 3. Images are generated and recorded, and rated.
    final = list(stream_image(context, viewer, "a red circle", ImageParams(steps=2, n=2, width=32, height=32)))[-1]
    assert len(final.outputs) == 2 and final.recorded is not None
    status = rate_output(database, viewer, final.recorded.output_ids[0], naturalness=4, reliability=5)
    assert status.startswith("Saved")
