"""The team server against a bare FastAPI + psycopg baseline that pays for the same
security, measured side by side in one run on PostgreSQL (loopback only).

    python benchmarks/bench_server.py [--pg postgresql://postgres@127.0.0.1:5432/postgres]
                                      [--seconds 4] [--workers 2] [--json]

Creates a scratch database (dropped at the end) and starts, with the same uvicorn
settings (`--workers N`, no access log, log level error, and `post001 serve`'s own
options: its h11 protocol with deadlines for slow clients), both:
- `post001 serve` (the real server: FastAPI, the store, row-level security);
- the baseline below: one FastAPI app whose routes look the bearer token up by its
  hash (`post001_token_lookup`), `SET LOCAL ROLE post001_app`, `set_config` the user,
  then do the work in one psycopg transaction on a small connection pool (psycopg's
  defaults, so repeated statements are prepared, as post001's are on a direct
  connection).
The baseline also runs on uvicorn's defaults (httptools), for the save figures, to show
what the slow-client protection of post001's protocol costs.

It then measures, interleaving the two so machine noise hits both alike:
1. auto-save: 1, 8, 32 and 64 concurrent writers, each saving its own draft in a loop
   (`PATCH /api/v1/posts/{id}/draft` with If-Match vs the baseline's
   `UPDATE posts ... WHERE id AND version RETURNING version`): saves/s, p50, p95, and
   the throughput ratio (target >= 0.67x) and post001's p95 at 64 writers (< 200 ms);
2. publish to 3 collectives: 1 and 8 concurrent clients, each publishing fresh drafts
   (post, shares, audit events in one transaction on both sides): p50 ratio and
   throughput ratio (target <= 1.5x slower);
3. memory: RSS of `post001 serve` (all its processes) idle, then its peak while 96
   sign-ins (real argon2 hashes, 64 MiB each) arrive at once (target: within 300 MiB).
Load comes from client processes separate from the servers: each runs its writers as
keep-alive HTTP/1.1 connections on one asyncio loop, written and read directly (status
line, headers, Content-Length body). The same client drives every server. It used to be
threads with httpx clients, whose own CPU per request (several ms) took a large part of
the 2 cores this benchmark shares with the servers; the lean client leaves that to the
servers, so the figures measure the server, not the client. Every answer is checked: a
wrong status, a save whose answer lacks the new version, or a publish whose three
shares are not all published fails the run.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import multiprocessing
import os
import queue
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

PASSWORD = "benchmark password"
COLLECTIVES = ("c1", "c2", "c3")
SAVE_LEVELS = (1, 8, 32, 64)
PUBLISH_LEVELS = (1, 8)
PUBLISH_ROUNDS = 5  # per side, alternating with the baseline
SIGN_INS = 96
HERE = Path(__file__).resolve().parent


# --- the baseline: bare FastAPI + psycopg, the same security per request -----------------


def make_baseline() -> Any:
    """The baseline app (uvicorn --factory; BENCH_BASELINE_DSN names the database)."""
    import psycopg
    from fastapi import FastAPI, Header, HTTPException

    dsn = os.environ["BENCH_BASELINE_DSN"]
    size = int(os.environ.get("BENCH_BASELINE_POOL", "10"))
    pool: queue.LifoQueue[psycopg.Connection[Any]] = queue.LifoQueue()
    for _ in range(size):
        # psycopg's defaults (prepared after 5 uses), as `post001 serve` on a direct
        # connection (POST001_SERVER_PREPARED_STATEMENTS=auto).
        pool.put(psycopg.connect(dsn))

    @contextmanager
    def transaction(authorization: str | None) -> Iterator[tuple[Any, str]]:
        if not authorization or not authorization.startswith("Bearer "):
            raise HTTPException(401)
        digest = hashlib.sha256(authorization[7:].encode()).hexdigest()
        conn = pool.get()
        try:
            with conn.transaction(), conn.cursor() as cur:
                cur.execute("SELECT user_id, revoked_at, expires_at "
                            "FROM post001_token_lookup(%s)", (digest,))
                row = cur.fetchone()
                if row is None or row[1] is not None:
                    raise HTTPException(401)
                cur.execute("SET LOCAL ROLE post001_app")
                cur.execute("SELECT set_config('post001.user_id', %s, true)", (str(row[0]),))
                yield cur, str(row[0])
        finally:
            pool.put(conn)

    app = FastAPI()

    @app.patch("/draft/{post_id}")
    def save(post_id: uuid.UUID, body: dict[str, Any],
             authorization: str | None = Header(None), if_match: str = Header(...)
             ) -> dict[str, Any]:
        expected = int(if_match.strip('"'))
        with transaction(authorization) as (cur, _):
            cur.execute("UPDATE posts SET content = %s, version = version + 1, "
                        "updated_at = now() WHERE id = %s AND version = %s "
                        "RETURNING version", (body["content"], post_id, expected))
            row = cur.fetchone()
        if row is None:
            raise HTTPException(412)
        return {"id": str(post_id), "version": row[0]}

    @app.post("/publish/{post_id}")
    def publish(post_id: uuid.UUID, authorization: str | None = Header(None)
                ) -> dict[str, Any]:
        with transaction(authorization) as (cur, user):
            cur.execute("UPDATE posts SET status = 'published', version = version + 1, "
                        "published_at = now(), updated_at = now() WHERE id = %s "
                        "AND author_id = %s RETURNING version", (post_id, user))
            row = cur.fetchone()
            if row is None:
                raise HTTPException(404)
            cur.execute("UPDATE post_collectives SET status = 'published', "
                        "shared_at = now(), shared_by = %s WHERE post_id = %s "
                        "RETURNING collective_id", (user, post_id))
            shares = [r[0] for r in cur.fetchall()]
            events = [(uuid.uuid4(), user, "share.status_changed", post_id, c)
                      for c in shares]
            events.append((uuid.uuid4(), user, "post.published", post_id, None))
            cur.executemany(
                "INSERT INTO audit_events (id, at, actor_id, action, post_id, "
                "collective_id, new_values) VALUES (%s, now(), %s, %s, %s, %s, "
                "'{\"status\": \"published\"}')", events)
        return {"id": str(post_id), "version": row[0],
                "outcomes": [{"collective_id": str(c), "status": "published"}
                             for c in shares]}

    return app


# --- plumbing --------------------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def wait_until_up(base: str, process: subprocess.Popen[bytes], path: str) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{base} exited with {process.returncode}")
        try:
            httpx.get(f"{base}{path}", timeout=2)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise RuntimeError(f"{base} did not start")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _tree(root: int) -> list[int]:
    """A process and all its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def cpu_seconds(root: int) -> float:
    """User + system CPU time used so far by a process tree (its live processes)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in _tree(root):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def rss_mib(root: int) -> float:
    """Resident memory of a process and all its descendants (from /proc)."""
    total_kib = 0
    for pid in _tree(root):
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kib += int(line.split()[1])
        except OSError:
            continue
    return total_kib / 1024


class Database:
    """A scratch database with writers, collectives and tokens."""

    def __init__(self, pg: str, writers: int) -> None:
        from post001.core.sql.engine import make_engine
        from post001.core.sql.schema import ensure_schema

        self.admin = make_engine(pg, isolation_level="AUTOCOMMIT", pool_size=1,
                                 max_overflow=0)
        self.name = f"post001_bench_{uuid.uuid4().hex[:8]}"
        with self.admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{self.name}"'))
        self.url = sa.engine.make_url(pg).set(database=self.name).render_as_string(
            hide_password=False)
        self.dsn = sa.engine.make_url(self.url).set(drivername="postgresql").render_as_string(
            hide_password=False)
        self.owner = make_engine(self.url, pool_size=2, max_overflow=2)
        ensure_schema(self.owner)
        self.writers = [f"writer{i:02d}" for i in range(writers)]
        self._setup()

    def _setup(self) -> None:
        from argon2 import PasswordHasher
        from argon2.profiles import CHEAPEST

        from post001.core.clock import utcnow
        from post001.core.models import CollectiveCreate, Role
        from post001.core.sql.store import open_sql_store
        from post001.server import auth

        auth.use_password_hasher(PasswordHasher.from_parameters(CHEAPEST))  # setup only
        now = utcnow()
        for user in self.writers:
            auth.add_user(self.owner, user, PASSWORD, now=now)
        self.tokens = {u: auth.issue_token(self.owner, u, now=now) for u in self.writers}
        first = open_sql_store(self.url, self.writers[0], engine=self.owner, migrate=False,
                               create_user=False)
        for slug in COLLECTIVES:
            first.create_collective(CollectiveCreate(slug=slug, name=slug.upper()))
            for user in self.writers[1:]:
                first.add_member(slug, user, Role.EDITOR)
        # Sign-in users for the memory test: real argon2 (the library's defaults).
        real = PasswordHasher().hash(PASSWORD)
        with self.owner.begin() as conn:
            for i in range(SIGN_INS):
                uid = uuid.uuid4()
                conn.execute(sa.text("INSERT INTO users (id, username, display_name, "
                                     "created_at) VALUES (:id, :u, '', now())"),
                             {"id": uid, "u": f"signin{i:03d}"})
                conn.execute(sa.text("INSERT INTO user_passwords (user_id, password_hash, "
                                     "updated_at) VALUES (:id, :h, now())"),
                             {"id": uid, "h": real})

    def drafts(self, user: str, count: int, collectives: bool) -> list[str]:
        from post001.core.models import PostCreate
        from post001.core.sql.store import open_sql_store

        store = open_sql_store(self.url, user, engine=self.owner, migrate=False,
                               create_user=False)
        return [str(store.create_post(PostCreate(
            title=f"Post {i} by {user}", content="Words. " * 200,
            collectives=list(COLLECTIVES) if collectives else [])).id)
            for i in range(count)]

    def close(self) -> None:
        self.owner.dispose()
        with self.admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self.admin.dispose()


# --- load (in client processes, away from the servers' interpreters) ----------------


class _Connection:
    """One keep-alive HTTP/1.1 connection on asyncio streams: the load generator's own
    CPU per request is a fraction of an httpx client's, so on a machine whose cores the
    client shares with the servers, more of them is left to the server being measured
    (both servers alike). Requests and answers are plain HTTP/1.1 with Content-Length;
    anything else (a closed connection, chunked bodies) fails the run."""

    def __init__(self, base: str, token: str) -> None:
        host, port = base.removeprefix("http://").split(":")
        self.host, self.port = host, int(port)
        self.auth = f"Authorization: Bearer {token}\r\nHost: {host}\r\n"
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def request(self, method: str, path: str, body: bytes = b"",
                      headers: str = "") -> tuple[int, bytes]:
        assert self.reader is not None and self.writer is not None
        head = (f"{method} {path} HTTP/1.1\r\n{self.auth}{headers}"
                f"Content-Length: {len(body)}\r\n")
        if body:
            head += "Content-Type: application/json\r\n"
        self.writer.write(head.encode() + b"\r\n" + body)
        raw = await self.reader.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length = None
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "connection" and value.strip().lower() == "close":
                raise RuntimeError(f"the server closed the connection ({status})")
        if length is None:
            raise RuntimeError(f"an answer without Content-Length ({status})")
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def _client_process(task: dict[str, Any], results: Any) -> None:
    """Runs `task["jobs"]` (one connection each, concurrently on one event loop) and puts
    (latencies_ms, errors, first start, last end) on results."""
    latencies: list[float] = []
    errors: list[str] = []
    spans: list[float] = []  # wall-clock start and end of each job's requests

    async def save_loop(conn: _Connection, job: dict[str, Any], deadline: float) -> None:
        version = job["version"]
        path = task["save_path"].format(id=job["post"])
        spans.append(time.time())
        i = 0
        mine: list[float] = []
        while time.monotonic() < deadline:
            i += 1
            body = json.dumps({"content": f"Words typed so far: {i} " * 20}).encode()
            started = time.perf_counter()
            status, answer = await conn.request("PATCH", path, body,
                                                f'If-Match: "{version}"\r\n')
            mine.append((time.perf_counter() - started) * 1000)
            if status != 200:
                errors.append(f"{status} {answer[:200]!r}")
                return
            version = json.loads(answer)["version"]
        latencies.extend(mine)
        spans.append(time.time())

    async def publish_loop(conn: _Connection, job: dict[str, Any], _deadline: float
                           ) -> None:
        mine: list[float] = []
        spans.append(time.time())
        for post in job["posts"]:
            started = time.perf_counter()
            status, answer = await conn.request("POST",
                                                task["publish_path"].format(id=post))
            mine.append((time.perf_counter() - started) * 1000)
            if status != 200:
                errors.append(f"{status} {answer[:200]!r}")
                return
            outcomes = json.loads(answer)["outcomes"]
            if [o["status"] for o in outcomes] != ["published"] * len(COLLECTIVES):
                errors.append(f"not published to each collective: {answer[:200]!r}")
                return
        latencies.extend(mine)
        spans.append(time.time())

    async def main() -> None:
        conns = [_Connection(task["base"], job["token"]) for job in task["jobs"]]
        await asyncio.gather(*(c.open() for c in conns))  # connected before the clock
        loop = save_loop if task["kind"] == "save" else publish_loop
        deadline = time.monotonic() + task["seconds"]
        try:
            await asyncio.gather(*(loop(c, job, deadline)
                                   for c, job in zip(conns, task["jobs"], strict=True)))
        finally:
            for c in conns:
                c.close()

    asyncio.run(main())
    results.put((latencies, errors, min(spans, default=0.0), max(spans, default=0.0)))


def run_load(kind: str, base: str, jobs: list[dict[str, Any]], seconds: float,
             paths: dict[str, str], server_pid: int) -> dict[str, Any]:
    """Spread the jobs over up to two client processes (their clocks are the machine's
    wall clock); throughput over the time requests were in flight."""
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    split = 1 if len(jobs) < 8 else 2
    groups = [jobs[i::split] for i in range(split)]
    procs = [ctx.Process(target=_client_process, args=(
        {"kind": kind, "base": base, "jobs": group, "seconds": seconds, **paths}, results))
        for group in groups]
    cpu_before = cpu_seconds(server_pid)
    for p in procs:
        p.start()
    collected = [results.get(timeout=600) for _ in procs]
    cpu = cpu_seconds(server_pid) - cpu_before
    for p in procs:
        p.join()
    latencies = [ms for lat, *_ in collected for ms in lat]
    errors = [e for _, errs, *_ in collected for e in errs]
    if errors:
        raise RuntimeError(f"{kind} on {base}: {len(errors)} errors, e.g. {errors[:3]}")
    # From the first request to the last answer (client start-up is not counted).
    busy = max(end for *_, end in collected) - min(start for *_, start, _ in collected)
    return {"requests": len(latencies), "per_second": len(latencies) / busy,
            "p50_ms": pct(latencies, 0.5), "p95_ms": pct(latencies, 0.95),
            "server_cpu_ms": 1000 * cpu / max(1, len(latencies))}


def current_versions(db: Database, ids: list[str]) -> dict[str, int]:
    with db.owner.connect() as conn:
        return {str(r[0]): int(r[1]) for r in conn.execute(sa.text(
            "SELECT id, version FROM posts WHERE id::text = ANY(:ids)"), {"ids": ids})}


# --- the measurements ----------------------------------------------------------------


def serve_baseline(port: int, workers: int) -> None:
    """The baseline with exactly `post001 serve`'s uvicorn options."""
    import uvicorn

    from post001.server.http import uvicorn_options

    uvicorn.run("bench_server:make_baseline", factory=True, host="127.0.0.1", port=port,
                workers=workers, log_level="error", access_log=False, **uvicorn_options())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg", default=os.environ.get(
        "POST001_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--workers", type=int, default=2)
    # 200 per client (five rounds of 40): at 40, one client's figure rested on 2 x 20
    # requests, and a single stall moved its p50 and slowdown by 0.4x from run to run.
    parser.add_argument("--publishes", type=int, default=200, help="per client")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--serve-baseline", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_baseline:
        serve_baseline(args.serve_baseline, args.workers)
        return 0

    db = Database(args.pg, max(SAVE_LEVELS))
    servers: list[subprocess.Popen[bytes]] = []
    out: dict[str, Any] = {"workers": args.workers}
    try:
        post001_port, base_port, bare_port = free_port(), free_port(), free_port()
        common = ["--workers", str(args.workers), "--log-level", "error"]
        servers.append(subprocess.Popen(
            [sys.executable, "-m", "post001.cli.main", "serve", "--port", str(post001_port),
             "--db", db.url, *common]))
        # The baseline under post001's uvicorn options (its h11 protocol with deadlines
        # for slow clients, no proxy headers), as `post001 serve` runs...
        servers.append(subprocess.Popen(
            [sys.executable, str(HERE / "bench_server.py"), "--serve-baseline",
             str(base_port), "--workers", str(args.workers)],
            env={**os.environ, "PYTHONPATH": str(HERE), "BENCH_BASELINE_DSN": db.dsn}))
        # ... and on uvicorn's defaults (httptools), to show what that protocol costs.
        servers.append(subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "bench_server:make_baseline", "--factory",
             "--port", str(bare_port), "--no-access-log", *common],
            env={**os.environ, "PYTHONPATH": str(HERE), "BENCH_BASELINE_DSN": db.dsn}))
        post001 = f"http://127.0.0.1:{post001_port}"
        baseline = f"http://127.0.0.1:{base_port}"
        bare = f"http://127.0.0.1:{bare_port}"
        wait_until_up(post001, servers[0], "/api/health")
        wait_until_up(baseline, servers[1], "/docs")
        wait_until_up(bare, servers[2], "/docs")
        paths = {
            "post001": {"save_path": "/api/v1/posts/{id}/draft",
                        "publish_path": "/api/v1/posts/{id}/publish"},
            "baseline": {"save_path": "/draft/{id}", "publish_path": "/publish/{id}"},
        }
        paths["httptools"] = paths["baseline"]
        bases = {"post001": post001, "baseline": baseline, "httptools": bare}
        pids = {"post001": servers[0].pid, "baseline": servers[1].pid,
                "httptools": servers[2].pid}

        # 1. auto-save
        drafts = {side: {w: db.drafts(w, 1, False)[0] for w in db.writers}
                  for side in bases}
        save: dict[str, Any] = {}
        for level in SAVE_LEVELS:
            rows: dict[str, list[dict[str, Any]]] = {"post001": [], "baseline": [],
                                                     "httptools": []}
            for sides in (("baseline", "post001", "httptools"), ("baseline", "post001")):
                for side in sides:  # interleaved rounds
                    writers = db.writers[:level]
                    versions = current_versions(db, [drafts[side][w] for w in writers])
                    jobs = [{"token": db.tokens[w], "post": drafts[side][w],
                             "version": versions[drafts[side][w]]} for w in writers]
                    rows[side].append(run_load("save", bases[side], jobs, args.seconds,
                                               paths[side], pids[side]))
            merged: dict[str, Any] = {side: {
                "per_second": round(statistics.fmean(r["per_second"] for r in rs), 1),
                "p50_ms": round(statistics.fmean(r["p50_ms"] for r in rs), 2),
                "p95_ms": round(statistics.fmean(r["p95_ms"] for r in rs), 2),
                "server_cpu_ms": round(statistics.fmean(r["server_cpu_ms"] for r in rs), 2)}
                for side, rs in rows.items()}
            merged["throughput_ratio"] = round(
                merged["post001"]["per_second"] / merged["baseline"]["per_second"], 2)
            merged["vs_httptools"] = round(
                merged["post001"]["per_second"] / merged["httptools"]["per_second"], 2)
            save[str(level)] = merged
        out["save"] = save

        # 2. publish to 3 collectives
        publish: dict[str, Any] = {}
        for level in PUBLISH_LEVELS:
            writers = db.writers[1:level + 1]
            rows = {"post001": [], "baseline": []}
            # Five short rounds each, alternating: this machine's speed drifts by 2x within
            # a minute, and two long rounds each let a drift land on one side only.
            for side in ("baseline", "post001") * PUBLISH_ROUNDS:
                jobs = [{"token": db.tokens[w],
                         "posts": db.drafts(w, args.publishes // PUBLISH_ROUNDS, True)}
                        for w in writers]
                rows[side].append(run_load("publish", bases[side], jobs, 0, paths[side],
                                           pids[side]))
            merged = {side: {
                "per_second": round(statistics.fmean(r["per_second"] for r in rs), 1),
                "p50_ms": round(statistics.fmean(r["p50_ms"] for r in rs), 2),
                "p95_ms": round(statistics.fmean(r["p95_ms"] for r in rs), 2),
                "server_cpu_ms": round(statistics.fmean(r["server_cpu_ms"] for r in rs), 2)}
                for side, rs in rows.items()}
            merged["p50_ratio"] = round(
                merged["post001"]["p50_ms"] / merged["baseline"]["p50_ms"], 2)
            merged["slowdown"] = round(
                merged["baseline"]["per_second"] / merged["post001"]["per_second"], 2)
            publish[str(level)] = merged
        out["publish_3"] = publish

        # 3. memory under 96 parallel sign-ins
        idle = rss_mib(servers[0].pid)
        peak = [idle]
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], rss_mib(servers[0].pid))
                done.wait(0.05)

        sampler = threading.Thread(target=sample)
        sampler.start()
        codes: list[int] = []
        lock = threading.Lock()
        gate = threading.Barrier(SIGN_INS)

        def sign_in(i: int) -> None:
            gate.wait()
            r = httpx.post(f"{post001}/api/v1/auth/token", timeout=120,
                           json={"username": f"signin{i:03d}", "password": PASSWORD})
            with lock:
                codes.append(r.status_code)

        threads = [threading.Thread(target=sign_in, args=(i,)) for i in range(SIGN_INS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        done.set()
        sampler.join()
        out["memory"] = {"idle_mib": round(idle, 1), "peak_mib": round(peak[0], 1),
                         "growth_mib": round(peak[0] - idle, 1),
                         "answers": {str(c): codes.count(c) for c in sorted(set(codes))}}
    finally:
        for process in servers:
            stop(process)
        db.close()

    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    print(f"post001 serve vs bare FastAPI + psycopg (same security, same uvicorn settings, "
          f"{args.workers} workers), PostgreSQL on loopback")
    print("auto-save  writers | post001 saves/s  p50  p95  cpu/req | baseline saves/s  p50"
          "  p95  cpu/req | throughput ratio (>= 0.67)")
    for level, row in out["save"].items():
        a, b = row["post001"], row["baseline"]
        print(f"           {level:>7} | {a['per_second']:8.1f} {a['p50_ms']:6.1f} "
              f"{a['p95_ms']:6.1f} {a['server_cpu_ms']:5.2f} | {b['per_second']:8.1f} "
              f"{b['p50_ms']:6.1f} {b['p95_ms']:6.1f} {b['server_cpu_ms']:5.2f} | "
              f"{row['throughput_ratio']:.2f}x (vs the baseline on httptools: "
              f"{row['httptools']['per_second']:.1f}/s, {row['vs_httptools']:.2f}x)")
    print(f"  p95 at 64 writers: {out['save']['64']['post001']['p95_ms']} ms (target < 200)")
    print("publish 3  clients | post001 /s  p50  p95  cpu/req | baseline /s  p50  p95  "
          "cpu/req | p50 ratio, slowdown (<= 1.5x)")
    for level, row in out["publish_3"].items():
        a, b = row["post001"], row["baseline"]
        print(f"           {level:>7} | {a['per_second']:7.1f} {a['p50_ms']:6.1f} "
              f"{a['p95_ms']:6.1f} {a['server_cpu_ms']:5.2f} | {b['per_second']:7.1f} "
              f"{b['p50_ms']:6.1f} {b['p95_ms']:6.1f} {b['server_cpu_ms']:5.2f} | "
              f"{row['p50_ratio']:.2f}x, {row['slowdown']:.2f}x")
    m = out["memory"]
    print(f"memory: idle {m['idle_mib']} MiB, peak {m['peak_mib']} MiB under {SIGN_INS} "
          f"parallel sign-ins: +{m['growth_mib']} MiB (target <= 300); answers "
          f"{m['answers']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
