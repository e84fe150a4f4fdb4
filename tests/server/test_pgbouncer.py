"""The server, unchanged, behind PgBouncer in transaction pooling mode.

Server connections are shared by every client transaction, so nothing may live in a
database session: the role, the user and the scheduler's system flag are set per
transaction (post001/core/sql/engine.py, act_as), and psycopg's prepared statements are
off (PgBouncer 1.18 cannot route them): the server sees the pooler's port differ from
the one PostgreSQL listens on (POST001_SERVER_PREPARED_STATEMENTS=auto)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import sqlalchemy as sa
from pgbouncer_support import pgbouncer
from remote_support import ensure_user, live_server, make_test_app, sign_in

from post001.server.scheduler import run_due

pytestmark = pytest.mark.postgres


@pytest.fixture
def bounced_url(pg_url: str, tmp_path: Path) -> Iterator[str]:
    with pgbouncer(pg_url, tmp_path / "pgbouncer", pool_size=3) as url:
        yield url


def _libpq(url: str) -> str:
    return sa.engine.make_url(url).set(drivername="postgresql").render_as_string(
        hide_password=False)


def test_two_users_interleaved_through_the_pooler_see_only_their_own_drafts(
        bounced_url: str, clock: Any, admin: sa.Engine) -> None:
    # More app connections (6) than PgBouncer has server connections (3): alice's and
    # bob's transactions keep landing on server connections the other just used.
    app = make_test_app(bounced_url, clock, pool_size=6)
    assert app.state.ctx.rls is True  # checked through the pooler, as the app role
    users = ("alice", "bob")
    for user in users:
        ensure_user(admin, user, clock)
    requests = Counter[str]()
    problems: list[str] = []
    lock = threading.Lock()
    mine: dict[str, set[str]] = {u: set() for u in users}
    with live_server(app) as base:
        with httpx.Client(base_url=base, timeout=60) as client:
            tokens = {u: sign_in(client, base, u) for u in users}
        barrier = threading.Barrier(4)

        def work(user: str, lane: int) -> None:
            try:
                lane_work(user, lane)
            except Exception as exc:  # reported by the assertion below
                with lock:
                    problems.append(f"{user} {lane}: {exc!r}")

        def lane_work(user: str, lane: int) -> None:
            headers = {"Authorization": f"Bearer {tokens[user]}"}
            with httpx.Client(base_url=base, timeout=60, headers=headers) as client:
                post = client.post("/api/v1/posts", json={"title": f"{user} {lane}"}).json()
                with lock:
                    mine[user].add(post["id"])
                version = post["version"]
                barrier.wait()
                for i in range(249):
                    if i % 3 == 0:
                        r = client.patch(f"/api/v1/posts/{post['id']}/draft",
                                         json={"content": f"{user} {lane} {i}"},
                                         headers={"If-Match": f'"{version}"'})
                        if r.status_code == 200:
                            version = r.json()["version"]
                    elif i % 3 == 1:
                        r = client.get("/api/v1/posts", params={"status": "draft"})
                        if r.status_code == 200:
                            with lock:
                                seen = {p["id"] for p in r.json()["items"]}
                                foreign = seen - mine[user]
                                if foreign:
                                    problems.append(f"{user} listed {sorted(foreign)}")
                    else:
                        r = client.get("/api/v1/me")
                        if r.status_code == 200 and r.json()["username"] != user:
                            problems.append(f"{user} was told they are {r.json()}")
                    with lock:
                        requests[f"{r.status_code}"] += 1
                        if r.status_code != 200:
                            problems.append(f"{user}: {r.status_code} {r.text[:200]}")

        threads = [threading.Thread(target=work, args=(u, lane))
                   for u in users for lane in (1, 2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    app.state.ctx.close()
    assert problems == []
    assert sum(requests.values()) + 4 == 1000  # 4 creates, 996 interleaved requests
    # Each user's drafts, read through the pooler one last time, are exactly their own.
    with admin.connect() as conn:
        authors = dict(conn.execute(sa.text(
            "SELECT p.id::text, u.username FROM posts p JOIN users u ON u.id = p.author_id"
        )).all())
    for user in users:
        assert {pid for pid, author in authors.items() if author == user} == mine[user]


def test_prepared_statements_stay_off_through_the_pooler(bounced_url: str, clock: Any
                                                        ) -> None:
    app = make_test_app(bounced_url, clock)
    try:
        for engine in (app.state.ctx.engine, app.state.ctx.system_engine):
            with engine.connect() as conn:
                assert conn.connection.driver_connection.prepare_threshold is None
    finally:
        app.state.ctx.close()


def test_nothing_the_server_sets_outlives_its_transaction(pg_url: str, tmp_path: Path,
                                                          clock: Any, admin: sa.Engine
                                                          ) -> None:
    """PgBouncer with ONE server connection: the app's requests, sign-in and the
    scheduler all ran on it; afterwards it is back to the login role with no user and
    no system flag."""
    from uuid import UUID

    from remote_support import asgi_client

    ensure_user(admin, "alice", clock)
    with pgbouncer(pg_url, tmp_path / "pgbouncer", pool_size=1) as bounced_url:
        app = make_test_app(bounced_url, clock, pool_size=4)
        with asgi_client(app) as client:
            token = sign_in(client, "http://testserver", "alice")
            headers = {"Authorization": f"Bearer {token}"}
            assert client.post("/api/v1/collectives", json={"slug": "c", "name": "C"},
                               headers=headers).status_code == 201
            post = client.post("/api/v1/posts", headers=headers, json={
                "title": "Later", "content": "text", "collectives": ["c"],
                "publish_at": (clock() + timedelta(minutes=5)).isoformat()}).json()
            response = client.post(f"/api/v1/posts/{post['id']}/publish", headers=headers)
            assert response.json()["scheduled"] is True
            # The scheduler's system flag travels through the pooler too.
            assert run_due(app.state.ctx, clock() + timedelta(minutes=6)) == [
                UUID(post["id"])]
            assert client.get(f"/api/v1/posts/{post['id']}", headers=headers).json()[
                "status"] == "published"
        app.state.ctx.close()
        with psycopg.connect(_libpq(bounced_url), prepare_threshold=None) as conn:
            row = conn.execute(
                "SELECT current_user, current_setting('role'), "
                "coalesce(current_setting('post001.user_id', true), ''), "
                "coalesce(current_setting('post001.system', true), '')").fetchone()
    login = sa.engine.make_url(pg_url).username or "postgres"
    assert row == (login, "none", "", "")


def test_a_local_store_pages_through_the_pooler_and_leaves_nothing_behind(
        pg_url: str, tmp_path: Path, clock: Any) -> None:
    """The local store's listing page is one script (BEGIN READ ONLY, the user, the page,
    COMMIT) with the driver in autocommit: through PgBouncer with ONE server
    connection, two writers' pages interleave, each sees only their own drafts, and the
    connection ends with no user set."""
    from post001.core.models import PostCreate
    from post001.core.sql.engine import make_engine
    from post001.core.sql.store import open_sql_store

    with pgbouncer(pg_url, tmp_path / "pgbouncer", pool_size=1) as bounced_url:
        # Prepared statements off, as the server's engine has them (PgBouncer 1.18).
        engine = make_engine(bounced_url, connect_args={"prepare_threshold": None})
        alice = open_sql_store(bounced_url, "alice", clock=clock, engine=engine)
        bob = open_sql_store(bounced_url, "bob", clock=clock, engine=engine)
        mine = {alice.create_post(PostCreate(title="a", content="x")).id}
        theirs = {bob.create_post(PostCreate(title="b", content="y")).id}
        for _ in range(20):
            assert {p.id for p in alice.posts_page(10).items} == mine
            assert {p.id for p in bob.posts_page(10).items} == theirs
        engine.dispose()
        with psycopg.connect(_libpq(bounced_url), prepare_threshold=None) as conn:
            row = conn.execute(
                "SELECT coalesce(current_setting('post001.user_id', true), '')").fetchone()
    assert row == ("",)
