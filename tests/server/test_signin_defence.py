"""Sign-in under attack, against real uvicorn servers on PostgreSQL: throttling counted
in the database (shared by two servers), per pair, per client and per username, with
back-off and no third-party lock-out; X-Forwarded-For believed only from configured
proxies; bounded argon2 verifications; token lifecycle (password change, expiry cap)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from remote_support import PASSWORD, ensure_user, live_server, make_test_app

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

TOKEN = "/api/v1/auth/token"


@contextlib.contextmanager
def serving(pg_url: str, clock: Any, **settings: Any) -> Iterator[tuple[Any, httpx.Client]]:
    app = make_test_app(pg_url, clock, **settings)
    with live_server(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        yield app, client


def _sign_in(client: httpx.Client, username: str, password: str,
             forwarded: str | None = None, **extra: Any) -> httpx.Response:
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    return client.post(TOKEN, json={"username": username, "password": password, **extra},
                       headers=headers)


def test_parallel_wrong_passwords_are_counted_before_checking(
        pg_url: str, clock: Any, admin: sa.Engine) -> None:
    ensure_user(admin, "alice", clock)
    with serving(pg_url, clock, login_attempts_per_minute=5) as (_, client):
        with ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(lambda _i: _sign_in(client, "alice", "wrong guess"),
                                    range(32)))
        codes = sorted(a.status_code for a in answers)
        # At most five passwords checked (the fifth failure sets the first wait); every
        # other attempt refused with Retry-After: 429, or 503 when a loaded machine kept
        # it waiting for a verification slot too long.
        assert codes.count(401) <= 5 and codes.count(429) >= 20, codes
        assert set(codes) <= {401, 429, 503}, codes
        refused = [a for a in answers if a.status_code != 401]
        assert all(int(a.headers["Retry-After"]) >= 1 for a in refused)


def test_back_off_doubles_and_ends(pg_url: str, clock: Any, admin: sa.Engine) -> None:
    ensure_user(admin, "alice", clock)
    with serving(pg_url, clock, login_attempts_per_minute=2) as (_, client):
        for _ in range(2):
            assert _sign_in(client, "alice", "nope").status_code == 401
        waits = []
        for i in range(4):
            if i:
                assert _sign_in(client, "alice", "nope").status_code == 401
            refused = _sign_in(client, "alice", "nope")
            assert refused.status_code == 429
            wait = int(refused.headers["Retry-After"])
            # refusals while waiting are not counted: the wait does not grow
            again = _sign_in(client, "alice", PASSWORD)
            assert again.status_code == 429 and int(again.headers["Retry-After"]) <= wait
            waits.append(wait)
            clock.advance(seconds=wait)
        assert waits == [1, 2, 4, 8]
        assert _sign_in(client, "alice", PASSWORD).status_code == 201


def test_throttling_is_shared_by_two_servers(pg_url: str, clock: Any,
                                             admin: sa.Engine) -> None:
    ensure_user(admin, "alice", clock)
    with serving(pg_url, clock, login_attempts_per_minute=3) as (_, one), \
            serving(pg_url, clock, login_attempts_per_minute=3) as (_, two):
        for client in (one, two, one):
            assert _sign_in(client, "alice", "nope").status_code == 401
        assert _sign_in(two, "alice", "nope").status_code == 429
        assert _sign_in(one, "alice", PASSWORD).status_code == 429


def test_forwarded_for_is_believed_only_from_a_trusted_proxy(
        pg_url: str, clock: Any, admin: sa.Engine) -> None:
    ensure_user(admin, "alice", clock)
    with serving(pg_url, clock, login_attempts_per_minute=3) as (_, client):
        # rotating the header from an untrusted peer does not reset the count
        for i in range(3):
            assert _sign_in(client, "alice", "x", f"203.0.113.{i}").status_code == 401
        assert _sign_in(client, "alice", "x", "203.0.113.99").status_code == 429
    with serving(pg_url, clock, login_attempts_per_minute=3,
                 trusted_proxies="127.0.0.1/32") as (_, client):
        # behind a trusted proxy each forwarded client has its own count
        for _ in range(3):
            assert _sign_in(client, "alice", "x", "198.51.100.7").status_code == 401
        assert _sign_in(client, "alice", "x", "198.51.100.7").status_code == 429
        assert _sign_in(client, "alice", PASSWORD, "198.51.100.8").status_code == 201
        # a client cannot prepend its own entry: the proxy's entry (rightmost) counts
        spoofed = _sign_in(client, "alice", PASSWORD, "10.9.9.9, 198.51.100.7")
        assert spoofed.status_code == 429


def test_password_spraying_is_throttled_per_client(pg_url: str, clock: Any,
                                                   admin: sa.Engine) -> None:
    for name in ("alice", "bob"):
        ensure_user(admin, name, clock)
    with serving(pg_url, clock, signin_client_failures=6,
                 trusted_proxies="127.0.0.1/32") as (_, client):
        for i in range(6):
            assert _sign_in(client, f"user{i}", "Spring2026!", "192.0.2.1").status_code == 401
        refused = _sign_in(client, "bob", "Spring2026!", "192.0.2.1")
        assert refused.status_code == 429 and "Retry-After" in refused.headers
        assert _sign_in(client, "alice", PASSWORD, "192.0.2.2").status_code == 201


def test_nobody_locks_a_user_out_of_a_client_they_used_before(
        pg_url: str, clock: Any, admin: sa.Engine) -> None:
    ensure_user(admin, "alice", clock)
    with serving(pg_url, clock, signin_user_failures=5, login_attempts_per_minute=50,
                 trusted_proxies="127.0.0.1/32") as (_, client):
        assert _sign_in(client, "alice", PASSWORD, "198.51.100.1").status_code == 201
        # many addresses guessing alice's password: past the per-username limit ...
        for i in range(5):
            assert _sign_in(client, "alice", "guess", f"203.0.113.{i}").status_code == 401
        assert _sign_in(client, "alice", "guess", "203.0.113.50").status_code == 429
        # ... a new client waits, but the one alice signed in from before does not
        assert _sign_in(client, "alice", PASSWORD, "203.0.113.60").status_code == 429
        assert _sign_in(client, "alice", PASSWORD, "198.51.100.1").status_code == 201


def test_the_table_is_bounded(pg_url: str, clock: Any, admin: sa.Engine) -> None:
    ensure_user(admin, "alice", clock)
    with serving(pg_url, clock, trusted_proxies="127.0.0.1/32") as (app, client):
        for i in range(5):
            _sign_in(client, f"nobody{i}", "x", f"203.0.113.{i}")
        with admin.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM signin_throttle")).scalar() > 0
        clock.advance(hours=1)
        app.state.ctx.signin.throttle.expire(app.state.ctx.now())
        with admin.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM signin_throttle")).scalar() == 0


def test_verifications_are_bounded_and_the_rest_get_503_with_retry_after(
        pg_url: str, clock: Any, admin: sa.Engine) -> None:
    ensure_user(admin, "alice", clock)
    # The default number of slots: two per worker (64 MiB of argon2 each) keeps a burst
    # on two workers within the 300 MiB the memory benchmark allows.
    with serving(pg_url, clock, verification_wait_seconds=0.2) as (app, client):
        gate = app.state.ctx.signin.gate
        # every slot taken (as by two slow argon2 checks): the flood is refused, not queued
        # without bound, and refusals do not count against the user
        with gate.slot(), gate.slot(), ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(lambda _i: _sign_in(client, "alice", PASSWORD),
                                    range(32)))
        # 503 (no slot) or, once the refused attempts outnumber the free failures they
        # reserve before giving them back, 429: never an unbounded queue
        codes = {a.status_code for a in answers}
        assert 503 in codes and codes <= {429, 503}, codes
        assert all(int(a.headers["Retry-After"]) >= 1 for a in answers)
        assert _sign_in(client, "alice", PASSWORD).status_code == 201


def test_sign_ins_waiting_for_a_slot_hold_no_request_thread(
        pg_url: str, clock: Any, admin: sa.Engine) -> None:
    """A burst of sign-ins queued for a password check slot waits on the event loop:
    other requests still get a thread (each sign-in used to wait in one, up to
    `verification_wait_seconds`, and saves waited behind them)."""
    ensure_user(admin, "alice", clock)
    generous = {"login_attempts_per_minute": 1000, "signin_client_failures": 1000,
                "signin_user_failures": 1000}
    with serving(pg_url, clock, verification_wait_seconds=120, **generous) as (app, client):
        gate = app.state.ctx.signin.gate
        threads = app.state.ctx.server.request_threads_in_use
        token = _sign_in(client, "alice", PASSWORD).json()["token"]
        me = {"Authorization": f"Bearer {token}"}
        burst = max(48, 2 * threads)  # more than anyio's default 40 threads, too
        with ThreadPoolExecutor(burst) as pool:
            with gate.slot(), gate.slot():  # two slow argon2 checks, as it were
                answers = [pool.submit(_sign_in, client, "alice", PASSWORD)
                           for _ in range(burst)]
                _until(lambda: gate.queued == burst)
                saved = client.post("/api/v1/posts", headers=me,
                                    json={"title": "Written during a sign-in storm"})
                assert saved.status_code == 201, saved.text
                assert client.get("/api/v1/me", headers=me).status_code == 200
                assert gate.queued == burst  # the storm was still waiting throughout
            codes = [a.result().status_code for a in answers]
        assert codes == [201] * burst, codes


def test_a_sign_in_cancelled_while_waiting_for_a_slot_gives_its_failure_back(
        pg_url: str, clock: Any, admin: sa.Engine) -> None:
    import anyio
    from starlette.requests import Request

    from post001.server.routers.auth import password_check

    app = make_test_app(pg_url, clock, verification_wait_seconds=120)
    request = Request({"type": "http", "method": "POST", "path": TOKEN, "headers": [],
                       "client": ("203.0.113.9", 40000)})

    async def cancelled_while_waiting() -> None:
        async with app.router.lifespan_context(app):
            ctx = app.state.ctx
            scope = anyio.CancelScope()

            async def attempt() -> None:
                with scope:
                    async with password_check(ctx, request, "alice"):
                        raise AssertionError("every slot was taken")

            with ctx.signin.gate.slot(), ctx.signin.gate.slot():
                async with anyio.create_task_group() as tasks:
                    tasks.start_soon(attempt)
                    while ctx.signin.gate.queued == 0:  # reserved, now waiting
                        await anyio.sleep(0)
                    scope.cancel()

    asyncio.run(cancelled_while_waiting())
    with admin.connect() as conn:
        counts = dict(conn.execute(sa.text("SELECT key, failures FROM signin_throttle")
                                   ).all())
    assert counts and set(counts.values()) == {0}, counts


def test_request_threads_follow_the_pool_and_the_slots(pg_url: str, clock: Any) -> None:
    """Threads beyond the pooled connections and the password check slots could only
    queue; the worker runs one per connection and per slot, plus two."""
    import anyio.to_thread

    async def threads(app: Any) -> float:
        async with app.router.lifespan_context(app):  # the app's start, as uvicorn's
            return anyio.to_thread.current_default_thread_limiter().total_tokens

    for options, expected in (({"pool_size": 3, "max_concurrent_verifications": 1}, 6),
                              ({"pool_size": 3, "pool_max_overflow": 4}, 11),
                              ({"request_threads": 7}, 7)):
        assert asyncio.run(threads(make_test_app(pg_url, clock, **options))) == expected


def _until(condition: Any) -> None:
    """Wait for a condition the server reaches on its own (a bound on a hang, not a pace)."""
    deadline = time.monotonic() + 60
    while not condition():
        assert time.monotonic() < deadline, "the condition was never met"
        time.sleep(0.01)


def test_a_password_change_revokes_every_other_token(pg_url: str, clock: Any,
                                                     admin: sa.Engine) -> None:
    ensure_user(admin, "alice", clock)
    with serving(pg_url, clock) as (_, client):
        tokens = [_sign_in(client, "alice", PASSWORD).json()["token"] for _ in range(3)]
        mine = {"Authorization": f"Bearer {tokens[0]}"}
        wrong = client.post("/api/v1/auth/password", headers=mine, json={
            "current_password": "not it", "new_password": "a new long password"})
        assert wrong.status_code == 403
        assert wrong.json()["error"]["field"] == "current_password"
        short = client.post("/api/v1/auth/password", headers=mine, json={
            "current_password": PASSWORD, "new_password": "short"})
        assert short.status_code == 422, short.text
        assert short.json()["error"]["field"] == "new_password"
        assert "new_password: use at least 8 characters" in short.json()["error"]["message"]
        changed = client.post("/api/v1/auth/password", headers=mine, json={
            "current_password": PASSWORD, "new_password": "a new long password"})
        assert changed.status_code == 200 and changed.json() == {"tokens_revoked": 2}
        assert client.get("/api/v1/me", headers=mine).status_code == 200
        for other in tokens[1:]:
            response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {other}"})
            assert response.status_code == 401
        assert _sign_in(client, "alice", PASSWORD).status_code == 401
        assert _sign_in(client, "alice", "a new long password").status_code == 201


def test_an_administrator_password_reset_revokes_all_tokens(
        pg_url: str, clock: Any, admin: sa.Engine) -> None:
    from post001.server import auth

    ensure_user(admin, "alice", clock)
    with serving(pg_url, clock) as (_, client):
        token = _sign_in(client, "alice", PASSWORD).json()["token"]
        assert auth.set_password(admin, "alice", "reset by the admin", now=clock()) == 1
        response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401


def test_the_server_caps_token_lifetimes(pg_url: str, clock: Any, admin: sa.Engine) -> None:
    from datetime import datetime, timedelta

    ensure_user(admin, "alice", clock)
    with serving(pg_url, clock, max_token_days=30) as (_, client):
        asked = _sign_in(client, "alice", PASSWORD, expires_in_days=3650)
        assert asked.status_code == 201
        expires = datetime.fromisoformat(asked.json()["expires_at"])
        assert expires - clock.now <= timedelta(days=30)
        token = asked.json()["token"]
        clock.advance(days=30, seconds=1)
        response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401
