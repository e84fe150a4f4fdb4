"""Core store benchmarks: ratios against raw driver baselines measured in the same run.

    python benchmarks/bench_store.py [--pg URL] [--rounds N]

Prints, for SQLite (and PostgreSQL when reachable):
- one draft save through the store vs the same UPDATE + COMMIT through the raw driver
  on the same file and settings (target p50 <= 1.5x);
- publishing to 1, 10 and 100 collectives vs the same rows written with raw SQL in one
  transaction (target <= 2x at each size, and t(100)/t(1) <= 5).
Nothing here asserts: the numbers are for people (README, closing notes).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

import post001
from post001 import CollectiveCreate, PostCreate, PostUpdate
from post001.core.config import Settings
from post001.core.sql.engine import make_engine
from post001.core.sql.store import SqlStore

SIZES = (1, 10, 100)


def p50(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[18] * 1000 if len(samples) > 1 else 0.0


def timed(fn: Callable[[Any], Any], rounds: int, setup: Callable[[int], Any] | None = None,
          cpu: list[float] | None = None) -> list[float]:
    """Wall times of `rounds` calls; their CPU times (this process) go to `cpu`."""
    samples = []
    for i in range(rounds):
        arg = setup(i) if setup else i
        start, start_cpu = time.perf_counter(), time.process_time()
        fn(arg)
        samples.append(time.perf_counter() - start)
        if cpu is not None:
            cpu.append(time.process_time() - start_cpu)
    return samples


class RawDriver:
    """The baseline: the driver itself (sqlite3 or psycopg), no post001, no SQLAlchemy."""

    def __init__(self, store: SqlStore) -> None:
        self.engine = store._engine
        self.sqlite = self.engine.dialect.name == "sqlite"
        if self.sqlite:
            import sqlite3

            path = self.engine.url.database
            assert path, "a SQLite store names its file"
            self.conn: Any = sqlite3.connect(path, isolation_level=None)
            for pragma in ("journal_mode = WAL", "synchronous = FULL", "foreign_keys = ON",
                           "busy_timeout = 10000"):
                self.conn.execute(f"PRAGMA {pragma}")
        else:
            import psycopg

            url = self.engine.url.set(drivername="postgresql")
            self.conn = psycopg.connect(url.render_as_string(hide_password=False))
        self.p = "?" if self.sqlite else "%s"

    def _id(self, value: uuid.UUID) -> Any:
        return value.hex if self.sqlite else value

    def _ts(self, value: datetime) -> Any:
        return value.replace(tzinfo=None).isoformat(" ") if self.sqlite else value

    def begin(self) -> Any:
        cur = self.conn.cursor()
        if self.sqlite:
            cur.execute("BEGIN IMMEDIATE")
        return cur

    def commit(self, cur: Any) -> None:
        if self.sqlite:
            cur.execute("COMMIT")
        else:
            self.conn.commit()

    def save(self, post_id: uuid.UUID, version: int, content: str) -> None:
        p = self.p
        cur = self.begin()
        cur.execute(
            f"UPDATE posts SET content = {p}, version = version + 1, updated_at = {p} "
            f"WHERE id = {p} AND version = {p}",
            (content, self._ts(datetime.now(UTC)), self._id(post_id), version))
        self.commit(cur)

    def publish(self, post_id: uuid.UUID, author: uuid.UUID, collective_ids: list[uuid.UUID]
                ) -> None:
        """The rows a publish writes: the post, every share, one audit event each."""
        p = self.p
        now = self._ts(datetime.now(UTC))
        cur = self.begin()
        cur.execute(f"UPDATE posts SET status = 'published', version = version + 1, "
                    f"published_at = {p}, updated_at = {p} WHERE id = {p}",
                    (now, now, self._id(post_id)))
        cur.execute(f"UPDATE post_collectives SET status = 'published', shared_at = {p}, "
                    f"shared_by = {p} WHERE post_id = {p}",
                    (now, self._id(author), self._id(post_id)))
        rows = [(self._id(uuid.uuid4()), now, self._id(author), "share.status_changed",
                 self._id(post_id), self._id(cid), '{"status": "published"}')
                for cid in collective_ids]
        rows.append((self._id(uuid.uuid4()), now, self._id(author), "post.published",
                     self._id(post_id), None, '{"status": "published"}'))
        cur.executemany(
            f"INSERT INTO audit_events (id, at, actor_id, action, post_id, collective_id, "
            f"new_values) VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p})", rows)
        self.commit(cur)

    def close(self) -> None:
        self.conn.close()


def statements_of(store: SqlStore, call: Callable[[], Any]) -> int:
    """How many statements SQLAlchemy sent while `call` ran."""
    seen = [0]

    def count(*_: Any) -> None:
        seen[0] += 1

    event.listen(store._engine, "before_cursor_execute", count)
    try:
        call()
    finally:
        event.remove(store._engine, "before_cursor_execute", count)
    return seen[0]


def bench_backend(name: str, url: str, rounds: int) -> dict[str, Any]:
    settings = Settings(max_collectives_per_post=max(SIZES))
    store = post001.connect(url, user="bench", settings=settings)
    assert isinstance(store, SqlStore)
    slugs = [f"bench-{i}" for i in range(max(SIZES))]
    existing = {m.slug for m in store.my_collectives()}
    for slug in slugs:
        if slug not in existing:
            store.create_collective(CollectiveCreate(slug=slug, name=slug.title()))
    raw = RawDriver(store)
    author = store.me().id
    out: dict[str, Any] = {"backend": name}

    # --- draft save ---------------------------------------------------------------------
    post = store.create_post(PostCreate(title="Bench", content="x"))
    version = [post.version]

    def store_save(i: int) -> None:
        version[0] = store.save_draft(post.id, PostUpdate(content=f"draft text {i}"),
                                      expected_version=version[0])

    raw_post = store.create_post(PostCreate(title="Raw", content="x"))
    raw_version = [raw_post.version]

    def raw_save(i: int) -> None:
        raw.save(raw_post.id, raw_version[0], f"draft text {i}")
        raw_version[0] += 1

    # Interleave so both see the same machine state; warm up first.
    timed(store_save, 50)
    timed(raw_save, 50)
    store_samples: list[float] = []
    raw_samples: list[float] = []
    for _ in range(5):
        store_samples += timed(store_save, rounds)
        raw_samples += timed(raw_save, rounds)
    out["save"] = {
        "store_p50_ms": p50(store_samples), "store_p95_ms": p95(store_samples),
        "raw_p50_ms": p50(raw_samples), "ratio_p50": p50(store_samples) / p50(raw_samples),
    }

    # --- publish to N collectives --------------------------------------------------------
    targets = {c.slug: c.collective_id for c in store.my_collectives(limit=1000)}
    publish: dict[Any, Any] = {}
    counted: dict[int, int] = {}
    publish_rounds = max(5, rounds // 10)
    for size in SIZES:
        chosen = slugs[:size]

        def make(_: int, chosen: list[str] = chosen) -> uuid.UUID:
            return store.create_post(PostCreate(title="Pub", content="body",
                                                collectives=chosen)).id

        def via_store(post_id: uuid.UUID) -> None:
            store.publish(post_id)

        def via_raw(post_id: uuid.UUID, chosen: list[str] = chosen) -> None:
            raw.publish(post_id, author, [targets[s] for s in chosen])

        timed(via_store, 3, make)
        timed(via_raw, 3, make)
        fresh = make(0)
        counted[size] = statements_of(store, partial(via_store, fresh))
        store_t: list[float] = []
        raw_t: list[float] = []
        store_cpu: list[float] = []
        raw_cpu: list[float] = []
        for _ in range(3):
            store_t += timed(via_store, publish_rounds, make, store_cpu)
            raw_t += timed(via_raw, publish_rounds, make, raw_cpu)
        publish[size] = {"store_p50_ms": p50(store_t), "raw_p50_ms": p50(raw_t),
                         "ratio": p50(store_t) / p50(raw_t),
                         # CPU time barely moves with fsync and the disk's other users
                         # (the wall ratio does, on a shared machine).
                         "store_cpu_ms": statistics.mean(store_cpu) * 1000,
                         "raw_cpu_ms": statistics.mean(raw_cpu) * 1000}
    publish["t100_over_t1"] = publish[100]["store_p50_ms"] / publish[1]["store_p50_ms"]
    publish["statements"] = counted
    out["publish"] = publish
    raw.close()
    store.close()
    return out


def report(result: dict[str, Any]) -> None:
    save = result["save"]
    print(f"\n== {result['backend']} ==")
    print(f"draft save   store p50 {save['store_p50_ms']:.3f} ms (p95 "
          f"{save['store_p95_ms']:.3f}) vs raw {save['raw_p50_ms']:.3f} ms  ->  "
          f"{save['ratio_p50']:.2f}x  (target <= 1.5x: {verdict(save['ratio_p50'], 1.5)})")
    pub = result["publish"]
    for size in SIZES:
        row = pub[size]
        print(f"publish {size:>3}  store p50 {row['store_p50_ms']:.2f} ms vs raw "
              f"{row['raw_p50_ms']:.2f} ms  ->  {row['ratio']:.2f}x  (target <= 2x: "
              f"{verdict(row['ratio'], 2.0)}); CPU {row['store_cpu_ms']:.2f} vs "
              f"{row['raw_cpu_ms']:.2f} ms")
    print(f"publish t(100)/t(1) = {pub['t100_over_t1']:.2f}  (target <= 5: "
          f"{verdict(pub['t100_over_t1'], 5.0)})")
    print(f"publish statements per call: {pub['statements']} whatever the number of "
          "collectives" if len(set(pub["statements"].values())) == 1 else
          f"publish statements per call: {pub['statements']} (NOT fixed)")


def verdict(value: float, limit: float) -> str:
    return "met" if value <= limit else "MISSED"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres",
                        help="PostgreSQL server to create a scratch database on")
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        results.append(bench_backend("sqlite", f"sqlite:///{Path(tmp) / 'bench.db'}",
                                     args.rounds))
    admin = make_engine(args.pg, isolation_level="AUTOCOMMIT")
    name = f"post001_bench_{uuid.uuid4().hex[:8]}"
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as err:
        print(f"PostgreSQL skipped: {err.orig}", file=sys.stderr)
    else:
        try:
            url = admin.url.set(database=name).render_as_string(hide_password=False)
            results.append(bench_backend("postgresql", url, args.rounds))
        finally:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
    if args.json:
        print(json.dumps(results, indent=2, default=str))
    else:
        for result in results:
            report(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
