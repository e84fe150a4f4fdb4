"""HTTP semantics: object-level authorization, mass assignment, error bodies, ETag and
If-Match, idempotency, pagination, size limits, health and OpenAPI."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from pydantic import SecretStr

pytestmark = pytest.mark.postgres


def _error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}, body
    assert {"category", "message"} <= set(body["error"])
    return dict(body["error"])


@pytest.fixture
def two(api: Any) -> dict[str, Any]:
    """bob owns 'bobs' with a draft, a published private post (revisions, pending
    reviews...); alice belongs to nothing of bob's."""
    alice, bob = api.headers("alice"), api.headers("bob")
    c = api.client
    assert c.post("/api/v1/collectives", json={"slug": "bobs", "name": "Bob's"},
                  headers=bob).status_code == 201
    draft = c.post("/api/v1/posts", json={"title": "Secret", "content": "draft text",
                                          "collectives": ["bobs"]}, headers=bob).json()
    private = c.post("/api/v1/posts", json={"title": "Private", "content": "words",
                                            "is_public": False, "collectives": ["bobs"]},
                     headers=bob).json()
    assert c.post(f"/api/v1/posts/{private['id']}/publish", headers=bob).status_code == 200
    return {"alice": alice, "bob": bob, "draft": draft, "private": private}


# --- broken object-level authorization -----------------------------------------------------


def test_another_users_ids_get_404_not_their_data(api: Any, two: dict[str, Any]) -> None:
    c, alice = api.client, two["alice"]
    for post in (two["draft"], two["private"]):
        pid = post["id"]
        for method, path, body in [
            ("GET", f"/api/v1/posts/{pid}", None),
            ("GET", f"/api/v1/posts/{pid}/revisions", None),
            ("GET", f"/api/v1/posts/{pid}/preflight", None),
            ("POST", f"/api/v1/posts/{pid}/revisions/1/restore", None),
            ("POST", f"/api/v1/posts/{pid}/publish", None),
            ("POST", f"/api/v1/posts/{pid}/unpublish", None),
            ("POST", f"/api/v1/posts/{pid}/archive", None),
            ("PUT", f"/api/v1/posts/{pid}/collectives", {"collectives": []}),
            ("DELETE", f"/api/v1/posts/{pid}/collectives/bobs", None),
            ("POST", f"/api/v1/posts/{pid}/collectives/bobs/approve", None),
            ("POST", f"/api/v1/posts/{pid}/collectives/bobs/reject", {"reason": "no"}),
        ]:
            response = c.request(method, path, json=body, headers=alice)
            assert response.status_code == 404, (method, path, response.text)
            assert "Secret" not in response.text and "Private" not in response.text
        response = c.patch(f"/api/v1/posts/{pid}", json={"title": "pwned"},
                           headers={**alice, "If-Match": '"1"'})
        assert response.status_code == 404
    for method, path, body in [
        ("GET", "/api/v1/collectives/bobs", None),
        ("PATCH", "/api/v1/collectives/bobs", {"name": "Mine now"}),
        ("GET", "/api/v1/collectives/bobs/members", None),
        ("POST", "/api/v1/collectives/bobs/members", {"username": "alice", "role": "admin"}),
        ("PUT", "/api/v1/collectives/bobs/members/bob", {"role": "member"}),
        ("DELETE", "/api/v1/collectives/bobs/members/bob", None),
        ("GET", "/api/v1/collectives/bobs/feed", None),
        ("GET", "/api/v1/reviews?collective=bobs", None),
        ("GET", "/api/v1/audit?collective=bobs", None),
    ]:
        response = c.request(method, path, json=body, headers=alice)
        # Not a member: the same answer as for a collective that does not exist.
        missing = c.request(method, path.replace("bobs", "no-such-thing"), json=body,
                            headers=alice)
        assert response.status_code == missing.status_code == 404, (method, path)
    # Nothing changed behind the 404s.
    bob_view = c.get(f"/api/v1/posts/{two['draft']['id']}", headers=two["bob"]).json()
    assert bob_view["title"] == "Secret" and bob_view["version"] == 1
    members = c.get("/api/v1/collectives/bobs/members", headers=two["bob"]).json()
    assert [m["username"] for m in members] == ["bob"]
    assert c.get(f"/api/v1/audit?post_id={two['draft']['id']}", headers=alice).json() == []


def test_unknown_ids_and_malformed_ids(api: Any) -> None:
    headers = api.headers("alice")
    _error(api.client.get(f"/api/v1/posts/{uuid.uuid4()}", headers=headers), 404)
    error = _error(api.client.get("/api/v1/posts/not-a-uuid", headers=headers), 422)
    assert error["field"] == "post_id"


# --- mass assignment -----------------------------------------------------------------------


def test_a_client_made_id_is_taken_on_create_only(api: Any) -> None:
    """A client picks a new post's id (so a repeated create is recognised); it never
    renames a post."""
    c, headers = api.client, api.headers("alice")
    post_id = "00000000-0000-4000-8000-000000000002"
    made = c.post("/api/v1/posts", json={"title": "t", "id": post_id}, headers=headers)
    again = c.post("/api/v1/posts", json={"title": "t", "id": post_id}, headers=headers)
    assert made.status_code == again.status_code == 201
    assert made.json()["id"] == again.json()["id"] == post_id
    error = _error(c.patch(f"/api/v1/posts/{post_id}", json={"id": str(uuid.uuid4())},
                           headers={**headers, "If-Match": '"1"'}), 422)
    assert error["field"] == "id"
    keyed = [c.post("/api/v1/posts", json={"title": "k"},
                    headers={**headers, "Idempotency-Key": "draft-1"}).json()["id"]
             for _ in range(2)]
    assert keyed[0] == keyed[1]
    bob = c.post("/api/v1/posts", json={"title": "k"},
                 headers={**api.headers("bob"), "Idempotency-Key": "draft-1"}).json()
    assert bob["id"] != keyed[0]  # keys are per user
    listed = c.get("/api/v1/posts", headers=headers).json()
    assert sorted(p["title"] for p in listed["items"]) == ["k", "t"]


@pytest.mark.parametrize("field,value", [
    ("author_id", "00000000-0000-0000-0000-000000000001"),
    ("author", "bob"),
    ("status", "published"),
    ("version", 99),
    ("created_at", "2001-01-01T00:00:00Z"),
    ("published_at", "2001-01-01T00:00:00Z"),
    ("slug", "chosen-slug"),
])
def test_post_payloads_cannot_set_server_fields(api: Any, field: str, value: Any) -> None:
    c, headers = api.client, api.headers("alice")
    error = _error(c.post("/api/v1/posts", json={"title": "t", field: value}, headers=headers),
                   422)
    assert error["field"] == field and error["category"] == "validation"
    post = c.post("/api/v1/posts", json={"title": "t"}, headers=headers).json()
    error = _error(c.patch(f"/api/v1/posts/{post['id']}", json={field: value},
                           headers={**headers, "If-Match": '"1"'}), 422)
    assert error["field"] == field
    after = c.get(f"/api/v1/posts/{post['id']}", headers=headers).json()
    assert after["version"] == 1 and after["status"] == "draft" and after["author"] == "alice"


@pytest.mark.parametrize("path,body", [
    ("/api/v1/collectives", {"slug": "x", "name": "X", "owner_id": str(uuid.uuid4())}),
    ("/api/v1/collectives", {"slug": "x", "name": "X", "role": "owner"}),
    ("/api/v1/collectives", {"slug": "x", "name": "X", "member_count": 1000}),
    ("/api/v1/collectives", {"slug": "x", "name": "X", "created_at": "2001-01-01T00:00:00Z"}),
])
def test_collective_payloads_cannot_set_server_fields(api: Any, path: str,
                                                      body: dict[str, Any]) -> None:
    response = api.client.post(path, json=body, headers=api.headers("alice"))
    extra = next(k for k in body if k not in ("slug", "name"))
    assert _error(response, 422)["field"] == extra


def test_member_payloads_cannot_grant_more_than_the_rules(api: Any) -> None:
    c, alice = api.client, api.headers("alice")
    api.token("bob")
    c.post("/api/v1/collectives", json={"slug": "a", "name": "A"}, headers=alice)
    # "owner" through add-member is refused by the rules (one owner; transfer instead)
    error = _error(c.post("/api/v1/collectives/a/members",
                          json={"username": "bob", "role": "owner"}, headers=alice), 403)
    assert "owner" in error["message"]
    error = _error(c.post("/api/v1/collectives/a/members",
                          json={"username": "bob", "role": "member", "collective_id": "x"},
                          headers=alice), 422)
    assert error["field"] == "collective_id"
    bob_added = c.post("/api/v1/collectives/a/members", json={"username": "bob"}, headers=alice)
    assert bob_added.json()["role"] == "member"
    bob = api.headers("bob")
    error = _error(c.put("/api/v1/collectives/a/members/bob", json={"role": "admin"},
                         headers=bob), 403)
    assert error["category"] == "permission"


# --- errors, ETag/If-Match, idempotency ------------------------------------------------------


def test_error_bodies_for_malformed_input(api: Any) -> None:
    c, headers = api.client, api.headers("alice")
    error = _error(c.post("/api/v1/posts", content=b'{"title": ',
                          headers={**headers, "Content-Type": "application/json"}), 400)
    assert error["field"] == "body"
    error = _error(c.post("/api/v1/posts", json={"title": "x" * 201}, headers=headers), 422)
    assert error["field"] == "title" and "200" in error["message"] and "201" in error["message"]
    error = _error(c.post("/api/v1/posts", json={"thumbnail_url": "ftp://x"}, headers=headers),
                   422)
    assert error["field"] == "thumbnail_url"
    _error(c.get("/api/v1/nowhere", headers=headers), 404)
    _error(c.delete("/api/v1/me", headers=headers), 405)
    _error(c.post("/api/v1/posts", content=b"[]",
                  headers={**headers, "Content-Type": "application/json"}), 422)


def test_body_size_limit(api: Any) -> None:
    c, headers = api.client, api.headers("alice")
    limit = api.ctx.server.max_body_bytes
    error = _error(c.post("/api/v1/posts", content=b"x" * (limit + 1),
                          headers={**headers, "Content-Type": "application/json"}), 413)
    assert error["details"]["limit"] == limit

    def chunks() -> Any:
        for _ in range(limit // 65536 + 2):
            yield b"x" * 65536

    _error(c.post("/api/v1/posts", content=chunks(), headers=headers), 413)
    # Content just under the limits is fine (a 200,000-character post).
    response = c.post("/api/v1/posts", json={"content": "é" * 200_000}, headers=headers)
    assert response.status_code == 201


def test_etag_and_if_match(api: Any) -> None:
    c, headers = api.client, api.headers("alice")
    created = c.post("/api/v1/posts", json={"title": "t"}, headers=headers)
    assert created.headers["ETag"] == '"1"'
    pid = created.json()["id"]
    assert c.get(f"/api/v1/posts/{pid}", headers=headers).headers["ETag"] == '"1"'
    error = _error(c.patch(f"/api/v1/posts/{pid}", json={"title": "u"}, headers=headers), 428)
    assert "If-Match" in error["message"]
    ok = c.patch(f"/api/v1/posts/{pid}", json={"title": "u"},
                 headers={**headers, "If-Match": '"1"'})
    assert ok.status_code == 200 and ok.headers["ETag"] == '"2"'
    stale = c.patch(f"/api/v1/posts/{pid}", json={"title": "v"},
                    headers={**headers, "If-Match": '"1"'})
    error = _error(stale, 412)
    assert error["category"] == "conflict" and error["details"]["current_version"] == 2
    draft = c.patch(f"/api/v1/posts/{pid}/draft", json={"content": "w"},
                    headers={**headers, "If-Match": 'W/"2"'})
    assert draft.status_code == 200 and draft.json() == {"id": pid, "version": 3}
    # The route answers pre-serialized JSON (post001/server/routers/__init__.py,
    # json_response): the same body, type and ETag as the response model would give.
    assert draft.headers["ETag"] == '"3"'
    assert draft.headers["Content-Type"] == "application/json"
    _error(c.patch(f"/api/v1/posts/{pid}/draft", json={"content": "w"},
                   headers={**headers, "If-Match": '"2"'}), 412)
    _error(c.patch(f"/api/v1/posts/{pid}", json={"title": "v"},
                   headers={**headers, "If-Match": "yesterday"}), 400)
    assert c.get(f"/api/v1/posts/{pid}", headers=headers).json()["title"] == "u"


def test_publish_idempotency(api: Any) -> None:
    c, headers = api.client, api.headers("alice")
    c.post("/api/v1/collectives", json={"slug": "a", "name": "A"}, headers=headers)
    pid = c.post("/api/v1/posts", json={"title": "t", "content": "c", "collectives": ["a"]},
                 headers=headers).json()["id"]
    other = c.post("/api/v1/posts", json={"title": "o", "content": "c"},
                   headers=headers).json()["id"]
    key = {**headers, "Idempotency-Key": "publish-1"}
    first = c.post(f"/api/v1/posts/{pid}/publish", headers=key)
    again = c.post(f"/api/v1/posts/{pid}/publish", headers=key)
    assert first.status_code == again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    version = first.json()["post"]["version"]
    assert first.headers["ETag"] == again.headers["ETag"] == f'"{version}"'
    assert first.headers["Content-Type"] == "application/json"
    assert again.json()["post"] == first.json()["post"] and again.json()["replayed"]
    error = _error(c.post(f"/api/v1/posts/{other}/publish", headers=key), 422)
    assert error["field"] == "idempotency_key"
    # While a publish with a key is running, the same key gets 409 at once.
    principal_id = c.get("/api/v1/me", headers=headers).json()["id"]
    api.ctx.begin_publish(uuid.UUID(principal_id), "publish-2")
    try:
        error = _error(c.post(f"/api/v1/posts/{other}/publish",
                              headers={**headers, "Idempotency-Key": "publish-2"}), 409)
        assert "still running" in error["message"]
    finally:
        api.ctx.end_publish(uuid.UUID(principal_id), "publish-2")
    assert c.post(f"/api/v1/posts/{other}/publish",
                  headers={**headers, "Idempotency-Key": "publish-2"}).status_code == 200
    with api.admin.connect() as conn:
        events = conn.execute(sa.text(
            "SELECT count(*) FROM audit_events WHERE action = 'post.published' "
            "AND post_id = :p"), {"p": pid}).scalar()
    assert events == 1


def test_posts_are_paged_by_cursor_and_capped(api: Any) -> None:
    c, headers = api.client, api.headers("alice")
    ids = [c.post("/api/v1/posts", json={"title": f"p{i}"}, headers=headers).json()["id"]
           for i in range(5)]
    first = c.get("/api/v1/posts?limit=2", headers=headers).json()
    second = c.get("/api/v1/posts", params={"limit": 2, "cursor": first["next_cursor"]},
                   headers=headers).json()
    rest = c.get("/api/v1/posts", params={"limit": 2, "cursor": second["next_cursor"]},
                 headers=headers).json()
    assert len(first["items"]) == len(second["items"]) == 2 and len(rest["items"]) == 1
    assert rest["next_cursor"] is None
    listed = [p["id"] for p in first["items"] + second["items"] + rest["items"]]
    assert listed == ids[::-1]
    assert "content" not in first["items"][0]
    error = _error(c.get("/api/v1/posts?limit=201", headers=headers), 422)
    assert error["field"] == "limit" and "200" in error["message"]
    bad = _error(c.get("/api/v1/posts?cursor=junk", headers=headers), 422)
    assert bad["field"] == "cursor"
    assert len(api.store("alice").list_posts()) == 5


def test_delete_a_draft_over_the_api(api: Any) -> None:
    c, headers = api.client, api.headers("alice")
    pid = c.post("/api/v1/posts", json={"title": "gone"}, headers=headers).json()["id"]
    assert _error(c.delete(f"/api/v1/posts/{pid}", headers=api.headers("bob")), 404)
    assert c.delete(f"/api/v1/posts/{pid}", headers=headers).status_code == 204
    assert _error(c.delete(f"/api/v1/posts/{pid}", headers=headers), 404)
    assert c.get("/api/v1/posts", headers=headers).json()["items"] == []


def test_request_ids_reach_the_audit_trail(api: Any) -> None:
    c, headers = api.client, api.headers("alice")
    response = c.post("/api/v1/posts", json={"title": "t"},
                      headers={**headers, "X-Request-ID": "req-42"})
    assert response.headers["X-Request-ID"] == "req-42"
    events = c.get(f"/api/v1/audit?post_id={response.json()['id']}", headers=headers).json()
    assert {e["request_id"] for e in events} == {"req-42"}


# --- health and OpenAPI ------------------------------------------------------------------------


def test_health(api: Any) -> None:
    response = api.client.get("/api/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok" and response.json()["row_level_security"] is True


def test_post_creation_health(api: Any) -> None:
    c, headers = api.client, api.headers("alice")
    c.post("/api/v1/collectives", json={"slug": "a", "name": "A"}, headers=headers)
    c.post("/api/v1/collectives", json={"slug": "b", "name": "B"}, headers=headers)
    post = c.post("/api/v1/posts", json={"title": "t", "content": "c",
                                         "collectives": ["a", "b"]}, headers=headers).json()
    c.patch(f"/api/v1/posts/{post['id']}/draft", json={"content": "more"},
            headers={**headers, "If-Match": '"1"'})
    c.post(f"/api/v1/posts/{post['id']}/publish", headers=headers)
    # anonymous callers and users who are not the server's administrators: status only
    anonymous = c.get("/api/health/post-creation").json()
    assert set(anonymous) == {"status", "timestamp"} and anonymous["status"] == "healthy"
    assert set(c.get("/api/health/post-creation", headers=headers).json()) == {
        "status", "timestamp"}
    api.ctx.server = api.ctx.server.model_copy(
        update={"admin_users": "alice", "metrics_token": SecretStr("m" * 20)})
    body = c.get("/api/health/post-creation",
                 headers={"Authorization": "Bearer " + "m" * 20}).json()
    assert body["status"] == "healthy"
    assert body["components"] == {
        "database": "healthy", "post_collectives_table": "available",
        "collective_selection": "functional", "auto_save": "operational",
        "permission_validation": "active (API and row-level security)"}
    assert body["metrics"]["error_rate_percent"] == 0 and body["metrics"]["requests"] >= 5
    assert body["feature_flags"]["multi_collective_posts"] is True
    adoption = body["adoption"]
    assert adoption["posts_shared_to_2_or_more"] == 1
    assert adoption["average_collectives_per_post"] == 2.0
    assert adoption["auto_save_success_rate_percent"] == 100.0
    assert "top_collectives" not in adoption  # the metrics token: no collective names
    signed_in = c.get("/api/health/post-creation", headers=headers).json()["adoption"]
    assert {t["slug"] for t in signed_in["top_collectives"]} == {"a", "b"}
    assert "adoption" not in c.get("/api/health/post-creation",
                                   headers=api.headers("erin")).json()


def test_openapi_documents_every_route_and_error_shape(api: Any) -> None:
    spec = api.client.get("/openapi.json").json()
    paths = spec["paths"]
    for path in ("/api/v1/posts", "/api/v1/posts/{post_id}", "/api/v1/posts/{post_id}/publish",
                 "/api/v1/collectives/{slug}/members", "/api/v1/auth/token",
                 "/api/health/post-creation", "/api/v1/reviews", "/api/v1/audit",
                 "/api/v1/search"):
        assert path in paths
    publish = paths["/api/v1/posts/{post_id}/publish"]["post"]
    assert {"409", "422"} <= set(publish["responses"])
    assert "ErrorBody" in spec["components"]["schemas"]
    assert spec["components"]["securitySchemes"]["HTTPBearer"] == {
        "type": "http", "scheme": "bearer"}
    # The store and the principal are each one flat dependency (server/context.py):
    # a route that takes both still names the bearer scheme once.
    assert publish["security"] == [{"HTTPBearer": []}]
    assert paths["/api/v1/posts/{post_id}/draft"]["patch"]["security"] == [{"HTTPBearer": []}]


def test_dependency_overrides_apply_to_this_app_only(api: Any, pg_url: str) -> None:
    """Each app has its own copy of the API routes (post001/server/app.py `_bound_to`):
    `app.dependency_overrides` takes effect, as FastAPI documents, and only there."""
    import typing

    from fastapi import HTTPException
    from remote_support import asgi_client, make_test_app

    from post001.server.context import StoreDep

    def refuse() -> None:
        raise HTTPException(status_code=418, detail="overridden")

    headers = api.headers("alice")
    assert api.client.get("/api/v1/me", headers=headers).status_code == 200
    other = make_test_app(pg_url, api.clock)
    dependency = typing.get_args(StoreDep)[1].dependency
    other.dependency_overrides[dependency] = refuse
    with asgi_client(other) as client:
        assert client.get("/api/v1/me", headers=headers).status_code == 418
    other.state.ctx.close()
    assert api.client.get("/api/v1/me", headers=headers).status_code == 200
