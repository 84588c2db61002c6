"""Rating latency under load: 50 browsers rating through the HTTP API of a real `playground serve`
(embedded models, SQLite in a fresh data dir) while text or image generations stream.

Run: .venv/bin/python tests/benchmarks/bench_load.py [--raters 50] [--seconds 20] [--think 0]

Phases, one after the other against the same server: no generation (the baseline); 4 browsers
generating text continuously (streamed, through the app's queue); 2 browsers generating images
continuously; and the text phase again with the raters calling the way gradio_client does (it
joins the queue even for un-queued endpoints). Every rating carries a unique comment; after the
server has stopped, the database must hold each browser's last acknowledged rating of each
candidate, or it counts as lost. Target (issue #14): p95 under 200 ms with 50 raters while text
generates, 0 lost. Figures go to docs/PERFORMANCE.md by hand.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sqlite3
import statistics
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
import httpx  # noqa: E402

from tests.benchmarks.gradio_http import KEEPALIVE_S, Browser, CallFailed, GradioHTTP, now, percentile  # noqa: E402
from tests.benchmarks.machine import describe_machine, unthrottled_env  # noqa: E402
from tests.replicas.servers import running_replicas  # noqa: E402

CANDIDATES = 4  # each rater's request: it rates its candidates in turn
TEXT_JOB = ["Write a short story about a lighthouse keeper.", 2, 32, 0.8, 0.9, 1.1, None, ""]
IMAGE_JOB = ["a red circle on the left, blue background", "", 4, 20, 3.0, 256, None]
SEED_JOB = ["Say hello.", CANDIDATES, 2, 0.8, 0.9, 1.1, None, ""]


@dataclass
class Phase:
    name: str
    text_generators: int = 0
    image_generators: int = 0
    via_queue: bool = False


@dataclass
class PhaseResult:
    phase: Phase
    seconds: float
    latencies_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    generations: list[float] = field(default_factory=list)  # seconds each, queue included
    load: str = ""


@dataclass
class Rater:
    index: int
    browser: Browser = field(default_factory=Browser)
    seq: int = 0
    acked: dict[int, str] = field(default_factory=dict)  # candidate -> last acknowledged comment


async def generate_forever(app: GradioHTTP, api_name: str, job: list, stop: asyncio.Event, done: list) -> None:
    """One browser generating again and again until `stop`; notes each one's time, queue included."""
    browser = Browser()
    while not stop.is_set():
        started = now()
        await app.queued(browser, api_name, job)
        done.append(now() - started)


async def rate_until(app: GradioHTTP, rater: Rater, until: float, think_s: float, via_queue: bool, result: PhaseResult) -> None:
    """Rate this rater's candidates in turn (closed loop, `think_s` between ratings)."""
    rng = random.Random(rater.index)
    # People do not all click in the same millisecond: each rater's first rating comes at a random
    # moment of the first think time (else the phase opens with 50 requests at once, a burst no
    # real panel makes, and those 50 alone would set the p95 of a short phase).
    if think_s:
        await asyncio.sleep(rng.uniform(0, think_s))
    while now() < until:
        candidate = rater.seq % CANDIDATES
        comment = f"r{rater.index}-c{candidate}-{rater.seq}"
        data = [None, candidate, rater.seq % 5 + 1, None, None, comment]
        rater.seq += 1
        started = now()
        try:
            await app.run(rater.browser, "rate_text", data, via_queue=via_queue)
        except (CallFailed, httpx.HTTPError) as error:
            result.errors.append(str(error)[:120])
        else:
            result.latencies_ms.append((now() - started) * 1000)
            rater.acked[candidate] = comment
        if think_s:
            await asyncio.sleep(rng.uniform(0.5, 1.5) * think_s)


async def run_phase(app: GradioHTTP, raters: list[Rater], phase: Phase, seconds: float, think_s: float) -> PhaseResult:
    # 1. Start the generations and give them a moment to be streaming.
    stop, done = asyncio.Event(), []
    generators = [asyncio.create_task(generate_forever(app, "generate_text", TEXT_JOB, stop, done)) for _ in range(phase.text_generators)]
    generators += [
        asyncio.create_task(generate_forever(app, "generate_image", IMAGE_JOB, stop, done)) for _ in range(phase.image_generators)
    ]
    if generators:
        await asyncio.sleep(3)
    # 2. Every rater rates for `seconds`.
    result = PhaseResult(phase, seconds)
    until = now() + seconds
    await asyncio.gather(*(rate_until(app, r, until, think_s, phase.via_queue, result) for r in raters))
    result.load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    result.generations = list(done)
    # 3. Let the generations in flight finish, so the next phase starts on an idle queue.
    stop.set()
    await asyncio.gather(*generators)
    return result


async def scenario(url: str, args: argparse.Namespace) -> tuple[list[PhaseResult], list[Rater]]:
    limits = httpx.Limits(max_connections=args.raters + 20, max_keepalive_connections=args.raters + 20, keepalive_expiry=KEEPALIVE_S)
    async with httpx.AsyncClient(timeout=300, limits=limits) as http:
        app = GradioHTTP(url, http)
        await app.load_config()
        # 1. The first generation of each kind waits for the models to load.
        started = now()
        await asyncio.gather(app.queued(Browser(), "generate_text", SEED_JOB), app.queued(Browser(), "generate_image", IMAGE_JOB))
        print(f"Models warm after {now() - started:.0f} s")
        # 2. Every rater generates its own candidates (they can rate only their own).
        raters = [Rater(i) for i in range(args.raters)]
        started = now()
        await asyncio.gather(*(app.queued(r.browser, "generate_text", SEED_JOB) for r in raters))
        print(f"{len(raters)} raters have their {CANDIDATES} candidates after {now() - started:.0f} s")
        phases = [
            Phase("no generation"),
            Phase(f"{args.text_generators} text generations", text_generators=args.text_generators),
            Phase(f"{args.image_generators} image generations", image_generators=args.image_generators),
            Phase(
                f"{args.text_generators} text generations, via the queue (gradio_client)",
                text_generators=args.text_generators,
                via_queue=True,
            ),
        ]
        results = []
        for phase in [phases[int(k)] for k in args.phases.split(",")]:
            results.append(await run_phase(app, raters, phase, args.seconds, args.think))
            print(f"  done: {phase.name} (load average {results[-1].load})", flush=True)
        return results, raters


def lost_ratings(database: Path, raters: list[Rater]) -> tuple[int, int]:
    """(acknowledged (rater, candidate) pairs, those whose last acknowledged rating is not stored)."""
    with sqlite3.connect(database) as connection:
        stored = {row[0] for row in connection.execute("SELECT comment FROM ratings WHERE comment IS NOT NULL")}
    expected = [comment for rater in raters for comment in rater.acked.values()]
    return len(expected), sum(1 for comment in expected if comment not in stored)


def report(results: list[PhaseResult], raters: list[Rater], pairs: int, lost: int, think_s: float) -> None:
    print(f"\n{len(raters)} raters, closed loop, think time {think_s:.2f} s; each phase {results[0].seconds:.0f} s")
    print("| phase | ratings | ratings/s | p50 ms | p95 ms | p99 ms | max ms | errors | generations (median s) | load average |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        lat = r.latencies_ms
        print(
            f"| {r.phase.name} | {len(lat)} | {len(lat) / r.seconds:.0f} | {percentile(lat, 50):.0f} | "
            f"{percentile(lat, 95):.0f} | {percentile(lat, 99):.0f} | {max(lat, default=float('nan')):.0f} | "
            f"{len(r.errors)} | {len(r.generations)} ({statistics.median(r.generations or [float('nan')]):.1f}) "
            f"| {r.load} |"
        )
    base = statistics.median(results[0].latencies_ms) if results[0].latencies_ms else float("nan")
    for r in results[1:]:
        if r.latencies_ms:
            print(
                f"p95 {r.phase.name} / p95 no generation: "
                f"{percentile(r.latencies_ms, 95) / percentile(results[0].latencies_ms, 95):.1f}x "
                f"(median {statistics.median(r.latencies_ms) / base:.1f}x)"
            )
    print(f"Lost: {lost} of {pairs} acknowledged ratings (each rater's last one per candidate) not in the database")
    for r in results:
        for error in sorted(set(r.errors))[:3]:
            print(f"  error in '{r.phase.name}': {error}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raters", type=int, default=50)
    parser.add_argument("--text-generators", type=int, default=4)
    parser.add_argument("--image-generators", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=15.0, help="rating time per phase")
    parser.add_argument(
        "--think", type=float, default=1.0, help="mean pause between a rater's ratings (s; drawn from 0.5x-1.5x); 0: closed loop"
    )
    parser.add_argument(
        "--phases", default="0,1,2,3", help="which phases to run, by number: 0 none, 1 text, 2 images, 3 text via the queue"
    )
    parser.add_argument("--cache-dir", type=Path, default=ROOT / "playground-data" / "models")
    parser.add_argument(
        "--env", action="append", default=[], metavar="NAME=VALUE", help="extra environment for the server, e.g. PLAYGROUND_TORCH_THREADS=1"
    )
    args = parser.parse_args()
    print(f"Machine: {describe_machine()}")
    print(f"Server environment: {' '.join(args.env) or 'as deployed (no overrides)'}")
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        data_dir = Path(tmp) / "data"
        database = data_dir / "playground.db"
        env = unthrottled_env(database, data_dir, args.cache_dir)
        env.pop("OMP_NUM_THREADS")  # the app as deployed: torch picks its own thread count
        env.update(item.split("=", 1) for item in args.env)
        with running_replicas(1, env, Path(tmp)) as [server]:
            results, raters = asyncio.run(scenario(server.url, args))
        pairs, lost = lost_ratings(database, raters)
    report(results, raters, pairs, lost, args.think)
    print(f"\nLoad average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main())
