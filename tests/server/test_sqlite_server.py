"""The server also runs on SQLite (a one-person or trial setup, without RLS)."""

from __future__ import annotations

from typing import Any

from remote_support import ASGI_BASE_URL, PASSWORD, asgi_client, cheap_password_hashing

from post001.core.models import CollectiveCreate, PostCreate, PostStatus
from post001.core.remote import RemoteStore
from post001.server import auth, create_app


def test_sqlite_server_round_trip(sqlite_url: str, clock: Any) -> None:
    cheap_password_hashing()
    app = create_app(database_url=sqlite_url, scheduler=False, clock=clock)
    auth.add_user(app.state.ctx.engine, "alice", PASSWORD, now=clock())
    with asgi_client(app) as client:
        token = client.post("/api/v1/auth/token",
                            json={"username": "alice", "password": PASSWORD}).json()["token"]
        store = RemoteStore(ASGI_BASE_URL, token=token, client=client)
        store.create_collective(CollectiveCreate(slug="a", name="A"))
        post = store.create_post(PostCreate(title="Hello", content="words", collectives=["a"]))
        assert store.publish(post.id).post.status is PostStatus.PUBLISHED
        assert [p.id for p in store.search("words")] == [post.id]
        health = client.get("/api/health").json()
        assert health["status"] == "ok" and health["row_level_security"] is None
        assert client.delete("/api/v1/auth/token",
                             headers={"Authorization": f"Bearer {token}"}).status_code == 204
        assert client.get("/api/v1/me",
                          headers={"Authorization": f"Bearer {token}"}).status_code == 401
    app.state.ctx.close()
