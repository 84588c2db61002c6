"""Rating capacity: POST /api/ratings (group commit) beside the Gradio path (`/rate_text`) and a
raw SQLAlchemy insert loop, in one run, against a real `playground serve` (embedded models,
SQLite in a fresh data dir) in its own process.

Run: .venv/bin/python tests/benchmarks/bench_rating_http.py [--raters 1,10,50] [--seconds 10]

Closed loop, think time 0: each rater sends its next rating the moment the last is answered,
on a kept-alive connection of its own (tests/benchmarks/keepalive_http.py: httpx's pool, not the
server, was the limit at 50 callers).
Every rater first generates its own 4 candidates (raters rate only their own), then rates them
in turn with a unique comment, first through Gradio's un-queued event (one POST to
`/gradio_api/run/rate_text`, as the browser sends it), then through the JSON route. Last, the
most raters rate over the JSON route and the server is SIGKILLed halfway. Then each rater's last
acknowledged rating of each candidate (or a later one of it) must be in the database, or it
counts as lost. The raw loop: one thread upserting ratings into the same database, one
transaction each (what one rating costs the database with nothing in front of it). Target:
>= 500 ratings/s and p95 < 200 ms at 50 raters, 0 lost.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
import httpx  # noqa: E402

from tests.benchmarks.gradio_http import API, KEEPALIVE_S, Browser, CallFailed, GradioHTTP, now, percentile  # noqa: E402
from tests.benchmarks.keepalive_http import KeepAliveConnection  # noqa: E402
from tests.benchmarks.machine import describe_machine, unthrottled_env  # noqa: E402
from tests.benchmarks.plots import Panel, save_curves  # noqa: E402
from tests.replicas.servers import running_replicas  # noqa: E402

CANDIDATES = 4
SEEDING_AT_ONCE = 50  # raters generating their candidates at once, before the measured phases
SEED_JOB = ["Say hello.", CANDIDATES, 2, 0.8, 0.9, 1.1, None, ""]


@dataclass
class Rater:
    index: int
    app: GradioHTTP  # the replica this rater uses (its candidates are there)
    browser: Browser
    connection: KeepAliveConnection  # the rater's own kept-alive connection for its ratings
    output_ids: list[int] = field(default_factory=list)
    seq: int = 0
    acked: dict[int, str] = field(default_factory=dict)  # candidate -> last acknowledged comment


@dataclass
class Result:
    path: str
    raters: int
    seconds: float
    latencies_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return len(self.latencies_ms) / self.seconds


async def rate_once(rater: Rater, path: str) -> str:
    candidate = rater.seq % CANDIDATES
    comment = f"r{rater.index}-c{candidate}-{rater.seq}"
    rater.seq += 1
    if path == "gradio":
        data = [None, candidate, rater.seq % 5 + 1, None, None, comment]
        route, body = f"{API}/run/rate_text", rater.app.event_body(rater.browser, "rate_text", data)
    else:
        route, body = "api/ratings", {"output_id": rater.output_ids[candidate], "naturalness": rater.seq % 5 + 1, "comment": comment}
    status, reply = await rater.connection.post_json(route, body, rater.browser.headers)
    if status != 200:
        raise CallFailed(f"HTTP {status}: {reply[:120]!r}")
    rater.acked[candidate] = comment
    return comment


async def seed_candidates(rater: Rater, limit: asyncio.Semaphore) -> None:
    """The rater's own 4 candidates. A connection the server closed just as httpx reused it
    (httpx.ReadError, seen with 200 streams at once) is the client's artefact: join again."""
    async with limit:
        for attempt in range(3):
            try:
                await rater.app.queued(rater.browser, "generate_text", SEED_JOB)
                return
            except httpx.TransportError:
                if attempt == 2:
                    raise


async def closed_loop(raters: list[Rater], path: str, seconds: float, *, stop_at_error: bool = False) -> Result:
    result = Result(path, len(raters), seconds)
    until = now() + seconds

    async def one(rater: Rater) -> None:
        while now() < until:
            started = now()
            try:
                await rate_once(rater, path)
            except (CallFailed, OSError, asyncio.IncompleteReadError) as error:
                result.errors.append(str(error)[:120])
                if stop_at_error:
                    return
            else:
                result.latencies_ms.append((now() - started) * 1000)

    await asyncio.gather(*(one(r) for r in raters))
    return result


async def scenario(urls: list[str], args: argparse.Namespace, kill: Callable[[], None]) -> tuple[list[Result], Result, list[Rater]]:
    counts = [int(n) for n in args.raters.split(",")]
    limits = httpx.Limits(max_connections=max(counts) + 20, max_keepalive_connections=max(counts) + 20, keepalive_expiry=KEEPALIVE_S)
    async with httpx.AsyncClient(timeout=120, limits=limits) as http:
        apps = [GradioHTTP(url, http) for url in urls]
        for app in apps:
            await app.load_config()
        # 1. Every rater, on a replica in turn, generates its candidates and learns their ids.
        raters = [Rater(i, apps[i % len(apps)], Browser(), KeepAliveConnection(urls[i % len(urls)])) for i in range(max(counts))]
        started = now()
        await asyncio.gather(*(app.queued(Browser(), "generate_text", SEED_JOB) for app in apps))  # each loads its model
        limit = asyncio.Semaphore(SEEDING_AT_ONCE)
        await asyncio.gather(*(seed_candidates(rater, limit) for rater in raters))
        for rater in raters:
            listed = (await http.get(f"{rater.app.base_url}api/outputs", headers=rater.browser.headers)).json()["requests"]
            rater.output_ids = listed[0]["output_ids"]
        print(f"{len(raters)} raters have their {CANDIDATES} candidates after {now() - started:.0f} s", flush=True)
        # 2. Each path at each concurrency, one after the other.
        results = []
        for count in counts:
            for path in ("gradio", "http"):
                results.append(await closed_loop(raters[:count], path, args.seconds))
                print(f"  done: {path}, {count} raters", flush=True)

        # 3. Across a SIGKILL: the most raters rate over HTTP and the servers are killed halfway;
        #    every rating it acknowledged must be stored all the same (checked after the run).
        async def kill_halfway() -> None:
            await asyncio.sleep(args.seconds / 2)
            kill()

        killed, _ = await asyncio.gather(closed_loop(raters, "http", args.seconds, stop_at_error=True), kill_halfway())
        print(f"  done: SIGKILL after {args.seconds / 2:.0f} s of {len(raters)} raters", flush=True)
        await asyncio.gather(*(r.connection.close() for r in raters))
        return results, killed, raters


def raw_insert_loop(database_url: str, seconds: float) -> float:
    """Ratings/s of one thread upserting ratings with SQLAlchemy, one transaction each."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from feedback_db.engine import make_engine
    from feedback_db.queries import NATIVE_INSERTS, utcnow
    from feedback_db.schema import Output, Rating, UserSession

    engine = make_engine(database_url)
    insert = NATIVE_INSERTS[engine.dialect.name]
    with Session(engine) as session:
        output_ids = list(session.scalars(select(Output.id)))
        rater_id = session.scalar(select(UserSession.user_id).limit(1))
    done, until = 0, time.perf_counter() + seconds
    while time.perf_counter() < until:
        stamp = utcnow()
        values = {"output_id": output_ids[done % len(output_ids)], "rater_id": rater_id, "source": "end_user"}
        statement = insert(Rating).values(**values, naturalness=done % 5 + 1, comment=f"raw-{done}", created_at=stamp, updated_at=stamp)
        statement = statement.on_conflict_do_update(
            index_elements=["output_id", "rater_id"], set_={"naturalness": done % 5 + 1, "comment": f"raw-{done}", "updated_at": stamp}
        )
        with Session(engine) as session, session.begin():
            session.execute(statement)
        done += 1
    engine.dispose()
    return done / seconds


def lost_ratings(database_url: str, raters: list[Rater]) -> tuple[int, int]:
    """(acknowledged, lost): each rater's last acknowledged rating of each candidate is lost if
    its row holds neither it nor a later one of the same rater (a write that committed just
    before a SIGKILL is stored without having been acknowledged)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    with engine.connect() as connection:
        comments = connection.execute(text("SELECT comment FROM ratings WHERE comment LIKE 'r%-c%-%'")).scalars().all()
    engine.dispose()
    stored = dict(_comment_key(comment) for comment in comments)  # "r{rater}-c{candidate}" -> its sequence number
    expected = [_comment_key(comment) for rater in raters for comment in rater.acked.values()]
    return len(expected), sum(1 for key, seq in expected if stored.get(key, -1) < seq)


def _comment_key(comment: str) -> tuple[str, int]:
    prefix, _, seq = comment.rpartition("-")
    return prefix, int(seq)


def report(results: list[Result], raw_rate: float, pairs: int, lost: int) -> None:
    print("\n| path | raters | ratings | ratings/s | p50 ms | p95 ms | p99 ms | errors | / raw loop |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        lat = r.latencies_ms
        print(
            f"| {r.path} | {r.raters} | {len(lat)} | {r.rate:.0f} | {percentile(lat, 50):.1f} | {percentile(lat, 95):.1f} | "
            f"{percentile(lat, 99):.1f} | {len(r.errors)} | {r.rate / raw_rate:.2f}x |"
        )
    print(f"| raw SQLAlchemy upsert loop (1 thread, 1 transaction each) | - | - | {raw_rate:.0f} | | | | | 1.00x |")
    for gradio, http in zip(results[::2], results[1::2], strict=True):
        print(f"{http.raters} raters: /api/ratings {http.rate / gradio.rate:.1f}x the ratings/s of /rate_text")
    print(f"Lost: {lost} of {pairs} acknowledged ratings (each rater's last one per candidate, the SIGKILL included) not in the database")
    for r in results:
        for error in sorted(set(r.errors))[:3]:
            print(f"  error ({r.path}, {r.raters} raters): {error}")


def plot(path: Path, results: list[Result], raw_rate: float, setup: str) -> None:
    names = {"gradio": "/rate_text (Gradio event)", "http": "POST /api/ratings"}
    rates = {names[p]: [(r.raters, r.rate) for r in results if r.path == p] for p in names}
    p95s = {names[p]: [(r.raters, percentile(r.latencies_ms, 95)) for r in results if r.path == p] for p in names}
    panels = [
        Panel("ratings/s (closed loop, think time 0)", rates, {"raw SQLAlchemy upsert loop": raw_rate, "target 500/s": 500}),
        Panel("p95 latency (ms)", p95s, {"target 200 ms": 200}, log_y=True),
    ]
    save_curves(path, f"Ratings, {setup}: {describe_machine().split(', torch')[0]}", "concurrent raters", panels)
    print(f"Plot: {path}")


@contextmanager
def database_for(args: argparse.Namespace, tmp: Path) -> Iterator[str]:
    """A fresh database: a PostgreSQL one on the --postgres server (dropped afterwards), else SQLite."""
    if args.postgres:
        from tests.postgres import fresh_postgres_database

        with fresh_postgres_database(args.postgres, "benchratings") as url:
            yield url
    else:
        yield f"sqlite:///{tmp / 'data' / 'playground.db'}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raters", default="1,10,50", help="rater counts, comma-separated")
    parser.add_argument("--seconds", type=float, default=10.0, help="closed-loop time per path and rater count")
    parser.add_argument("--plot", type=Path, help="also write the curves (ratings/s and p95 against raters) to this PNG")
    parser.add_argument("--replicas", type=int, default=1, help="servers on one database; raters spread over them in turn")
    parser.add_argument("--postgres", help="a PostgreSQL server URL whose role may create databases (else SQLite)")
    parser.add_argument("--cache-dir", type=Path, default=ROOT / "playground-data" / "models")
    args = parser.parse_args()
    if args.replicas > 1 and not args.postgres:
        parser.error("--replicas above 1 needs --postgres: replicas on several hosts share a PostgreSQL database")
    print(f"Machine: {describe_machine()}")
    with tempfile.TemporaryDirectory(prefix="bench-rating-http-") as tmp, database_for(args, Path(tmp)) as database_url:
        env = unthrottled_env(database_url, Path(tmp) / "data", args.cache_dir)
        with running_replicas(args.replicas, env, Path(tmp)) as servers:

            def kill_all() -> None:
                for server in servers:
                    server.process.kill()

            try:
                results, killed, raters = asyncio.run(scenario([server.url for server in servers], args, kill_all))
            except CallFailed:
                for server in servers:  # the server's side of it, before the folder goes
                    print(f"--- {server.name}, last lines of its log:\n{server.log_text()[-3000:]}", file=sys.stderr)
                raise
        pairs, lost = lost_ratings(database_url, raters)
        raw_rate = raw_insert_loop(database_url, args.seconds)
    report(results, raw_rate, pairs, lost)
    if args.plot:
        plot(args.plot, results, raw_rate, f"{args.replicas} replica(s) on {'PostgreSQL' if args.postgres else 'SQLite'}")
    print(f"Across the SIGKILL: {len(killed.latencies_ms)} ratings acknowledged by {killed.raters} raters before it (all counted above)")
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main())
