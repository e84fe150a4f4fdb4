"""Hostile input against a real uvicorn on PostgreSQL: every one is a 4xx JSON error
naming the field, never a 5xx (which the remote store would retry); metadata nested
too deep is refused before anything is written; republishing a live post writes
nothing; losing the database during sign-in is a 503 with Retry-After."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fault_proxy import fault_proxy
from remote_support import PASSWORD, ensure_user, live_server, make_test_app, sign_in

from post001.core.errors import ValidationError
from post001.core.remote import RemoteStore

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@dataclass
class Live:
    url: str
    client: httpx.Client
    admin: sa.Engine
    clock: Any

    def headers(self, username: str) -> dict[str, str]:
        ensure_user(self.admin, username, self.clock)
        return {"Authorization": f"Bearer {sign_in(self.client, self.url, username)}"}


@pytest.fixture
def live(pg_url: str, clock: Any, admin: sa.Engine) -> Iterator[Live]:
    app = make_test_app(pg_url, clock)
    with live_server(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        yield Live(url, client, admin, clock)


def _refused(response: httpx.Response, field: str) -> dict[str, Any]:
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    error = dict(response.json()["error"])
    assert error["field"] == field, error
    return error


def test_nul_in_a_query_or_a_path_is_a_422_naming_it(live: Live) -> None:
    headers = live.headers("alice")
    _refused(live.client.get("/api/v1/search", params={"q": "a\x00b"}, headers=headers), "q")
    _refused(live.client.get("/api/v1/collectives", params={"query": "\x00"},
                             headers=headers), "query")
    _refused(live.client.get("/api/v1/collectives/te%00ch", headers=headers), "path")
    _refused(live.client.get("/api/v1/collectives/te%00ch/feed", headers=headers), "path")
    # the connection survived each refusal: the same client goes on working
    assert live.client.get("/api/v1/me", headers=headers).status_code == 200


@pytest.mark.parametrize("value", ["NaN", "Infinity", '"\\ud800"', '{"k": ["\\udfff"]}',
                                   '"a\\u0000b"'])
def test_metadata_that_cannot_be_stored_is_a_422(live: Live, value: str) -> None:
    headers = {**live.headers("alice"), "Content-Type": "application/json"}
    body = f'{{"title": "T", "metadata": {{"x": {value}}}}}'
    response = live.client.post("/api/v1/posts", content=body.encode(), headers=headers)
    error = _refused(response, "metadata")
    assert response.status_code == 422 and error["category"] == "validation"
    with live.admin.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM posts")).scalar() == 0


def test_nul_in_a_sign_in_username_is_a_422(live: Live) -> None:
    response = live.client.post("/api/v1/auth/token",
                                json={"username": "ali\x00ce", "password": "whatever"})
    assert response.status_code == 422
    _refused(response, "username")


def test_metadata_500_deep_is_refused_and_nothing_is_committed(live: Live) -> None:
    headers = live.headers("alice")
    deep = "{}"
    for _ in range(500):
        deep = f'{{"a": {deep}}}'
    body = f'{{"title": "Deep", "metadata": {deep}}}'.encode()
    response = live.client.post("/api/v1/posts", content=body,
                                headers={**headers, "Content-Type": "application/json"})
    assert response.status_code == 422
    assert "32" in _refused(response, "metadata")["message"]
    created = live.client.post("/api/v1/posts", json={"title": "Fine"}, headers=headers)
    assert created.status_code == 201
    post = created.json()
    response = live.client.patch(f"/api/v1/posts/{post['id']}/draft", content=body,
                                 headers={**headers, "If-Match": '"1"',
                                          "Content-Type": "application/json"})
    assert response.status_code == 422
    with live.admin.connect() as conn:
        rows = conn.execute(sa.text("SELECT title, metadata, version FROM posts")).all()
    assert [(r.title, r.metadata, r.version) for r in rows] == [("Fine", {}, 1)]


def test_a_stored_row_nested_too_deep_still_reads(live: Live) -> None:
    """Rows written before the limit existed: the post reads, the JSON kept as text."""
    headers = live.headers("alice")
    post = live.client.post("/api/v1/posts", json={"title": "Old"}, headers=headers).json()
    deep: dict[str, Any] = {}
    node = deep
    for _ in range(300):
        node["a"] = {}
        node = node["a"]
    with live.admin.begin() as conn:
        conn.execute(sa.text("UPDATE posts SET metadata = CAST(:m AS jsonb) WHERE id = :id"),
                     {"m": json.dumps(deep), "id": post["id"]})
    response = live.client.get(f"/api/v1/posts/{post['id']}", headers=headers)
    assert response.status_code == 200, response.text
    kept = response.json()["metadata"]["post001_unreadable_metadata"]
    assert json.loads(kept) == deep


def test_the_remote_store_does_not_retry_a_refusal(live: Live) -> None:
    sent: list[str] = []
    client = httpx.Client(timeout=30, event_hooks={"request": [
        lambda request: sent.append(request.url.path)]})
    token = live.headers("alice")["Authorization"].split()[1]
    store = RemoteStore(live.url, token=token, client=client, sleep=lambda _s: None)
    try:
        with pytest.raises(ValidationError) as caught:
            store.search("a\x00b")
        assert caught.value.field == "q"
        assert sent.count("/api/v1/search") == 1
    finally:
        store.close()
        client.close()


def test_32_concurrent_republishes_change_nothing(live: Live) -> None:
    headers = live.headers("alice")
    post = live.client.post("/api/v1/posts", json={"title": "Out", "content": "Words."},
                            headers=headers).json()
    first = live.client.post(f"/api/v1/posts/{post['id']}/publish", headers=headers)
    assert first.status_code == 200 and first.json()["changed"] is True
    version = first.json()["post"]["version"]

    def again(i: int) -> httpx.Response:
        extra = {"Idempotency-Key": f"again-{i}"} if i % 2 else {}
        return live.client.post(f"/api/v1/posts/{post['id']}/publish",
                                headers={**headers, **extra})

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(again, range(32)))
    assert [a.status_code for a in answers] == [200] * 32
    assert all(a.json()["changed"] is False for a in answers)
    assert {a.json()["post"]["version"] for a in answers} == {version}
    with live.admin.connect() as conn:
        events = conn.execute(sa.text(
            "SELECT count(*) FROM audit_events WHERE action = 'post.published'")).scalar()
        stored = conn.execute(sa.text("SELECT version FROM posts")).scalar()
    assert (events, stored) == (1, version)


def test_losing_the_database_during_sign_in_is_a_503_with_retry_after(
        pg_url: str, clock: Any, admin: sa.Engine) -> None:
    from urllib.parse import urlsplit

    ensure_user(admin, "alice", clock)
    db = urlsplit(pg_url)
    with fault_proxy(f"http://{db.hostname}:{db.port or 5432}") as proxy:
        through = sa.engine.make_url(pg_url).set(host="127.0.0.1", port=proxy.port)
        app = make_test_app(through.render_as_string(hide_password=False), clock)
        with live_server(app) as url, httpx.Client(base_url=url, timeout=30) as client:
            assert client.post("/api/v1/auth/token", json={
                "username": "alice", "password": PASSWORD}).status_code == 201
            proxy.go_down()
            response = client.post("/api/v1/auth/token",
                                   json={"username": "alice", "password": PASSWORD})
            assert response.status_code == 503, response.text
            assert int(response.headers["Retry-After"]) >= 1
            assert response.json()["error"]["category"] == "database"
            token_check = client.get("/api/v1/me", headers={"Authorization": "Bearer p001_x"})
            assert token_check.status_code == 503
            assert "Retry-After" in token_check.headers
