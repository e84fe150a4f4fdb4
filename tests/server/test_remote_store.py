"""The remote store's transport behaviour, against httpx.MockTransport (no server)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from post001.core.errors import (
    ConflictError,
    NetworkError,
    NotFoundError,
    PermissionDenied,
    ValidationError,
)
from post001.core.models import PostUpdate
from post001.core.remote import RemoteStore, open_remote_store

NOW = "2026-01-05T09:00:00Z"
POST_ID = uuid.uuid4()


def _post(version: int = 2) -> dict[str, Any]:
    return {"id": str(POST_ID), "author": "alice", "title": "t", "subtitle": "", "byline": "",
            "content": "", "post_type": "text", "is_public": True, "seo_title": "",
            "meta_description": "", "thumbnail_url": None, "metadata": {}, "slug": "t",
            "status": "draft", "publish_at": None, "published_at": None, "created_at": NOW,
            "updated_at": NOW, "version": version}


def _store(handler: Callable[[httpx.Request], httpx.Response], **kwargs: Any
           ) -> tuple[RemoteStore, list[float]]:
    sleeps: list[float] = []
    store = RemoteStore("http://server.test", token="tok", transport=httpx.MockTransport(handler),
                        sleep=sleeps.append, **kwargs)
    return store, sleeps


def _drop(request: httpx.Request) -> httpx.Response:
    raise httpx.RemoteProtocolError("Server disconnected without sending a response.",
                                    request=request)


def test_a_dropped_connection_is_a_network_error() -> None:
    store, sleeps = _store(_drop)
    with pytest.raises(NetworkError) as caught:
        store.me()
    assert "http://server.test" in caught.value.message
    assert len(sleeps) == 3  # a read: retried 3 times before giving up


def test_refused_connection_and_timeouts_are_network_errors() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("Connection refused", request=request)

    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    for handler in (refuse, slow):
        store, _ = _store(handler, retries=0)
        with pytest.raises(NetworkError):
            store.list_posts()


def test_reads_retry_with_growing_jittered_backoff_then_succeed() -> None:
    calls: list[str] = []

    def flaky(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        if len(calls) < 3:
            return httpx.Response(503, json={"error": {"category": "database",
                                                       "message": "busy"}})
        return httpx.Response(200, json=_post())

    store, sleeps = _store(flaky, backoff=0.2)
    assert store.get_post(POST_ID).version == 2
    assert len(calls) == 3 and len(sleeps) == 2
    assert 0.1 <= sleeps[0] <= 0.2 and 0.2 <= sleeps[1] <= 0.4  # 0.2*2^n, half jittered


def test_retry_after_is_honoured() -> None:
    calls: list[int] = []

    def limited(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) == 1:
            return httpx.Response(429, headers={"Retry-After": "2"},
                                  json={"error": {"category": "permission", "message": "slow"}})
        return httpx.Response(200, json=_post())

    store, sleeps = _store(limited)
    store.get_post(POST_ID)
    assert sleeps == [2.0]


def test_unsafe_writes_are_not_retried() -> None:
    calls: list[httpx.Request] = []

    def drop(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return _drop(request)

    store, sleeps = _store(drop)
    with pytest.raises(NetworkError):
        store.add_member("c", "bob")
    with pytest.raises(NetworkError):
        store.set_collectives(POST_ID, ["c"])
    assert len(calls) == 2 and sleeps == []


def test_creates_and_saves_are_retried_under_the_same_identity() -> None:
    """A create carries a client-made id, a save its save id: every attempt the same, so
    the server can recognise a repeat of a write it applied."""
    calls: list[httpx.Request] = []

    def drop(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return _drop(request)

    store, sleeps = _store(drop)
    with pytest.raises(NetworkError):
        store.create_post()
    ids = {json.loads(r.content)["id"] for r in calls}
    assert len(calls) > 1 and len(ids) == 1 and len(sleeps) == len(calls) - 1
    calls.clear()
    with pytest.raises(NetworkError):
        store.save_draft(POST_ID, PostUpdate(content="x"), expected_version=2)
    keys = {r.headers["Idempotency-Key"] for r in calls}
    assert len(calls) > 1 and len(keys) == 1


def test_writes_with_if_match_or_an_idempotency_key_are_retried() -> None:
    seen: list[httpx.Request] = []

    def drop_then_answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if len(seen) % 2 == 1:
            return _drop(request)
        if request.url.path.endswith("/publish"):
            return httpx.Response(200, json={"post": _post(3), "scheduled": False,
                                             "outcomes": [], "replayed": True})
        return httpx.Response(200, json=_post(3))

    store, sleeps = _store(drop_then_answer)
    store.update_post(POST_ID, PostUpdate(title="x"), expected_version=2)
    assert seen[0].headers["If-Match"] == seen[1].headers["If-Match"] == '"2"'
    result = store.publish(POST_ID)
    keys = {r.headers["Idempotency-Key"] for r in seen[2:]}
    assert len(keys) == 1 and result.replayed  # the retry carried the same key
    assert len(sleeps) == 2


def test_errors_come_back_as_the_same_exceptions_and_messages() -> None:
    bodies = {
        "/api/v1/posts/1": (404, NotFoundError("No post 1.", field="post_id")),
        "/api/v1/collectives/x": (403, PermissionDenied("only the owner", collective="x")),
        "/api/v1/collectives": (422, ValidationError("slug: 'x' is already taken.",
                                                     field="slug")),
    }

    def answer(request: httpx.Request) -> httpx.Response:
        status, err = bodies[request.url.path]
        return httpx.Response(status, json={"error": err.to_dict()})

    store, _ = _store(answer)
    for path, (_, original) in bodies.items():
        with pytest.raises(type(original)) as caught:
            if path.endswith("/1"):
                store._request("GET", path)
            elif path.endswith("/x"):
                store.get_collective("x")
            else:
                store._request("POST", path, json={})
        assert caught.value.to_dict() == original.to_dict()


def test_a_stale_version_is_a_conflict_with_the_current_version() -> None:
    def stale(request: httpx.Request) -> httpx.Response:
        err = ConflictError("changed elsewhere", current_version=7)
        return httpx.Response(412, json={"error": err.to_dict()})

    store, _ = _store(stale, retries=0)
    with pytest.raises(ConflictError) as caught:
        store.save_draft(POST_ID, PostUpdate(content="x"), expected_version=3)
    assert caught.value.current_version == 7


def test_non_json_failures_still_map_to_post001_errors() -> None:
    def proxy_page(request: httpx.Request) -> httpx.Response:
        status = 401 if request.url.path.endswith("/me") else 502
        return httpx.Response(status, text="<html>bad gateway</html>")

    store, _ = _store(proxy_page, retries=0)
    with pytest.raises(PermissionDenied):
        store.me()
    with pytest.raises(NetworkError):
        store.list_posts()


def test_pages_are_followed_to_the_end() -> None:
    seen: list[dict[str, str]] = []

    def pages(request: httpx.Request) -> httpx.Response:
        params = dict(request.url.params)
        seen.append(params)
        offset = int(params["offset"])
        total = 450
        count = max(0, min(int(params["limit"]), total - offset))
        users = [{"id": str(uuid.uuid4()), "username": f"u{offset + i}", "created_at": NOW}
                 for i in range(count)]
        return httpx.Response(200, json=users)

    store, _ = _store(pages)
    assert len(store.list_users()) == 450
    assert [s["offset"] for s in seen] == ["0", "200", "400"]


def test_the_token_travels_as_a_bearer_header_and_requests_are_json() -> None:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"published": []})

    store, _ = _store(record)
    assert store.publish_due() == []
    assert seen[0].headers["Authorization"] == "Bearer tok"
    assert json.loads(seen[0].content or b"null") is None


def test_opening_without_any_token_says_how_to_sign_in(monkeypatch: pytest.MonkeyPatch) -> None:
    import keyring
    from keyring.backends import fail

    monkeypatch.setattr(keyring, "get_keyring", lambda: fail.Keyring())
    with pytest.raises(ValidationError) as caught:
        open_remote_store("http://server.test")
    assert any("post001 login http://server.test" in a for a in caught.value.actions)
    assert any("POST001_TOKEN" in a for a in caught.value.actions)


def test_connect_opens_a_remote_store_for_http_urls() -> None:
    import post001

    store = post001.connect("http://server.test:8000/", token="tok",
                            transport=httpx.MockTransport(lambda r: httpx.Response(200)))
    try:
        assert isinstance(store, RemoteStore) and store.is_remote
        assert store.location == "http://server.test:8000"
    finally:
        store.close()
