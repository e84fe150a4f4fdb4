"""What one server process shares between requests, and the per-request dependencies.

Each request gets its own `SqlStore` acting as the authenticated user, on the shared
engine: every permission rule runs in the store (and again in PostgreSQL's policies),
never in a route.

One transaction, one worker thread per request. Route bodies stay plain `def` (the
store is synchronous SQLAlchemy), but FastAPI would run each sync dependency, the body
and the response validation in separate thread-pool hops, and the token lookup would
need its own transaction. Instead every API route is an `OneTransactionRoute`: its
dependencies are `async` and do no I/O (`StoreDep` and `Principal`, each one flat
dependency, hand over placeholders), and the route runs its body in ONE thread-pool
call that opens the request's transaction with the token lookup as its first statement
(which also sets the role and the user, transaction-locally), gives the body a store
that continues that transaction, and commits or rolls back before the thread is
returned. A connection is never held by a request that is waiting for a thread (a
bounded pool could otherwise deadlock against a busy thread pool). Async route bodies
keep FastAPI's usual path.
"""

from __future__ import annotations

import functools
import inspect
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, TypeVar
from uuid import UUID

import sqlalchemy as sa
from fastapi import Depends, Query, Request
from fastapi.routing import APIRoute
from fastapi.security import HTTPBearer
from sqlalchemy import exc as sa_exc
from starlette.concurrency import run_in_threadpool

from post001.core.clock import Clock, as_utc
from post001.core.config import FeatureFlags, Settings
from post001.core.errors import ConflictError, DatabaseError
from post001.core.sql.engine import open_transaction
from post001.core.sql.store import SqlStore
from post001.server import auth
from post001.server.config import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, ServerSettings
from post001.server.middleware import Metrics
from post001.server.throttle import SigninDefence

T = TypeVar("T")
log = logging.getLogger("post001.server")


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


async def get_ctx(request: Request) -> ServerContext:
    ctx: ServerContext = request.app.state.ctx
    return ctx


Ctx = Annotated[ServerContext, Depends(get_ctx)]

class RequestSession:
    """One signed-in request: its transaction, its user, its store (see the module's
    docstring). Opened and closed by `OneTransactionRoute` in the route's thread."""

    def __init__(self, ctx: ServerContext, request: Request, token: str | None) -> None:
        self.ctx = ctx
        self.request = request
        self.token = token
        self.principal: auth.Principal | None = None
        self._conn: sa.Connection | None = None
        self._store: SqlStore | None = None

    def open(self) -> None:
        """The transaction, with the token checked (AuthError otherwise) and the user
        set by its first statement."""
        now = self.ctx.now()
        try:
            self._conn, principal = open_transaction(
                self.ctx.engine, None, lambda conn: auth.authenticate_in(conn, self.token, now))
        except sa_exc.TimeoutError as err:  # every pooled connection stayed busy
            raise DatabaseError("The server is busy (no free database connection); "
                                "try again shortly.") from err
        except sa_exc.SQLAlchemyError as err:
            # Logged with its traceback (scrubbed: post001/core/logs.py) for the operator;
            # the client gets 503 and retries.
            log.warning("the database failed while checking a token", exc_info=True)
            raise DatabaseError(f"The database is unavailable: "
                                f"{str(getattr(err, 'orig', err))[:200]}") from err
        self.principal = principal
        self.request.state.principal = principal

    @property
    def store(self) -> SqlStore:
        if self._store is None:
            assert self.principal is not None, "open() first"
            self._store = self.ctx.store_for(self.principal.user_id,
                                             getattr(self.request.state, "request_id", None))
            if self._conn is not None:
                # The store's first use case continues (and ends) this transaction.
                self._store.adopt(self._conn)
                self._conn = None
        return self._store

    def close(self, ok: bool) -> None:
        """Commit what no store took over (the token's last use) or roll it back."""
        conn, self._conn = self._conn, None
        try:
            if conn is not None:
                with conn:
                    if ok:
                        conn.commit()
        finally:
            if self._store is not None:
                self._store.close()


@dataclass(frozen=True, slots=True)
class _Pending:
    """What `StoreDep` and `Principal` resolve to until the route's thread opens the
    session; `OneTransactionRoute` swaps each for the real object."""

    session: RequestSession
    kind: str

    def resolve(self) -> Any:
        return self.session.store if self.kind == "store" else self.session.principal


class _BearerSession(HTTPBearer):
    """The bearer scheme (the same one in the OpenAPI document: its name is pinned to
    `HTTPBearer`) as ONE flat dependency that hands over the request's placeholder.

    FastAPI solves a route's dependency tree on every request; the store used to sit
    three levels deep (store -> session -> bearer), which cost as much as the rest of
    the framework on the save and publish routes. Both `StoreDep` and `Principal` are
    instances of this class, so they share the request's one `RequestSession` through
    the ASGI scope rather than through FastAPI's dependency cache."""

    def __init__(self, kind: str) -> None:
        super().__init__(scheme_name="HTTPBearer", auto_error=False,
                         description="A token from POST /api/v1/auth/token")
        self.kind = kind

    async def __call__(self, request: Request) -> Any:  # type: ignore[override]
        scope = request.scope
        session = scope.get(_SESSION_KEY)
        if session is None:
            credentials = await super().__call__(request)
            token = credentials.credentials if credentials is not None else None
            if token is None and "authorization" in request.headers:
                raise auth.AuthError("Send the token as `Authorization: Bearer <token>`.")
            session = scope[_SESSION_KEY] = RequestSession(request.app.state.ctx, request,
                                                           token)
        return _Pending(session, self.kind)


_SESSION_KEY = "post001.session"

Principal = Annotated[auth.Principal, Depends(_BearerSession("principal"))]
StoreDep = Annotated[SqlStore, Depends(_BearerSession("store"))]


def _run_in_session(endpoint: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
    pending = [v for v in kwargs.values() if isinstance(v, _Pending)]
    if not pending:
        return endpoint(**kwargs)
    session = pending[0].session
    session.open()
    if not any(p.kind == "store" for p in pending):
        # The body does its own transactions (token administration): the sign-in
        # check commits first, or its row lock on the token would block them.
        session.close(ok=True)
    ok = False
    try:
        result = endpoint(**{k: v.resolve() if isinstance(v, _Pending) else v
                             for k, v in kwargs.items()})
        ok = True
        return result
    finally:
        session.close(ok)


async def checked_principal(principal: auth.Principal) -> auth.Principal:
    """The signed-in user, for an async route body: there `Principal` is still the
    placeholder, and checking its token takes a thread-pool call of its own."""
    if not isinstance(principal, _Pending):
        return principal
    checked: auth.Principal = await run_in_threadpool(
        _run_in_session, lambda principal: principal, {"principal": principal})
    return checked


class OneTransactionRoute(APIRoute):
    """An API route whose sync body runs in one thread-pool call, in the request's
    one transaction (see the module's docstring)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if not inspect.iscoroutinefunction(endpoint):
            sync_endpoint = endpoint

            @functools.wraps(sync_endpoint)
            async def run(**values: Any) -> Any:
                return await run_in_threadpool(_run_in_session, sync_endpoint, values)

            endpoint = run
        super().__init__(path, endpoint, **kwargs)


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


async def page_params(
    offset: Annotated[int, Query(ge=0, le=100_000, description="Items to skip")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE,
                                description=f"Page size (at most {MAX_PAGE_SIZE})")
                     ] = DEFAULT_PAGE_SIZE,
) -> Page:
    return Page(offset=offset, limit=limit)


PageDep = Annotated[Page, Depends(page_params)]
