"""Run the store contract (and the server tests) against the remote store.

`remote_store_factory("asgi", pg_url, clock)` drives the real app in-process through
httpx's ASGI transport (wrapped for the synchronous RemoteStore); "live" starts a real
uvicorn on a loopback port. Both sit on PostgreSQL with row-level security in force.
Users are created in the database with a password (as `post001 server user add` does)
and sign in through `POST /api/v1/auth/token`, like `post001 login`.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, Literal

import anyio.from_thread
import httpx
import sqlalchemy as sa

from post001.core.clock import Clock, as_utc
from post001.core.remote import RemoteStore
from post001.core.store import Store

PASSWORD = "correct horse battery staple"
ASGI_BASE_URL = "http://testserver"


class SyncASGITransport(httpx.BaseTransport):
    """httpx.ASGITransport for a synchronous client: the app runs on an event loop in a
    portal thread (sync endpoints then run in its thread pool, as under uvicorn)."""

    def __init__(self, app: Any, portal: anyio.from_thread.BlockingPortal) -> None:
        self._inner = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        self._portal = portal

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()

        async def run() -> tuple[int, list[tuple[bytes, bytes]], bytes]:
            inner = httpx.Request(request.method, request.url, headers=request.headers,
                                  content=body)
            response = await self._inner.handle_async_request(inner)
            content = b"".join([chunk async for chunk in response.stream])  # type: ignore[union-attr]
            return response.status_code, list(response.headers.raw), content

        status, headers, content = self._portal.call(run)
        return httpx.Response(status, headers=headers, content=content, request=request)


@contextlib.contextmanager
def asgi_client(app: Any) -> Iterator[httpx.Client]:
    """A synchronous httpx client whose requests go straight into `app`."""
    with anyio.from_thread.start_blocking_portal() as portal:
        client = httpx.Client(transport=SyncASGITransport(app, portal), base_url=ASGI_BASE_URL)
        try:
            yield client
        finally:
            client.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def live_server(app: Any) -> Iterator[str]:
    """A real uvicorn (HTTP over TCP, lifespan and scheduler included) on loopback, run
    with the options `post001 serve` uses (timeouts, header limits, no proxy headers)."""
    import uvicorn

    from post001.server.http import uvicorn_options

    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                            lifespan="on", access_log=False,
                            **uvicorn_options(getattr(getattr(app.state, "ctx", None),
                                                      "server", None)))
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)


def ensure_user(admin: sa.Engine, username: str, clock: Clock) -> None:
    """A user with PASSWORD, created in the database (what `server user add` does)."""
    from post001.server import auth

    with admin.connect() as conn:
        has_password = conn.execute(sa.text(
            "SELECT 1 FROM users u JOIN user_passwords p ON p.user_id = u.id "
            "WHERE u.username = :u"), {"u": username}).first()
    if not has_password:
        auth.add_user(admin, username, PASSWORD, now=as_utc(clock()))


def sign_in(client: httpx.Client, base_url: str, username: str) -> str:
    response = client.post(f"{base_url}/api/v1/auth/token",
                           json={"username": username, "password": PASSWORD,
                                 "name": "contract tests"})
    assert response.status_code == 201, response.text
    return str(response.json()["token"])


def cheap_password_hashing() -> None:
    """Tests sign in hundreds of times: argon2's cheapest profile instead of ~0.5 s each."""
    from argon2 import PasswordHasher
    from argon2.profiles import CHEAPEST

    from post001.server import auth

    auth.use_password_hasher(PasswordHasher.from_parameters(CHEAPEST))


def make_test_app(pg_url: str, clock: Clock, *, scheduler: bool = False,
                  settings: Any = None, **server: Any) -> Any:
    from post001.server import create_app
    from post001.server.config import ServerSettings

    cheap_password_hashing()
    options: dict[str, Any] = {"allow_user_creation": True, "trust_client_clock": True,
                               "pool_size": 5, **server}
    return create_app(settings, database_url=pg_url, server=ServerSettings(**options),
                      clock=clock, scheduler=scheduler, migrate=False)


def remote_store_factory(
    kind: Literal["asgi", "live"], pg_url: str, clock: Clock
) -> tuple[Callable[..., Store], Callable[[], None]]:
    """(factory(username) -> a RemoteStore signed in as that user, cleanup)."""
    from post001.core.sql.engine import make_engine

    stack = contextlib.ExitStack()
    admin = make_engine(pg_url, pool_size=1, max_overflow=2)
    stack.callback(admin.dispose)
    app = make_test_app(pg_url, clock, scheduler=kind == "live")
    if kind == "asgi":
        client = stack.enter_context(asgi_client(app))
        stack.callback(app.state.ctx.close)  # no lifespan runs on the ASGI transport
        base_url = ASGI_BASE_URL
    else:
        base_url = stack.enter_context(live_server(app))
        client = httpx.Client(timeout=30)
        stack.callback(client.close)
    opened: list[Store] = []

    def factory(username: str, **_: Any) -> Store:
        ensure_user(admin, username, clock)
        token = sign_in(client, base_url, username)
        store = RemoteStore(base_url, token=token, client=client, sleep=lambda _s: None)
        opened.append(store)
        return store

    def cleanup() -> None:
        for store in opened:
            store.close()
        stack.close()

    return factory, cleanup
