"""Lost responses are harmless: a real uvicorn on PostgreSQL behind a loopback proxy that
drops every other response after the server applied the request (and, separately, resets
connections and delays). Target: 0 duplicates, 0 orphans, 0 false conflicts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import httpx
import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from fault_proxy import every_other, fault_proxy
from remote_support import ensure_user, live_server, make_test_app, sign_in

from post001 import ConflictError, PostCreate, PostUpdate
from post001.cli.main import cli
from post001.core.remote import RemoteStore

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

POSTS = 40
SAVES_PER_POST = 3


@pytest.fixture
def served(pg_url: str, clock: Any, admin: sa.Engine) -> Iterator[tuple[str, str]]:
    """(the server's own URL, alice's token)."""
    app = make_test_app(pg_url, clock)
    with live_server(app) as url, httpx.Client(timeout=30) as client:
        ensure_user(admin, "alice", clock)
        yield url, sign_in(client, url, "alice")
    app.state.ctx.close()


def _posts(admin: sa.Engine) -> list[Any]:
    with admin.connect() as conn:
        return list(conn.execute(sa.text(
            "SELECT id, title, content, version, status FROM posts ORDER BY title")))


def test_every_other_response_dropped_no_duplicates_orphans_or_false_conflicts(
        served: tuple[str, str], admin: sa.Engine) -> None:
    url, token = served
    with fault_proxy(url) as proxy:
        proxy.drop = every_other
        store = RemoteStore(proxy.url, token=token, retries=3, sleep=lambda _s: None)
        made: dict[UUID, str] = {}
        conflicts = 0
        for i in range(POSTS):
            try:
                post = store.create_post(PostCreate(title=f"post {i:03d}", content="0"))
            except ConflictError:
                conflicts += 1
                continue
            made[post.id] = post.title
            version = post.version
            for j in range(1, SAVES_PER_POST + 1):
                try:
                    version = store.save_draft(post.id, PostUpdate(content=str(j)),
                                               expected_version=version)
                except ConflictError:
                    conflicts += 1
        store.close()
        writes = POSTS * (1 + SAVES_PER_POST)
        assert proxy.stats.dropped >= writes // 2 - 1  # the faults really happened
    rows = _posts(admin)
    titles = [r.title for r in rows]
    assert conflicts == 0
    assert len(titles) == len(set(titles)) == POSTS  # no duplicates
    assert {r.id for r in rows} == set(made)  # no orphans: every post is one we know
    assert all(r.content == str(SAVES_PER_POST) for r in rows)
    assert all(r.version == 1 + SAVES_PER_POST for r in rows)  # each save applied once


def test_without_a_save_id_a_retried_save_meets_itself(served: tuple[str, str]) -> None:
    """The failure the save ids prevent, shown on the raw API: repeating an applied save
    without its key is a 412 against the writer's own text; with the key, the version
    it made."""
    url, token = served
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, headers=headers, timeout=30) as c:
        post = c.post("/api/v1/posts", json={"title": "t"}).json()
        path = f"/api/v1/posts/{post['id']}/draft"
        for _ in range(2):
            keyed = c.patch(path, json={"content": "a"},
                            headers={"If-Match": '"1"', "Idempotency-Key": "save-1"})
            assert keyed.status_code == 200 and keyed.json()["version"] == 2
        bare = [c.patch(path, json={"content": "b"}, headers={"If-Match": '"2"'})
                for _ in range(2)]
        assert [r.status_code for r in bare] == [200, 412]


def test_resets_and_delays_lose_nothing(served: tuple[str, str], admin: sa.Engine) -> None:
    url, token = served
    with fault_proxy(url) as proxy:
        proxy.reset_requests = lambda n: n % 3 == 0  # never reaches the server
        proxy.delay = 0.005
        store = RemoteStore(proxy.url, token=token, retries=3, sleep=lambda _s: None)
        post = store.create_post(PostCreate(title="steady"))
        version = post.version
        for j in range(12):
            version = store.save_draft(post.id, PostUpdate(content=f"v{j}"),
                                       expected_version=version)
        store.close()
        assert proxy.stats.reset >= 4
    rows = _posts(admin)
    assert [(r.title, r.content, r.version) for r in rows] == [("steady", "v11", 13)]


def test_post_new_through_the_cli_behind_the_proxy(served: tuple[str, str],
                                                   admin: sa.Engine) -> None:
    """`post001 post new` (and `--publish`) exit 0 exactly when the post exists, once."""
    url, token = served
    runs = 12
    with fault_proxy(url) as proxy:
        proxy.drop = every_other
        results = []
        for i in range(runs):
            args = ["post", "new", "--title", f"cli {i:02d}", "--file", "-", "--server",
                    proxy.url, "--json"]
            if i % 2:
                args.append("--publish")
            results.append(CliRunner().invoke(cli, args, input=f"Body {i}\n",
                                              env={"POST001_TOKEN": token}))
        assert proxy.stats.dropped >= runs // 2
    assert [r.exit_code for r in results] == [0] * runs, [r.output for r in results]
    ids = {json.loads(r.stdout).get("id") or json.loads(r.stdout)["post"]["id"]
           for r in results}
    rows = _posts(admin)
    assert sorted(r.title for r in rows) == [f"cli {i:02d}" for i in range(runs)]
    assert {str(r.id) for r in rows} == ids
    assert [r.status for r in rows].count("published") == runs // 2
    with admin.connect() as conn:
        published = conn.execute(sa.text(
            "SELECT count(*) FROM audit_events WHERE action = 'post.published'")).scalar()
    assert published == runs // 2  # each publish applied once
