"""A real vLLM on loopback for the `engine` tests: one server for this folder's tests (stopped
after them, not at the end of the session: it holds ~5 GB and keeps CPU threads busy), serving the
embedded SmolLM2 (the safetensors copy the app converts) with runtime LoRA loading.

The engine venv comes from `tests/engine/vllm_venv.sh` (`make engine-venv`). Outside `make test`
a missing venv skips these tests with the reason; `make test` sets PLAYGROUND_REQUIRE_ENGINE=1,
which turns that skip into a failure, so the suite never passes without them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.engine.vllm_server import VLLMServer, missing_venv_reason, running_vllm, vllm_venv


@pytest.fixture(scope="package")
def vllm_server(model_cache_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[VLLMServer]:
    from models.embedded_text import embedded_text_model_dir

    venv = vllm_venv()
    reason = missing_venv_reason(venv)
    if reason is not None:
        if os.environ.get("PLAYGROUND_REQUIRE_ENGINE") == "1":
            pytest.fail(reason + "; PLAYGROUND_REQUIRE_ENGINE=1 says it must be there")
        pytest.skip(reason)
    model_dir = embedded_text_model_dir(model_cache_dir)  # the copy the app converts
    with running_vllm(venv, model_dir, tmp_path_factory.mktemp("vllm") / "vllm.log") as server:
        yield server
