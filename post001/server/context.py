"""What one server process shares between requests, and the per-request dependencies.

Each request gets its own `SqlStore` acting as the authenticated user, on the shared
engine: every permission rule runs in the store (and again in PostgreSQL's policies),
never in a route.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, TypeVar
from uuid import UUID

import sqlalchemy as sa
from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from post001.core.clock import Clock, as_utc
from post001.core.config import FeatureFlags, Settings
from post001.core.errors import ConflictError
from post001.core.sql.store import SqlStore
from post001.server import auth
from post001.server.config import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, ServerSettings
from post001.server.middleware import Metrics
from post001.server.throttle import SigninDefence

T = TypeVar("T")


@dataclass
class ServerContext:
    engine: sa.Engine
    system_engine: sa.Engine
    settings: Settings
    server: ServerSettings
    flags: FeatureFlags
    clock: Clock
    metrics: Metrics
    signin: SigninDefence
    owns_engines: bool = True
    rls: bool | None = None
    _inflight: set[tuple[UUID, str]] = field(default_factory=set)
    _inflight_lock: threading.Lock = field(default_factory=threading.Lock)

    def now(self) -> datetime:
        return as_utc(self.clock())

    def store_for(self, user_id: UUID, request_id: str | None = None) -> SqlStore:
        store = SqlStore(self.engine, user_id, settings=self.settings, flags=self.flags,
                         clock=self.clock, owns_engine=False)
        store.request_id = request_id
        return store

    def begin_publish(self, user_id: UUID, key: str) -> None:
        """Mark an idempotency key in flight; a second request with it gets 409 at once."""
        with self._inflight_lock:
            if (user_id, key) in self._inflight:
                raise ConflictError(
                    "A publish with this Idempotency-Key is still running; retry shortly "
                    "to get its result.", current_version=0,
                    details={"reason": "in_flight"})
            self._inflight.add((user_id, key))

    def end_publish(self, user_id: UUID, key: str) -> None:
        with self._inflight_lock:
            self._inflight.discard((user_id, key))

    def close(self) -> None:
        if self.owns_engines:
            self.engine.dispose()
            if self.system_engine is not self.engine:
                self.system_engine.dispose()


def get_ctx(request: Request) -> ServerContext:
    ctx: ServerContext = request.app.state.ctx
    return ctx


Ctx = Annotated[ServerContext, Depends(get_ctx)]

_bearer = HTTPBearer(auto_error=False, description="A token from POST /api/v1/auth/token")


def current_principal(
    request: Request,
    ctx: Ctx,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> auth.Principal:
    token = credentials.credentials if credentials is not None else None
    if token is None and "authorization" in request.headers:
        raise auth.AuthError("Send the token as `Authorization: Bearer <token>`.")
    principal = auth.authenticate(ctx.engine, token, ctx.now())
    request.state.principal = principal
    return principal


Principal = Annotated[auth.Principal, Depends(current_principal)]


def user_store(request: Request, ctx: Ctx, principal: Principal) -> Iterator[SqlStore]:
    store = ctx.store_for(principal.user_id, getattr(request.state, "request_id", None))
    try:
        yield store
    finally:
        store.close()


StoreDep = Annotated[SqlStore, Depends(user_store)]


@dataclass(frozen=True, slots=True)
class Page:
    offset: int
    limit: int

    @property
    def end(self) -> int:
        return self.offset + self.limit

    def cut(self, items: list[T]) -> list[T]:
        """This page of a list the store returned (asked for at most `end` items)."""
        return items[self.offset:self.end]


def page_params(
    offset: Annotated[int, Query(ge=0, le=100_000, description="Items to skip")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE,
                                description=f"Page size (at most {MAX_PAGE_SIZE})")
                     ] = DEFAULT_PAGE_SIZE,
) -> Page:
    return Page(offset=offset, limit=limit)


PageDep = Annotated[Page, Depends(page_params)]
