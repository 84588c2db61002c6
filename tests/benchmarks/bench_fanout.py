"""Streaming fan-out: 100 browsers each streaming 200 tokens at 100 tokens/s, through our app
against a raw SSE server, as in Gradio's own load test (gradio-app/gradio PR #7670).

Run: .venv/bin/python tests/benchmarks/bench_fanout.py [--clients 100] [--tokens 200] [--rate 100]

Our side is the real app (`build_app`, the Text tab's `/generate_text`, the queue, the guard
middleware, the database recording each request) with a fake generator injected through
AppContext that produces a token every 1/rate s: no model, so what is measured is the web
path. The raw side is a Starlette `StreamingResponse` under uvicorn sending the same tokens at
the same pace as server-sent events. Each server runs in its own process, one after the other;
the clients run in this process, each on lean connections of its own (keepalive_http.py: 100
httpx streams cost the clients more than the raw server they measure). Prints the time for all
clients to finish, per side, and the ratio; `--sweep 1,10,100` does so at each count and
`--plot PATH` draws the curves. Figures go to docs/PERFORMANCE.md by hand.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
import httpx  # noqa: E402

from tests.benchmarks.gradio_http import API, Browser, CallFailed, GradioHTTP, event_result, now, percentile  # noqa: E402
from tests.benchmarks.keepalive_http import KeepAliveConnection, server_sent_events  # noqa: E402
from tests.fakes import FakeVersions  # noqa: E402
from tests.launch import free_port  # noqa: E402

PROMPT = "Tell me a long story."


class PacedTextGenerator(FakeVersions):
    """A TextGenerator that streams `tokens` words at `rate` per second (one candidate each)."""

    def __init__(self, tokens: int, rate: float):
        super().__init__()
        self.tokens, self.interval = tokens, 1.0 / rate
        self.is_loaded = True  # no model to load

    def stream(self, prompt: str, params, cancel=None, continuing=None):
        from models.base import TextOutput, TextProgress

        def run():
            started = time.perf_counter()
            words: list[str] = []
            for i in range(min(self.tokens, params.max_new_tokens)):
                time.sleep(self.interval)  # the model's pace; a real engine's stream also waits here
                words.append(f"w{i}")
                yield TextProgress(texts=[" ".join(words)])
            latency = (time.perf_counter() - started) * 1000
            output = TextOutput(0, " ".join(words), 1, len(words), "length", self.interval * 1000, latency)
            yield TextProgress(texts=[output.text], done=True, outputs=[output])

        return run()


def serve_ours(port: int, tokens: int, rate: float, active_events: int) -> None:
    """The real app on fake tokens; blocks until killed."""
    from playground.core.database import open_database
    from playground.core.settings import Settings
    from playground.serving.context import build_context
    from playground.serving.warmup import freeze_the_loaded_heap
    from playground.web.app import build_app, start
    from tests.fakes import FakeImageGenerator

    data_dir = Path(tempfile.mkdtemp(prefix="bench-fanout-")) / "data"
    settings = Settings(
        data_dir=data_dir,
        port=port,
        gpu_concurrency=1024,
        max_queue_size=10_000,
        generations_per_client=10_000,
        generations_per_ip=10_000,
        active_events=active_events,
    )
    text, image = PacedTextGenerator(tokens, rate), FakeImageGenerator()
    context = build_context(settings, open_database(settings), text_factory=lambda: text, image_factory=lambda: image)
    app = build_app(context)
    app.queue(max_size=settings.max_queue_size)
    start(app, settings, quiet=os.environ.get("BENCH_VERBOSE") is None, prevent_thread_lock=True)
    freeze_the_loaded_heap()  # as `playground serve` does once its models are loaded
    app.block_thread()


def serve_raw(port: int, tokens: int, rate: float) -> None:
    """The same tokens at the same pace from a bare Starlette route; blocks until killed."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.responses import StreamingResponse
    from starlette.routing import Route

    async def events():
        for i in range(tokens):
            await asyncio.sleep(1.0 / rate)
            yield f"data: {json.dumps({'token': f'w{i}'})}\n\n"
        yield 'data: {"done": true}\n\n'

    async def stream(request):
        return StreamingResponse(events(), media_type="text/event-stream")

    app = Starlette(routes=[Route("/stream", stream), Route("/", lambda r: StreamingResponse(iter(["ok"])))])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


async def clients_ours(url: str, clients: int, tokens: int, timeout_s: float) -> tuple[float, list[float], list[int]]:
    """All clients generate at once; returns (seconds until the last finished, first-token delays, updates).

    Each client is a browser's two requests, as GradioHTTP.queued makes them, on lean connections
    (keepalive_http): POST /queue/join, then the session's event stream until the event completes."""
    async with httpx.AsyncClient(timeout=60) as http:
        app = GradioHTTP(url, http)
        await app.load_config()
    started = now()

    async def one() -> tuple[float, int]:
        browser, first, updates = Browser(), [], [0]

        def seen(_output) -> None:
            updates[0] += 1
            if not first:
                first.append(now() - started)

        body = app.event_body(browser, "generate_text", [PROMPT, 1, tokens, 0.7, 0.9, 1.0, 1, ""])
        connection = KeepAliveConnection(url)
        status, reply = await connection.post_json(f"{API}/queue/join", body, browser.headers)
        await connection.close()
        if status != 200:
            raise CallFailed(f"join: HTTP {status}: {reply[:200]!r}")
        stream = server_sent_events(url, f"{API}/queue/data?session_hash={browser.session_hash}", browser.headers)
        await event_result(stream, json.loads(reply)["event_id"], "generate_text", on_update=seen)
        return (first or [float("nan")])[0], updates[0]

    return await _all_or_timeout([one() for _ in range(clients)], started, timeout_s)


async def _all_or_timeout(runs: list, started: float, timeout_s: float) -> tuple[float, list[float], list[int]]:
    """Run the clients; past `timeout_s`, cancel the rest (they count as unfinished: NaN, -1 updates)."""
    tasks = [asyncio.ensure_future(run) for run in runs]
    done, pending = await asyncio.wait(tasks, timeout=timeout_s)
    for task in pending:
        task.cancel()
    results = [task.result() if task in done else (float("nan"), -1) for task in tasks]
    return now() - started, [r[0] for r in results], [r[1] for r in results]


async def clients_raw(url: str, clients: int, timeout_s: float) -> tuple[float, list[float], list[int]]:
    started = now()

    async def one() -> tuple[float, int]:
        first, updates = float("nan"), 0
        async for data in server_sent_events(url, "stream", {}):
            if "token" in data:
                updates += 1
                first = first if updates > 1 else now() - started
        return first, updates

    return await _all_or_timeout([one() for _ in range(clients)], started, timeout_s)


def start(kind: str, args: argparse.Namespace, active_events: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    command = [
        sys.executable,
        __file__,
        "--serve",
        kind,
        "--port",
        str(port),
        "--tokens",
        str(args.tokens),
        "--rate",
        str(args.rate),
        "--active-events",
        str(active_events),
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=5).close()
            return process, url
        except OSError:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError(f"the {kind} server did not start")


def measure(kind: str, args: argparse.Namespace, active_events: int = 400) -> tuple[float, list[float], list[int]]:
    process, url = start(kind, args, active_events)
    try:
        if kind == "raw":
            return asyncio.run(clients_raw(url, args.clients, args.timeout))
        return asyncio.run(clients_ours(url, args.clients, args.tokens, args.timeout))
    finally:
        process.terminate()
        process.wait(timeout=30)


def sweep(args: argparse.Namespace, counts: list[int]) -> int:
    """Raw and ours (PLAYGROUND_ACTIVE_EVENTS as given) at each client count; a row each, and the curves."""
    print(f"{args.tokens} tokens per client at {args.rate:.0f} tok/s (one client alone: {args.tokens / args.rate:.1f} s)")
    print("| clients | all finished, raw / ours (s) | ours vs raw | tokens/s, raw / ours | first token p95, raw / ours (s) |")
    print("|---|---|---|---|---|")
    curves: dict[str, dict[str, list[tuple[float, float]]]] = {"tokens/s": {}, "p95": {}}
    for count in counts:
        args.clients = count
        row = {"raw SSE (Starlette)": measure("raw", args), "ours (Gradio queue)": measure("ours", args, args.active_events)}
        figures = {}
        for name, (seconds, first, updates) in row.items():
            finished = sum(1 for u in updates if u >= 0)
            tokens_per_s = finished * args.tokens / seconds
            p95 = percentile([f for f in first if f == f], 95)
            curves["tokens/s"].setdefault(name, []).append((count, tokens_per_s))
            curves["p95"].setdefault(name, []).append((count, p95))
            figures[name] = (seconds, tokens_per_s, p95, finished)
        (raw_s, raw_tps, raw_p95, _), (ours_s, ours_tps, ours_p95, ours_done) = figures.values()
        cut = "" if ours_done == count else f" ({ours_done}/{count} finished)"
        times = f"{raw_s:.1f} / {ours_s:.1f}{cut}"
        rates = f"{raw_tps:.0f} / {ours_tps:.0f}"
        print(f"| {count} | {times} | {ours_s / raw_s:.2f}x | {rates} | {raw_p95:.2f} / {ours_p95:.2f} |", flush=True)
    if args.plot:
        from tests.benchmarks.machine import describe_machine
        from tests.benchmarks.plots import Panel, save_curves

        panels = [
            Panel("tokens/s delivered (all clients)", curves["tokens/s"]),
            Panel("first-token p95 (s)", curves["p95"], {"target 1 s": 1.0}, log_y=True),
        ]
        title = f"{args.tokens} tokens per stream at {args.rate:.0f} tok/s: {describe_machine().split(', torch')[0]}"
        save_curves(args.plot, title, "concurrent streams", panels)
        print(f"Plot: {args.plot}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--tokens", type=int, default=200)
    parser.add_argument("--rate", type=float, default=100.0, help="tokens per second per client")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per side; clients still streaming then count as unfinished")
    parser.add_argument("--sweep", help="client counts, comma-separated (e.g. 1,10,50,100,200,300): raw and ours at each")
    parser.add_argument("--plot", type=Path, help="with --sweep, also write the curves to this PNG")
    parser.add_argument("--serve", choices=["ours", "raw"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--active-events", type=int, default=400, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve == "ours":
        serve_ours(args.port, args.tokens, args.rate, args.active_events)
        return 0
    if args.serve == "raw":
        serve_raw(args.port, args.tokens, args.rate)
        return 0

    from tests.benchmarks.machine import describe_machine

    print(f"Machine: {describe_machine()}")
    if args.sweep:
        return sweep(args, [int(n) for n in args.sweep.split(",")])
    ideal = args.tokens / args.rate
    print(f"{args.clients} clients x {args.tokens} tokens at {args.rate:.0f} tok/s (one client alone: {ideal:.1f} s)")
    sides = {
        "raw SSE (Starlette + uvicorn)": measure("raw", args),
        "ours, 40 events at once (Gradio's default)": measure("ours", args, 40),
        "ours, PLAYGROUND_ACTIVE_EVENTS=400 (the default)": measure("ours", args, 400),
    }
    raw_s = next(iter(sides.values()))[0]
    print(
        "| server | all finished (s) | vs raw | clients finished | first token p50 / p95 (s) | "
        f"updates per finished client (tokens: {args.tokens}) |"
    )
    print("|---|---|---|---|---|---|")
    for name, (seconds, first, updates) in sides.items():
        # Finished: the whole stream arrived (ours sends several tokens per update when they come
        # faster than PLAYGROUND_STREAM_INTERVAL_MS, so updates are fewer than tokens).
        counts = [u for u in updates if u >= 0]
        cut = "" if len(counts) == args.clients else f" (stopped at {args.timeout:.0f} s)"
        print(
            f"| {name} | {seconds:.1f}{cut} | {seconds / raw_s:.2f}x | {len(counts)}/{args.clients} | "
            f"{percentile([f for f in first if f == f], 50):.2f} / {percentile([f for f in first if f == f], 95):.2f} | "
            f"{statistics.median(counts) if counts else float('nan'):.0f} |"
        )
    print(f"Load average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
