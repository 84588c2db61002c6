"""Text generation benchmark: our streaming path against a raw `model.generate`, and batching.

Run: .venv/bin/python tests/benchmarks/bench_text.py [--tokens 64] [--rounds 3] [--threads N]

Both sides of each comparison run in this one process, alternating round by round, so a busy
machine slows both alike and the ratios stay fair. Figures go to docs/PERFORMANCE.md by hand.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from tests.benchmarks.machine import describe_machine  # noqa: E402
from tests.benchmarks.text_timing import PROMPT, Timed, timed_stream  # noqa: E402

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402

from models.base import TextParams  # noqa: E402
from models.text_hf import HFTextGenerator  # noqa: E402


def alternate(rounds: int, **runs: Callable[[], Timed]) -> dict[str, list[Timed]]:
    """Run each callable once per round, in turn, after one untimed warm-up each."""
    for run in runs.values():
        run()
    results: dict[str, list[Timed]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            results[name].append(run())
    return results


def median_rate(timed: list[Timed]) -> float:
    return statistics.median(t.rate for t in timed)


def raw_generate(gen: HFTextGenerator, params: TextParams) -> Timed:
    """The same model, prompt ids and settings through transformers alone (no streamer, lock or thread)."""
    input_ids = gen.encode_prompt(PROMPT)
    started = time.perf_counter()
    with torch.inference_mode():
        if params.temperature > 0:
            torch.manual_seed(params.seed or 0)
        out = gen.model.generate(
            input_ids=input_ids,
            attention_mask=torch.ones_like(input_ids),
            max_new_tokens=params.max_new_tokens,
            do_sample=params.temperature > 0,
            temperature=params.temperature or None,
            top_p=params.top_p if params.temperature > 0 else None,
            repetition_penalty=params.repetition_penalty,
        )
    seconds = time.perf_counter() - started
    new = out[0, input_ids.shape[1] :].tolist()
    end = gen.model.generation_config.eos_token_id
    tokens = new.index(end) if end in new else len(new)  # count as ours does: no end marker
    return Timed(tokens, seconds)


def in_worker_thread(run: Callable[[], Timed]) -> Timed:
    """Run in a fresh thread, as our path (and a Gradio handler) does: on a busy CPU this alone
    changes torch's speed a lot, so it separates our overhead from where generate runs."""
    result: list[Timed] = []
    worker = threading.Thread(target=lambda: result.append(run()))
    worker.start()
    worker.join()
    return result[0]


def sequential(gen: HFTextGenerator, params: TextParams, n: int) -> Timed:
    """n requests of one candidate each, seeds S..S+n-1: the same texts a batch of n produces."""
    started = time.perf_counter()
    tokens = 0
    for i in range(n):
        [output] = gen.generate(PROMPT, TextParams(**{**params.__dict__, "n": 1, "seed": params.seed + i}))
        tokens += output.tokens
    return Timed(tokens, time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=48, help="max_new_tokens per candidate")
    parser.add_argument("--rounds", type=int, default=3, help="timed runs per side, alternated")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--cache-dir", type=Path, default=ROOT / "playground-data" / "models")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    print(f"Machine: {describe_machine()}")
    gen = HFTextGenerator("embedded", "cpu", args.cache_dir)
    started = time.perf_counter()
    gen.load()
    print(f"Model: SmolLM2-135M-Instruct fp32 on CPU, loaded in {time.perf_counter() - started:.1f} s")

    print(f"\n1. One candidate, {args.tokens} new tokens, ours (streaming) vs raw model.generate")
    print("| decoding | ours tok/s | raw, worker thread | ratio | raw, main thread | ratio | tokens (ours/raw) |")
    print("|---|---|---|---|---|---|---|")
    for label, params in (
        ("greedy", TextParams(max_new_tokens=args.tokens, temperature=0.0)),
        ("sampling, seed 1", TextParams(max_new_tokens=args.tokens, seed=1)),
    ):
        res = alternate(
            args.rounds,
            ours=lambda p=params: timed_stream(gen, p),
            raw_thread=lambda p=params: in_worker_thread(lambda: raw_generate(gen, p)),
            raw_main=lambda p=params: raw_generate(gen, p),
        )
        ours, thread, main = (median_rate(res[k]) for k in ("ours", "raw_thread", "raw_main"))
        print(
            f"| {label} | {ours:.1f} | {thread:.1f} | {ours / thread:.2f} | {main:.1f} | "
            f"{ours / main:.2f} | {res['ours'][-1].tokens}/{res['raw_thread'][-1].tokens} |"
        )

    n, tokens = 4, max(args.tokens // 2, 8)
    params = TextParams(max_new_tokens=tokens, n=n, seed=1)
    print(f"\n2. {n} candidates of {tokens} tokens: one batched call vs {n} sequential calls")
    res = alternate(
        args.rounds,
        batched=lambda: timed_stream(gen, params),
        sequential=lambda: sequential(gen, params, n),
    )
    batched, seq = res["batched"], res["sequential"]
    b_s, s_s = statistics.median(t.seconds for t in batched), statistics.median(t.seconds for t in seq)
    print("| path | seconds | total tok/s |")
    print("|---|---|---|")
    print(f"| batched n={n} | {b_s:.1f} | {median_rate(batched):.1f} |")
    print(f"| {n} sequential | {s_s:.1f} | {median_rate(seq):.1f} |")
    print(f"speed-up: {s_s / b_s:.2f}x (tokens {batched[-1].tokens} vs {seq[-1].tokens})")
    print(f"\nLoad average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
