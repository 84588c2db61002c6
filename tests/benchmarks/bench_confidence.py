"""Token confidence: streaming with it on against off, in process and through vLLM.

Run: .venv/bin/python tests/benchmarks/bench_confidence.py [--tokens 64] [--rounds 3] [--threads N] [--no-engine]

Both sides of each comparison run in this one process, alternating round by round, with the same
seed, so they generate the same tokens and a busy machine slows both alike. In process, "on"
adds a softmax, a gather and a top-3 per step for the batch and the token texts; through vLLM it
asks for logprobs with 4 top ones and reads them from every chunk. The vLLM part needs the engine
venv (`make engine-venv`) and is skipped, with the reason, without it. Target: on/off >= 0.9.
Figures go to docs/PERFORMANCE.md by hand.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
from models.base import TextGenerator, TextParams  # noqa: E402
from tests.benchmarks.bench_text import alternate, median_rate  # noqa: E402
from tests.benchmarks.machine import describe_machine  # noqa: E402
from tests.benchmarks.text_timing import timed_stream  # noqa: E402
from tests.engine.vllm_server import missing_venv_reason, running_vllm, vllm_venv  # noqa: E402


def compare(label: str, generator: TextGenerator, params: TextParams, rounds: int) -> None:
    """One table row: median tok/s with confidence on and off, alternated, and their ratio."""
    runs = alternate(
        rounds,
        on=lambda: timed_stream(generator, replace(params, confidence=True)),
        off=lambda: timed_stream(generator, replace(params, confidence=False)),
    )
    on, off = median_rate(runs["on"]), median_rate(runs["off"])
    print(
        f"| {label}, n={params.n} | {on:.1f} | {off:.1f} | {on / off:.2f} | {runs['on'][-1].tokens} | {os.getloadavg()[0]:.1f} |",
        flush=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=64, help="max_new_tokens per candidate")
    parser.add_argument("--rounds", type=int, default=3, help="timed runs per side, alternated")
    parser.add_argument("--cache-dir", type=Path, default=ROOT / "playground-data" / "models")
    parser.add_argument("--threads", type=int, default=0, help="torch threads in process (0: torch's default)")
    parser.add_argument("--no-engine", action="store_true", help="skip the vLLM part")
    args = parser.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)

    from models.embedded_text import embedded_text_model_dir
    from models.text_engine import EngineTextGenerator
    from models.text_hf import HFTextGenerator

    print(f"Machine: {describe_machine()}")
    print(f"SmolLM2-135M-Instruct fp32, sampling (seed 1), {args.tokens} new tokens per candidate, median of {args.rounds} rounds")
    print("| backend | confidence on tok/s | off tok/s | on/off | tokens | load average |")
    print("|---|---|---|---|---|---|")
    cases = [TextParams(max_new_tokens=args.tokens, n=n, seed=1) for n in (1, 4)]
    # 1. In process, with no vLLM running (it keeps CPU threads busy even when idle).
    local = HFTextGenerator("embedded", "cpu", args.cache_dir)
    local.load()
    for params in cases:
        compare("transformers in-process", local, params, args.rounds)
    del local
    # 2. Through vLLM on loopback, if the engine venv is there.
    venv = vllm_venv()
    reason = "--no-engine" if args.no_engine else missing_venv_reason(venv)
    if reason is not None:
        print(f"vLLM skipped: {reason}")
        return 0
    log = Path(tempfile.mkdtemp(prefix="bench-vllm-")) / "vllm.log"
    with running_vllm(venv, embedded_text_model_dir(args.cache_dir), log) as server:
        engine = EngineTextGenerator(server.spec)
        for params in cases:
            compare("vLLM 0.32 (CPU) via the engine client", engine, params, args.rounds)
        engine.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
