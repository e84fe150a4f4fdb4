"""The scheduler really publishes due posts, once, even with several workers at once."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from remote_support import (
    PASSWORD,
    asgi_client,
    ensure_user,
    live_server,
    make_test_app,
    sign_in,
)

from post001.core.clock import utcnow
from post001.core.models import CollectiveCreate, PostCreate, PostStatus
from post001.core.sql.store import open_sql_store
from post001.server.scheduler import run_due

pytestmark = pytest.mark.postgres


def _schedule(pg_url: str, clock: Any, authors: list[str], per_author: int) -> list[Any]:
    ids = []
    for name in authors:
        store = open_sql_store(pg_url, name, clock=clock)
        try:
            store.create_collective(CollectiveCreate(slug=f"c-{name}", name=name))
            for i in range(per_author):
                post = store.create_post(PostCreate(
                    title=f"{name} {i}", content="text", collectives=[f"c-{name}"],
                    publish_at=clock() + timedelta(minutes=5)))
                assert store.publish(post.id).scheduled
                ids.append(post.id)
        finally:
            store.close()
    return ids


def test_several_workers_publish_each_due_post_once(pg_url: str, clock: Any,
                                                     admin: sa.Engine) -> None:
    ids = _schedule(pg_url, clock, ["alice", "bob", "carol"], per_author=8)
    workers = [make_test_app(pg_url, clock) for _ in range(4)]
    results: list[list[Any]] = [[] for _ in workers]
    barrier = threading.Barrier(len(workers))
    due = clock() + timedelta(minutes=6)

    def work(i: int) -> None:
        barrier.wait()
        results[i] = run_due(workers[i].state.ctx, due)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(workers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for app in workers:
        app.state.ctx.close()
    published = [pid for r in results for pid in r]
    assert sorted(published) == sorted(ids)  # every one, none twice
    with admin.connect() as conn:
        counts = dict(conn.execute(sa.text(
            "SELECT post_id, count(*) FROM audit_events WHERE action = 'post.published' "
            "GROUP BY post_id")).all())
        statuses = {r[0] for r in conn.execute(sa.text("SELECT DISTINCT status FROM posts"))}
        actors = {r[0] for r in conn.execute(sa.text(
            "SELECT DISTINCT u.username FROM audit_events a JOIN users u ON u.id = a.actor_id "
            "WHERE a.action = 'post.published'"))}
    assert counts == dict.fromkeys(ids, 1)
    assert statuses == {"published"}
    assert actors == {"alice", "bob", "carol"}  # each author, not "the scheduler"


def test_a_later_now_from_a_client_is_not_trusted_by_default(pg_url: str, clock: Any,
                                                            admin: sa.Engine) -> None:
    """Otherwise anyone could publish others' scheduled posts early."""
    ids = _schedule(pg_url, clock, ["alice"], per_author=1)
    ensure_user(admin, "alice", clock)  # the profile gets a password
    app = make_test_app(pg_url, clock, trust_client_clock=False)
    with asgi_client(app) as client:
        headers = {"Authorization": f"Bearer {sign_in(client, '', 'alice')}"}
        later = (clock() + timedelta(days=1)).isoformat()
        response = client.post("/api/v1/scheduler/run", json={"now": later}, headers=headers)
        assert response.status_code == 200 and response.json() == {"published": []}
        clock.advance(minutes=6)
        response = client.post("/api/v1/scheduler/run", headers=headers)
        assert response.json() == {"published": [str(ids[0])]}
    app.state.ctx.close()


@pytest.mark.slow
def test_the_server_publishes_due_posts_by_itself(pg_url: str, admin: sa.Engine) -> None:
    """A real uvicorn with its scheduler loop and the real clock: nobody asks."""
    from post001.core.config import Settings
    from post001.server import create_app
    from post001.server.config import ServerSettings

    ensure_user(admin, "alice", utcnow)
    app = create_app(Settings(scheduler_interval=0.2), database_url=pg_url,
                     server=ServerSettings(pool_size=3), migrate=False)
    with live_server(app) as base, httpx.Client(base_url=base) as client:
        token = client.post("/api/v1/auth/token",
                            json={"username": "alice", "password": PASSWORD}).json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        client.post("/api/v1/collectives", json={"slug": "a", "name": "A"}, headers=headers)
        publish_at = (utcnow() + timedelta(seconds=1)).isoformat()
        post = client.post("/api/v1/posts", json={"title": "Soon", "content": "c",
                                                  "collectives": ["a"],
                                                  "publish_at": publish_at},
                           headers=headers).json()
        result = client.post(f"/api/v1/posts/{post['id']}/publish", headers=headers).json()
        assert result["scheduled"] is True
        deadline = time.monotonic() + 10
        status = None
        while time.monotonic() < deadline:
            status = client.get(f"/api/v1/posts/{post['id']}", headers=headers).json()["status"]
            if status == PostStatus.PUBLISHED:
                break
            time.sleep(0.1)
        assert status == PostStatus.PUBLISHED
