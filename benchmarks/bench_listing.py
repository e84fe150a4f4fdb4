"""The writer's listing on a large library: ratios against raw queries in the same run.

    python benchmarks/bench_listing.py [--posts 20000] [--rounds 30] [--pg URL]

Seeds one writer with N posts of about 2 KB each (every tenth shared with a collective),
then measures, interleaved round by round so both sides see the same machine load:
- the store's first page, `posts_page(50)`, against the raw driver's query for the 50
  newest rows of the same writer (target: at most 3x);
- a page deep in the library through its cursor, against the same raw baseline;
- `list_posts()` of everything, for scale (what the listing cost before paging).
Nothing here asserts: the numbers are for people (README, closing notes).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import post001
from post001 import CollectiveCreate
from post001.core.sql import tables as t
from post001.core.sql.engine import make_engine
from post001.core.text import post_slug, word_count

TARGET = 3.0
PAGE = 50
RAW_SQL = ("SELECT * FROM posts WHERE author_id = {p} "
           "ORDER BY updated_at DESC, id DESC LIMIT 50")


def _body(n: int) -> str:
    words = ["quiet", "harbour", "lantern", "morning", "letters", "garden", "kettle",
             "window", "orchard", "ribbon"]
    text = " ".join(words[(n + i) % len(words)] for i in range(300))
    return text[:2000]


def seed(url: str, posts: int) -> uuid.UUID:
    """N posts written in bulk (the store would take a transaction each)."""
    store = post001.connect(url, user="writer")
    store.create_collective(CollectiveCreate(slug="harbour", name="Harbour"))
    collective = store.get_collective("harbour").id
    author = store.me().id
    store.close()
    start = datetime(2025, 1, 1, tzinfo=UTC)
    engine = make_engine(url)
    with engine.begin() as conn:
        for lo in range(0, posts, 1000):
            rows, shares = [], []
            for n in range(lo, min(posts, lo + 1000)):
                pid = uuid.uuid4()
                body = _body(n)
                stamp = start + timedelta(seconds=n)
                rows.append(dict(
                    id=pid, author_id=author, title=f"Post {n}", subtitle="", content=body,
                    slug=post_slug(f"Post {n}", pid), status="draft", created_at=stamp,
                    updated_at=stamp, version=1, word_count=word_count(body)))
                if n % 10 == 0:
                    shares.append(dict(id=uuid.uuid4(), post_id=pid,
                                       collective_id=collective, status="draft",
                                       shared_by=author, shared_at=stamp))
            conn.execute(t.posts.insert(), rows)
            if shares:
                conn.execute(t.shares.insert(), shares)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")  # as autovacuum would soon after a bulk load
    engine.dispose()
    return author


def raw_query(url: str, author: uuid.UUID) -> Callable[[], Any]:
    if url.startswith("sqlite"):
        import sqlite3

        db = sqlite3.connect(url.removeprefix("sqlite:///"))
        sql = RAW_SQL.format(p="?")
        return lambda: db.execute(sql, (author.hex,)).fetchall()
    import psycopg

    pg = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"),
                         autocommit=True)
    sql = RAW_SQL.format(p="%s")
    return lambda: pg.execute(sql, (author,)).fetchall()


def ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def run(url: str, posts: int, rounds: int) -> None:
    started = time.perf_counter()
    author = seed(url, posts)
    print(f"\n{url.split(':')[0]}: {posts} posts of ~2 KB seeded in "
          f"{time.perf_counter() - started:.1f} s")
    store = post001.connect(url, user="writer")
    raw = raw_query(url, author)
    cursor = None
    for _ in range(posts // 2 // PAGE):  # a cursor half-way down the library
        cursor = store.posts_page(PAGE, cursor).next_cursor
    samples: dict[str, list[float]] = {"raw": [], "first": [], "deep": []}
    calls: dict[str, Callable[[], Any]] = {
        "raw": raw, "first": lambda: store.posts_page(PAGE),
        "deep": lambda: store.posts_page(PAGE, cursor)}
    for name in calls:  # warm caches and prepared statements
        calls[name]()
    for _ in range(rounds):
        for name, call in calls.items():
            begin = time.perf_counter()
            call()
            samples[name].append(time.perf_counter() - begin)
    begin = time.perf_counter()
    everything = store.list_posts()
    whole = time.perf_counter() - begin
    store.close()
    base = ms(samples["raw"])
    for name, label in (("first", "first page (50 newest)"),
                        ("deep", f"page at post {posts // 2} (cursor)")):
        ratio = ms(samples[name]) / base
        verdict = "ok" if ratio <= TARGET else "OVER TARGET"
        print(f"  {label:<28} {ms(samples[name]):7.2f} ms vs raw {base:.2f} ms: "
              f"{ratio:.2f}x (target <= {TARGET}x) {verdict}")
    print(f"  list_posts() of all {len(everything)}: {whole * 1000:.0f} ms (one call)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--pg", default=None, metavar="URL",
                        help="Also measure on this (empty, throwaway) PostgreSQL database.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run(f"sqlite:///{Path(tmp) / 'bench.db'}", args.posts, args.rounds)
    if args.pg:
        run(args.pg, args.posts, args.rounds)


if __name__ == "__main__":
    main()
