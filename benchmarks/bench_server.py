"""Publishing through the team server on PostgreSQL: what HTTP and row-level security cost.

    python benchmarks/bench_server.py [--pg postgresql://postgres@127.0.0.1:5432/postgres]
                                      [--posts 200] [--clients 32] [--per-client 10]
                                      [--workers 2] [--json]

Creates a scratch database (dropped at the end), then measures, in one run:
1. the same publish (a post shared to 3 collectives) through the store directly vs
   through the API (a real `post001 serve` on loopback, the RemoteStore client):
   p50/p95 and their ratio;
2. 32 concurrent API clients publishing (each publish sent twice with the same
   Idempotency-Key, as a client retrying after a lost answer): throughput, p95, and a
   check in the database that every post was published exactly once (one
   `post.published` event, every share published) and nothing was lost;
3. the same publish through the store as the server's role (`post001_app`, RLS in
   force) vs as the table owner (a superuser: RLS bypassed): p50/p95 and the ratio
   (target <= 1.5x).
Everything stays on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import sqlalchemy as sa

from post001.core.clock import utcnow
from post001.core.models import CollectiveCreate, PostCreate, Role
from post001.core.remote import RemoteStore
from post001.core.sql.engine import make_engine
from post001.core.sql.schema import ensure_schema
from post001.core.sql.store import SqlStore, open_sql_store
from post001.server import auth
from post001.server.db import server_engine

PASSWORD = "benchmark password"
COLLECTIVES = ("c1", "c2", "c3")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summary(ms: list[float]) -> dict[str, float]:
    return {"n": len(ms), "p50_ms": round(pct(ms, 0.5), 2), "p95_ms": round(pct(ms, 0.95), 2),
            "mean_ms": round(statistics.fmean(ms), 2)}


def with_db(url: str, name: str) -> str:
    return str(sa.engine.make_url(url).set(database=name).render_as_string(hide_password=False))


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Bench:
    def __init__(self, pg: str, clients: int) -> None:
        self.admin = make_engine(pg, isolation_level="AUTOCOMMIT", pool_size=1, max_overflow=0)
        self.name = f"post001_bench_{uuid.uuid4().hex[:8]}"
        with self.admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{self.name}"'))
        self.url = with_db(pg, self.name)
        self.owner = make_engine(self.url, pool_size=4, max_overflow=4)
        ensure_schema(self.owner)
        self.users = ["alice", *(f"writer{i:02d}" for i in range(clients))]
        now = utcnow()
        for user in self.users:
            auth.add_user(self.owner, user, PASSWORD, now=now)
        alice = open_sql_store(self.url, "alice", engine=self.owner, migrate=False)
        for slug in COLLECTIVES:
            alice.create_collective(CollectiveCreate(slug=slug, name=slug.upper()))
            for user in self.users[1:]:
                alice.add_member(slug, user, Role.AUTHOR)

    def store(self, engine: sa.Engine, username: str) -> SqlStore:
        return open_sql_store(self.url, username, engine=engine, migrate=False,
                              create_user=False)

    def drafts(self, username: str, count: int) -> list[uuid.UUID]:
        store = self.store(self.owner, username)
        return [store.create_post(PostCreate(title=f"Post {i} by {username}",
                                             content="Words. " * 200,
                                             collectives=list(COLLECTIVES))).id
                for i in range(count)]

    def close(self, keep: bool) -> None:
        self.owner.dispose()
        if not keep:
            with self.admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self.admin.dispose()


def timed(publish: Callable[[uuid.UUID], Any], ids: list[uuid.UUID]) -> list[float]:
    out = []
    for post_id in ids:
        started = time.perf_counter()
        publish(post_id)
        out.append((time.perf_counter() - started) * 1000)
    return out


def start_server(url: str, workers: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "POST001_SERVER_POOL_SIZE": "40"}
    process = subprocess.Popen(
        [sys.executable, "-m", "post001.cli.main", "serve", "--port", str(port), "--db", url,
         "--workers", str(workers), "--log-level", "warning"], env=env)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/api/health", timeout=2).status_code == 200:
                return process, base
        except httpx.TransportError:
            time.sleep(0.2)
    process.terminate()
    raise RuntimeError("the server did not start")


def sign_in(base: str, username: str) -> str:
    response = httpx.post(f"{base}/api/v1/auth/token",
                          json={"username": username, "password": PASSWORD}, timeout=30)
    response.raise_for_status()
    return str(response.json()["token"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg", default=os.environ.get(
        "POST001_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--posts", type=int, default=200)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--per-client", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args()

    bench = Bench(args.pg, args.clients)
    results: dict[str, Any] = {"posts": args.posts, "collectives_per_post": len(COLLECTIVES)}
    process = None
    try:
        # 3. RLS vs bypass, through the store (no HTTP), warmed up first.
        app_engine = server_engine(bench.url, pool_size=4, max_overflow=4)
        try:
            for engine in (bench.owner, app_engine):
                store = bench.store(engine, "alice")
                timed(store.publish, bench.drafts("alice", 10))
            rls_ms: list[float] = []
            bypass_ms: list[float] = []
            rls_ids = bench.drafts("alice", args.posts)
            bypass_ids = bench.drafts("alice", args.posts)
            rls_store = bench.store(app_engine, "alice")
            owner_store = bench.store(bench.owner, "alice")
            for i in range(0, args.posts, 10):  # interleaved, so drift hits both alike
                rls_ms += timed(rls_store.publish, rls_ids[i:i + 10])
                bypass_ms += timed(owner_store.publish, bypass_ids[i:i + 10])
        finally:
            app_engine.dispose()
        results["store_rls"] = summary(rls_ms)
        results["store_bypass_rls"] = summary(bypass_ms)
        results["rls_ratio_p50"] = round(pct(rls_ms, .5) / pct(bypass_ms, .5), 2)
        results["rls_ratio_p95"] = round(pct(rls_ms, .95) / pct(bypass_ms, .95), 2)

        # 1. API vs store directly.
        process, base = start_server(bench.url, args.workers)
        remote = RemoteStore(base, token=sign_in(base, "alice"))
        timed(remote.publish, bench.drafts("alice", 10))  # warm-up
        api_ids = bench.drafts("alice", args.posts)
        direct_ids = bench.drafts("alice", args.posts)
        api_ms: list[float] = []
        direct_ms: list[float] = []
        for i in range(0, args.posts, 10):
            api_ms += timed(remote.publish, api_ids[i:i + 10])
            direct_ms += timed(owner_store.publish, direct_ids[i:i + 10])
        results["api"] = summary(api_ms)
        results["store_direct"] = summary(direct_ms)
        results["api_ratio_p50"] = round(pct(api_ms, .5) / pct(direct_ms, .5), 2)
        results["api_ratio_p95"] = round(pct(api_ms, .95) / pct(direct_ms, .95), 2)

        # 2. Concurrent clients, each publish sent twice with one Idempotency-Key.
        writers = bench.users[1:]
        work = {w: bench.drafts(w, args.per_client) for w in writers}
        tokens = {w: sign_in(base, w) for w in writers}
        latencies: list[float] = []
        replays: list[bool] = []
        errors: list[str] = []
        lock = threading.Lock()
        barrier = threading.Barrier(len(writers))

        def client(writer: str) -> None:
            store = RemoteStore(base, token=tokens[writer])
            barrier.wait()
            for post_id in work[writer]:
                key = f"bench-{post_id}"
                try:
                    started = time.perf_counter()
                    store.publish(post_id, idempotency_key=key)
                    took = (time.perf_counter() - started) * 1000
                    again = store.publish(post_id, idempotency_key=key)
                except Exception as exc:  # reported, and fails the proof below
                    with lock:
                        errors.append(f"{writer}: {type(exc).__name__}: {exc}")
                    continue
                with lock:
                    latencies.append(took)
                    replays.append(again.replayed)

        threads = [threading.Thread(target=client, args=(w,)) for w in writers]
        started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
        all_ids = [str(p) for ids in work.values() for p in ids]
        with bench.owner.connect() as conn:
            events: dict[str, int] = {r[0]: int(r[1]) for r in conn.execute(sa.text(
                "SELECT post_id::text, count(*) FROM audit_events "
                "WHERE action = 'post.published' AND post_id::text = ANY(:ids) "
                "GROUP BY post_id"), {"ids": all_ids})}
            statuses: dict[str, int] = {r[0]: int(r[1]) for r in conn.execute(sa.text(
                "SELECT status, count(*) FROM posts WHERE id::text = ANY(:ids) GROUP BY status"),
                {"ids": all_ids})}
            shares = conn.execute(sa.text(
                "SELECT count(*) FROM post_collectives WHERE post_id::text = ANY(:ids) "
                "AND status = 'published'"), {"ids": all_ids}).scalar()
        expected = len(all_ids)
        concurrent: dict[str, Any] = {
            "clients": len(writers),
            "publishes": expected,
            "requests": 2 * expected,
            "seconds": round(elapsed, 2),
            "publishes_per_second": round(expected / elapsed, 1),
            "requests_per_second": round(2 * expected / elapsed, 1),
            **{k: v for k, v in summary(latencies).items() if k != "n"},
            "errors": errors[:5],
            "replayed_retries": sum(replays),
            "published_once": sum(1 for c in events.values() if c == 1),
            "published_twice_or_more": sum(1 for c in events.values() if c > 1),
            "never_published": expected - len(events),
            "post_statuses": statuses,
            "published_shares": shares,
            "expected_shares": expected * len(COLLECTIVES),
        }
        results["concurrent"] = c = concurrent
        c["proof"] = (not errors and c["published_once"] == expected
                      and c["published_twice_or_more"] == 0 and c["never_published"] == 0
                      and c["replayed_retries"] == expected
                      and statuses == {"published": expected}
                      and shares == c["expected_shares"])
        remote.close()
    finally:
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        bench.close(args.keep)

    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"post001 server benchmark: {args.posts} publishes per series, "
          f"{len(COLLECTIVES)} collectives per post, PostgreSQL on loopback")
    print(f"  store directly       p50 {results['store_direct']['p50_ms']:7.2f} ms   "
          f"p95 {results['store_direct']['p95_ms']:7.2f} ms")
    print(f"  through the API      p50 {results['api']['p50_ms']:7.2f} ms   "
          f"p95 {results['api']['p95_ms']:7.2f} ms   "
          f"ratio p50 {results['api_ratio_p50']}x, p95 {results['api_ratio_p95']}x")
    print(f"  store, RLS bypassed  p50 {results['store_bypass_rls']['p50_ms']:7.2f} ms   "
          f"p95 {results['store_bypass_rls']['p95_ms']:7.2f} ms")
    print(f"  store, RLS in force  p50 {results['store_rls']['p50_ms']:7.2f} ms   "
          f"p95 {results['store_rls']['p95_ms']:7.2f} ms   "
          f"ratio p50 {results['rls_ratio_p50']}x, p95 {results['rls_ratio_p95']}x "
          f"(target <= 1.5x)")
    c = results["concurrent"]
    print(f"  {c['clients']} concurrent clients: {c['publishes']} publishes (+ as many "
          f"retries) in {c['seconds']} s = {c['publishes_per_second']} publishes/s "
          f"({c['requests_per_second']} requests/s), p50 {c['p50_ms']} ms, "
          f"p95 {c['p95_ms']} ms")
    print(f"  proof: published once {c['published_once']}/{c['publishes']}, twice or more "
          f"{c['published_twice_or_more']}, never {c['never_published']}, retries replayed "
          f"{c['replayed_retries']}, shares published {c['published_shares']}/"
          f"{c['expected_shares']}, errors {len(c['errors'])} -> "
          f"{'OK' if c['proof'] else 'FAILED'}")
    if not c["proof"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
