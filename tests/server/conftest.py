"""Fixtures for the server tests: the app on a fresh PostgreSQL database, signed-in users."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from remote_support import (
    ASGI_BASE_URL,
    asgi_client,
    ensure_user,
    make_test_app,
    remote_store_factory,
    sign_in,
)


@pytest.fixture(params=[pytest.param("asgi", marks=pytest.mark.postgres),
                        pytest.param("live", marks=[pytest.mark.postgres, pytest.mark.slow])])
def open_store(request: pytest.FixtureRequest, pg_url: str, clock: Any
               ) -> Iterator[Callable[..., Any]]:
    """The contract suite's factory, on the remote store (in-process and real uvicorn)."""
    factory, cleanup = remote_store_factory(request.param, pg_url, clock)
    yield factory
    cleanup()


@pytest.fixture
def admin(pg_url: str) -> Iterator[sa.Engine]:
    """The database owner (bypasses RLS): for setting up and checking behind the API."""
    from post001.core.sql.engine import make_engine

    engine = make_engine(pg_url, pool_size=1, max_overflow=2)
    yield engine
    engine.dispose()


class Api:
    """The app in-process plus helpers to sign users in."""

    def __init__(self, app: Any, client: httpx.Client, admin: sa.Engine, clock: Any) -> None:
        self.app = app
        self.client = client
        self.admin = admin
        self.clock = clock

    @property
    def ctx(self) -> Any:
        return self.app.state.ctx

    def token(self, username: str) -> str:
        ensure_user(self.admin, username, self.clock)
        return sign_in(self.client, ASGI_BASE_URL, username)

    def headers(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(username)}"}

    def store(self, username: str) -> Any:
        from post001.core.remote import RemoteStore

        return RemoteStore(ASGI_BASE_URL, token=self.token(username), client=self.client,
                           sleep=lambda _s: None)


@pytest.fixture
def api(pg_url: str, clock: Any, admin: sa.Engine) -> Iterator[Api]:
    app = make_test_app(pg_url, clock)
    with asgi_client(app) as client:
        yield Api(app, client, admin, clock)
    app.state.ctx.close()
