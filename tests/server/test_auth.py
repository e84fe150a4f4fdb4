"""Authentication: no token, a wrong token, a revoked token, an expired session; what is
stored (hashes only); token listing and revocation; sign-in throttling."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from remote_support import PASSWORD

from post001.core.errors import PermissionDenied

pytestmark = pytest.mark.postgres


def _error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    return dict(body["error"])


def test_no_token(api: Any) -> None:
    error = _error(api.client.get("/api/v1/me"), 401)
    assert error["category"] == "permission" and "token" in error["message"]


def test_wrong_token_and_wrong_scheme(api: Any) -> None:
    api.token("alice")
    response = api.client.get("/api/v1/me", headers={"Authorization": "Bearer p001_nope"})
    assert _error(response, 401)["message"] == "The token is not valid."
    assert response.headers["WWW-Authenticate"] == "Bearer"
    response = api.client.get("/api/v1/me", headers={"Authorization": "Basic YWxpY2U6eA=="})
    assert _error(response, 401)["category"] == "permission"


def test_a_token_names_its_user(api: Any) -> None:
    response = api.client.get("/api/v1/me", headers=api.headers("alice"))
    assert response.status_code == 200 and response.json()["username"] == "alice"


def test_revoked_token(api: Any) -> None:
    headers = api.headers("alice")
    assert api.client.delete("/api/v1/auth/token", headers=headers).status_code == 204
    error = _error(api.client.get("/api/v1/me", headers=headers), 401)
    assert error["message"] == "This token was revoked; sign in again."


def test_expired_session(api: Any) -> None:
    headers = api.headers("alice")
    assert api.client.get("/api/v1/me", headers=headers).status_code == 200
    api.clock.advance(days=91)  # tokens from sign-in last 90 days by default
    error = _error(api.client.get("/api/v1/me", headers=headers), 401)
    assert error["message"] == "Your session has expired; sign in again."


def test_short_lived_token_on_request(api: Any) -> None:
    api.token("alice")
    response = api.client.post("/api/v1/auth/token", json={
        "username": "alice", "password": PASSWORD, "expires_in_days": 1})
    token = response.json()["token"]
    api.clock.advance(days=1, seconds=1)
    response = api.client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


def test_wrong_password_and_unknown_user_look_the_same(api: Any) -> None:
    api.token("alice")
    wrong = api.client.post("/api/v1/auth/token",
                            json={"username": "alice", "password": "not it"})
    unknown = api.client.post("/api/v1/auth/token",
                              json={"username": "nobody", "password": "not it"})
    assert _error(wrong, 401) == _error(unknown, 401)


def test_sign_in_is_throttled(api: Any) -> None:
    api.token("alice")
    for _ in range(api.ctx.server.login_attempts_per_minute):
        api.client.post("/api/v1/auth/token", json={"username": "alice", "password": "x"})
    response = api.client.post("/api/v1/auth/token",
                               json={"username": "alice", "password": PASSWORD})
    error = _error(response, 429)
    assert int(response.headers["Retry-After"]) >= 1 and "wait" in error["message"]


def test_only_hashes_are_stored(api: Any) -> None:
    token = api.token("alice")
    with api.admin.connect() as conn:
        hashes = [r[0] for r in conn.execute(sa.text("SELECT token_hash FROM api_tokens"))]
        passwords = [r[0] for r in conn.execute(sa.text(
            "SELECT password_hash FROM user_passwords"))]
    assert token not in hashes and all(len(h) == 64 for h in hashes)
    assert passwords and all(p.startswith("$argon2id$") for p in passwords)
    assert PASSWORD not in passwords


def test_tokens_are_listed_per_user_and_revocable_only_by_their_user(api: Any) -> None:
    alice = api.headers("alice")
    api.headers("alice")  # a second session
    bob = api.headers("bob")
    mine = api.client.get("/api/v1/auth/tokens", headers=alice).json()
    assert len(mine) == 2 and sum(t["current"] for t in mine) == 1
    assert all("token" not in t and "token_hash" not in t for t in mine)
    other = next(t for t in mine if not t["current"])
    # bob cannot revoke alice's token: it does not exist for him
    response = api.client.delete(f"/api/v1/auth/tokens/{other['id']}", headers=bob)
    assert _error(response, 404)["category"] == "not_found"
    assert len(api.client.get("/api/v1/auth/tokens", headers=bob).json()) == 1
    assert api.client.delete(f"/api/v1/auth/tokens/{other['id']}",
                             headers=alice).status_code == 204
    listed = {t["id"]: t for t in api.client.get("/api/v1/auth/tokens", headers=alice).json()}
    assert listed[other["id"]]["revoked_at"] is not None


def test_admin_revoke_by_user(api: Any) -> None:
    from post001.server import auth

    store = api.store("alice")
    assert store.me().username == "alice"
    assert auth.admin_revoke(api.admin, now=api.clock(), username="alice") == 1
    with pytest.raises(PermissionDenied) as caught:
        store.me()
    assert caught.value.message == "This token was revoked; sign in again."


def test_user_creation_through_the_api_is_off_by_default(pg_url: str, clock: Any,
                                                          admin: sa.Engine) -> None:
    from remote_support import asgi_client, ensure_user, make_test_app, sign_in

    app = make_test_app(pg_url, clock, allow_user_creation=False)
    with asgi_client(app) as client:
        ensure_user(admin, "alice", clock)
        headers = {"Authorization": f"Bearer {sign_in(client, '', 'alice')}"}
        response = client.post("/api/v1/users", json={"username": "mallory"}, headers=headers)
        assert _error(response, 403)["message"].startswith("Users are added by")
    app.state.ctx.close()
