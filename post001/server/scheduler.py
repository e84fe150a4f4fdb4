"""The scheduler inside the server: publishes due posts, at least every 5 seconds.

Every worker process runs one. They need no election: `SqlStore.publish_due` takes each
due post in its own transaction with `SELECT ... FOR UPDATE SKIP LOCKED` and re-checks
`status = 'scheduled'`, so a post another worker is publishing (locked) or has published
(no longer scheduled) is skipped: each due post is published exactly once
(tests/server/test_scheduler.py runs several schedulers at once to prove it).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import TYPE_CHECKING
from uuid import UUID

from starlette.concurrency import run_in_threadpool

from post001.core.clock import as_utc
from post001.core.sql.publish import due_posts
from post001.core.sql.store import SqlStore
from post001.server import metrics
from post001.server.db import SYSTEM_USER_ID

if TYPE_CHECKING:
    from post001.server.context import ServerContext

log = logging.getLogger("post001.server.scheduler")


def oldest_due_lag(ctx: ServerContext, now: datetime) -> float:
    """Seconds since the oldest still-scheduled post fell due (0: nothing is overdue)."""
    with ctx.system_engine.connect() as conn:
        due = due_posts(conn, now)
    oldest = min((row.publish_at for row in due), default=None)
    return 0.0 if oldest is None else (now - as_utc(oldest)).total_seconds()


def run_due(ctx: ServerContext, now: datetime | None = None) -> list[UUID]:
    """One pass, on the scheduler's connections (which may see every author's posts)."""
    lag = oldest_due_lag(ctx, as_utc(now) if now else ctx.now())
    store = SqlStore(ctx.system_engine, SYSTEM_USER_ID, settings=ctx.settings,
                     flags=ctx.flags, clock=ctx.clock, owns_engine=False)
    store.request_id = "scheduler"
    try:
        published = store.publish_due(now)
    finally:
        store.close()
    if published:
        log.info("scheduler published %d post(s): %s", len(published),
                 ", ".join(str(p) for p in published))
    metrics.scheduler_pass(ok=True, lag_seconds=lag, published=len(published))
    return published


async def scheduler_loop(ctx: ServerContext, interval: float) -> None:
    while True:
        try:
            await run_in_threadpool(run_due, ctx)
        except asyncio.CancelledError:
            raise
        except Exception:  # a database hiccup must not stop the schedule
            metrics.scheduler_pass(ok=False)
            log.exception("scheduler pass failed; retrying in %.1f s", interval)
        await asyncio.sleep(interval)
