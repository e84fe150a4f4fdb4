"""Two `post001 serve` processes on two ports, one PostgreSQL database: each due post
is published exactly once across both schedulers, and sign-in throttling counts
attempts made on either server."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from remote_support import cheap_password_hashing, ensure_user
from subprocess_support import post001_serve

from post001.core.clock import utcnow
from post001.core.models import CollectiveCreate, PostCreate
from post001.core.sql.store import open_sql_store

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@contextlib.contextmanager
def serve(pg_url: str, **env: str) -> Iterator[str]:
    """A real `post001 serve` process on a free loopback port, its scheduler running."""
    with post001_serve("--db", pg_url, env={
            **os.environ, "POST001_SCHEDULER_INTERVAL": "0.2",
            "POST001_SERVER_POOL_SIZE": "3", **env}) as served:
        yield served.url


def test_two_servers_publish_each_due_post_once(pg_url: str, admin: sa.Engine) -> None:
    store = open_sql_store(pg_url, "alice")
    try:
        store.create_collective(CollectiveCreate(slug="both", name="Both"))
        later = utcnow() + timedelta(hours=1)  # made due below, once both servers run
        ids = []
        for i in range(30):
            post = store.create_post(PostCreate(title=f"Due {i}", content="text",
                                                collectives=["both"], publish_at=later))
            assert store.publish(post.id).scheduled
            ids.append(str(post.id))
    finally:
        store.close()
    with serve(pg_url), serve(pg_url):
        # The hour passes in the database, for all 30 at once: both schedulers race.
        with admin.begin() as conn:
            conn.execute(sa.text("UPDATE posts SET publish_at = now() - interval '1 second' "
                                 "WHERE status = 'scheduled'"))
        deadline = time.monotonic() + 60
        while True:  # both schedulers run every 0.2 s; wait for the posts to go out
            with admin.connect() as conn:
                left = conn.execute(sa.text(
                    "SELECT count(*) FROM posts WHERE status = 'scheduled'")).scalar()
            if left == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    assert left == 0
    with admin.connect() as conn:
        events = dict(conn.execute(sa.text(
            "SELECT post_id::text, count(*) FROM audit_events "
            "WHERE action = 'post.published' GROUP BY post_id")).all())
        shares = conn.execute(sa.text(
            "SELECT count(*) FROM post_collectives WHERE status = 'published'")).scalar()
    assert events == dict.fromkeys(ids, 1)
    assert shares == 30


def test_sign_in_throttling_holds_across_two_servers(pg_url: str, clock: Any,
                                                     admin: sa.Engine) -> None:
    cheap_password_hashing()  # the hash records its parameters; both servers follow them
    ensure_user(admin, "alice", clock)
    limit = {"POST001_SERVER_LOGIN_ATTEMPTS_PER_MINUTE": "4"}
    with serve(pg_url, **limit) as one, serve(pg_url, **limit) as two:

        def attempt(i: int) -> int:
            base = (one, two)[i % 2]
            return httpx.post(f"{base}/api/v1/auth/token", timeout=30, json={
                "username": "alice", "password": f"wrong {i}"}).status_code

        # Twelve wrong passwords at once, six on each server: one shared count lets
        # at most the limit through to a password check (401), not four per server.
        with ThreadPoolExecutor(12) as pool:
            answers = list(pool.map(attempt, range(12)))
    # On a loaded machine some attempts find no free verification slot (503, not
    # counted); none of those is a password check either.
    assert answers.count(401) <= 4, answers
    assert answers.count(429) >= 1 and set(answers) <= {401, 429, 503}, answers
