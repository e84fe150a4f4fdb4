"""The offline journal: what keeping a write on this machine, and sending it later, costs.

    python benchmarks/bench_journal.py [--pg postgresql://postgres@127.0.0.1:5432/postgres]
                                       [--writes 2000] [--saves 1000] [--json]

Ratios against baselines measured in the same run:
1. a journal write (OfflineStore's append: one fsynced INSERT in WAL mode with
   synchronous=FULL) vs a raw sqlite3 INSERT + COMMIT of the same row on a file with the
   same settings, interleaved in rounds (target <= 2x);
2. replaying 1,000 journalled saves of one post (each with If-Match and its save id,
   each entry deleted after the server's answer) vs the same 1,000 saves made online
   through the RemoteStore, against a real `post001 serve` on a scratch PostgreSQL
   database on loopback (target <= 1.5x). The online run goes before and after the
   replay; the baseline is their mean.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_server import Database, free_port, stop, wait_until_up

from post001.core import journal as J
from post001.core.journal import Journal
from post001.core.models import PostCreate, PostUpdate
from post001.core.offline import OfflineStore
from post001.core.remote import RemoteStore

PARAGRAPH = "A sentence a writer typed while the train was in the tunnel. " * 16  # ~1 KB


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def journal_writes(writes: int, folder: Path) -> dict[str, Any]:
    journal = Journal("http://bench.invalid", "alice", folder / "journal.db")
    raw = sqlite3.connect(folder / "raw.db", isolation_level=None)
    raw.execute("PRAGMA journal_mode = WAL")
    raw.execute("PRAGMA synchronous = FULL")
    raw.executescript(J._SCHEMA)
    insert = J._INSERT
    post_id = uuid.uuid4()
    ours: list[float] = []
    base: list[float] = []
    rounds = 20
    for r in range(rounds):
        for i in range(writes // rounds):
            payload = {"content": f"{PARAGRAPH}{r}.{i}"}
            started = time.perf_counter()
            journal.append("save", post_id, str(uuid.uuid4()), payload, base_version=i)
            ours.append((time.perf_counter() - started) * 1000)
            text = json.dumps(payload, separators=(",", ":"))
            started = time.perf_counter()
            raw.execute("BEGIN")
            raw.execute(insert, ("http://bench.invalid", "alice", "save", str(post_id),
                                 str(uuid.uuid4()), i, text, "2026-01-01T00:00:00+00:00"))
            raw.execute("COMMIT")
            base.append((time.perf_counter() - started) * 1000)
    journal.close()
    raw.close()
    return {"journal_p50_ms": round(pct(ours, 0.5), 3), "raw_p50_ms": round(pct(base, 0.5), 3),
            "journal_p95_ms": round(pct(ours, 0.95), 3), "raw_p95_ms": round(pct(base, 0.95), 3),
            "ratio_p50": round(pct(ours, 0.5) / pct(base, 0.5), 2), "target": "<= 2x"}


def online_saves(store: RemoteStore, saves: int) -> float:
    post = store.create_post(PostCreate(title="online", content=""))
    version = post.version
    started = time.perf_counter()
    for i in range(saves):
        version = store.save_draft(post.id, PostUpdate(content=f"{PARAGRAPH}{i}"),
                                   expected_version=version)
    return time.perf_counter() - started


def replayed_saves(store: OfflineStore, saves: int) -> float:
    post = store.create_post(PostCreate(title="replayed", content=""))
    journal = store.journal()
    for i in range(saves):
        journal.append("save", post.id, str(uuid.uuid4()), {"content": f"{PARAGRAPH}{i}"},
                       base_version=post.version + i)
    started = time.perf_counter()
    report = store.sync()
    elapsed = time.perf_counter() - started
    assert report.sent == saves and report.remaining == 0, report
    assert store.get_post(post.id).version == post.version + saves
    return elapsed


def replay(pg: str, saves: int, folder: Path) -> dict[str, Any]:
    # A scratch database with one writer and its token (bench_server's setup), served
    # by a real `post001 serve` with one worker.
    db = Database(pg, writers=1)
    process = None
    try:
        port = free_port()
        process = subprocess.Popen(
            [sys.executable, "-m", "post001.cli.main", "serve", "--port", str(port),
             "--db", db.url, "--workers", "1", "--log-level", "error"])
        base_url = f"http://127.0.0.1:{port}"
        wait_until_up(base_url, process, "/api/health")
        token = db.tokens[db.writers[0]]
        online = RemoteStore(base_url, token=token)
        offline = OfflineStore(base_url, token=token, journal_path=folder / "replay.db",
                               replay_every=None)
        offline.me()
        first = online_saves(online, saves)
        replayed = replayed_saves(offline, saves)
        second = online_saves(online, saves)
        online.close()
        offline.close()
    finally:
        if process is not None:
            stop(process)
        db.close()
    baseline = statistics.fmean([first, second])
    return {"saves": saves, "online_s": [round(first, 2), round(second, 2)],
            "replay_s": round(replayed, 2),
            "online_per_save_ms": round(baseline / saves * 1000, 2),
            "replay_per_save_ms": round(replayed / saves * 1000, 2),
            "ratio": round(replayed / baseline, 2), "target": "<= 1.5x"}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--pg", default=os.environ.get(
        "POST001_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--writes", type=int, default=2000)
    parser.add_argument("--saves", type=int, default=1000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        results = {"journal_write_vs_raw_insert": journal_writes(args.writes, folder),
                   "replay_vs_online": replay(args.pg, args.saves, folder)}
    if args.json:
        print(json.dumps(results, indent=2))
        return
    w, r = results["journal_write_vs_raw_insert"], results["replay_vs_online"]
    print(f"journal write vs raw INSERT+COMMIT (synchronous=FULL): p50 {w['journal_p50_ms']} "
          f"vs {w['raw_p50_ms']} ms: {w['ratio_p50']}x (target <= 2x)")
    print(f"replay of {r['saves']} journalled saves vs online: {r['replay_s']} s vs "
          f"{statistics.fmean(r['online_s']):.2f} s ({r['replay_per_save_ms']} vs "
          f"{r['online_per_save_ms']} ms a save): {r['ratio']}x (target <= 1.5x)")


if __name__ == "__main__":
    main()
