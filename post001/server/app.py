"""The composition root of the server: settings in, a FastAPI app out.

Nothing here runs at import time. `create_app()` builds the engines (the database is
migrated first unless `migrate=False`), and the lifespan starts the scheduler. Tests and
`post001 serve` build the app the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import gc
import logging
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import sqlalchemy as sa
from anyio import to_thread
from fastapi import FastAPI
from fastapi.routing import APIRoute, request_response

from post001.core.clock import Clock, utcnow
from post001.core.config import FeatureFlags, Settings, default_database_url
from post001.core.logs import configure_logging
from post001.core.sql.schema import ensure_schema
from post001.server import errors, metrics
from post001.server.auth import VerifyGate
from post001.server.config import ServerSettings
from post001.server.context import ServerContext
from post001.server.db import admin_engine, check_rls, server_engine
from post001.server.middleware import GuardMiddleware, Metrics
from post001.server.routers import activity, auth, collectives, health, me, posts
from post001.server.routers import metrics as metrics_route
from post001.server.scheduler import scheduler_loop
from post001.server.throttle import Limits, SigninDefence, SigninThrottle, parse_networks

log = logging.getLogger("post001.server")

#: Connections of each worker's scheduler (and the health page's figures).
SCHEDULER_POOL_SIZE = 2


def create_app(
    settings: Settings | None = None,
    *,
    database_url: str | None = None,
    server: ServerSettings | None = None,
    engine: sa.Engine | None = None,
    system_engine: sa.Engine | None = None,
    flags: FeatureFlags | None = None,
    clock: Clock | None = None,
    scheduler: bool = True,
    migrate: bool = True,
    freeze_heap: bool = False,
) -> FastAPI:
    """The post001 API.

    `database_url` (else `settings.database_url`, else the local SQLite default) names
    the database; pass `engine` (and `system_engine` for the scheduler) to share engines,
    e.g. in tests. `scheduler=False` leaves publishing due posts to
    `POST /api/v1/scheduler/run`. `freeze_heap=True` (what `post001 serve` passes; the
    process is then the server's alone) takes everything alive once the app has started
    out of the garbage collector's passes, see `_frozen_heap`.
    """
    settings = settings or Settings()
    server = server or ServerSettings()
    url = database_url or settings.database_url or default_database_url()
    if engine is None and migrate:
        admin = admin_engine(url)
        try:
            ensure_schema(admin)
        finally:
            admin.dispose()
    owns = engine is None
    if engine is None:
        engine = server_engine(url, app_role=server.app_role, pool_size=server.pool_size,
                               max_overflow=server.pool_max_overflow,
                               pool_timeout=server.pool_timeout,
                               prepared_statements=server.prepared_statements)
    if system_engine is None:
        system_engine = (
            server_engine(url, app_role=server.app_role, pool_size=SCHEDULER_POOL_SIZE,
                          max_overflow=0, prepared_statements=server.prepared_statements)
            if engine.dialect.name == "postgresql" else engine
        )
    ctx = ServerContext(
        engine=engine,
        system_engine=system_engine,
        settings=settings,
        server=server,
        flags=flags or FeatureFlags(),
        clock=clock or utcnow,
        metrics=Metrics(),
        signin=signin_defence(engine, server),
        owns_engines=owns,
    )
    ctx.rls = check_rls(engine)
    metrics.watch_engine(engine, "app")
    if system_engine is not engine:
        metrics.watch_engine(system_engine, "scheduler")

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        task = None
        # anyio's default of 40 threads let 30 requests queue inside threads for the 10
        # pooled connections, contending for the pool's lock and the GIL (docs/server.md).
        to_thread.current_default_thread_limiter().total_tokens = (
            server.request_threads_in_use)
        metrics.worker_started()
        if scheduler:
            task = asyncio.create_task(scheduler_loop(ctx, settings.scheduler_interval))
        try:
            with _frozen_heap() if freeze_heap else contextlib.nullcontext():
                yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if ctx.owns_engines:
                metrics.forget_engine(engine, "app")
                if system_engine is not engine:
                    metrics.forget_engine(system_engine, "scheduler")
            ctx.close()
            metrics.worker_stopped()

    app = FastAPI(
        title="post001",
        version="0.1.0",
        description="Write one post, publish it to many collectives.",
        lifespan=lifespan,
    )
    app.state.ctx = ctx
    errors.install(app)
    for module in (me, collectives, posts, activity, auth, health, metrics_route):
        # The routes themselves rather than `include_router`: FastAPI matches an included
        # router's routes through per-request wrappers (twice over for the router it
        # picks), which was about a fifth of an auto-save's CPU in a profile of
        # benchmarks/bench_server.py's requests. Each route already carries its
        # router's prefix, tags and error responses (post001/server/routers/__init__.py).
        for route in module.router.routes:
            if isinstance(route, APIRoute):
                route = _bound_to(route, app)
            app.router.routes.append(route)
    app.add_middleware(GuardMiddleware, max_body_bytes=server.max_body_bytes,
                       metrics=ctx.metrics, max_header_count=server.max_header_count,
                       max_header_bytes=server.max_header_bytes)
    return app


@contextlib.contextmanager
def _frozen_heap() -> Iterator[None]:
    """The collector's full passes walked every object the imports and the app's start
    had made (FastAPI, SQLAlchemy, pydantic: some 120,000): under load each one
    stopped the worker, its event loop and request threads alike, for 80-100 ms, which
    is what a request's p95 sees. Frozen, those objects are left out of every pass; only
    what requests create is collected. Unfrozen on shutdown, for a process that goes on
    (tests start and stop many apps in one process)."""
    gc.collect()  # the start's own garbage is not kept forever
    gc.freeze()
    metrics.heap_frozen(gc.get_freeze_count())  # what an operator can check it by
    try:
        yield
    finally:
        gc.unfreeze()
        metrics.heap_frozen(0)


def _bound_to(route: APIRoute, app: FastAPI) -> APIRoute:
    """This app's own copy of a module-level route. FastAPI fixes a route's dependency
    overrides provider into its request handler when it builds it, so the copy's
    handler is built again once the provider is this app: `app.dependency_overrides`
    then applies, and two apps in one process do not share routes."""
    bound = copy.copy(route)
    bound.dependency_overrides_provider = app
    if getattr(route, "max_body_size", None) is None:  # no body limit wrapper to redo
        bound.app = request_response(bound.get_route_handler())
    return bound


def signin_defence(engine: sa.Engine, server: ServerSettings) -> SigninDefence:
    limits = Limits(pair=server.login_attempts_per_minute,
                    client=server.signin_client_failures, user=server.signin_user_failures,
                    window=timedelta(seconds=server.signin_window_seconds),
                    backoff_max_seconds=server.signin_backoff_max_seconds)
    return SigninDefence(
        throttle=SigninThrottle(engine, limits),
        gate=VerifyGate(server.max_concurrent_verifications,
                        server.verification_wait_seconds),
        trusted_proxies=parse_networks(server.trusted_proxies))


def create_app_from_env() -> FastAPI:
    """For `uvicorn --factory` (several workers): everything from POST001_* variables."""
    configure_logging(default_level="INFO")
    return create_app(migrate=False, freeze_heap=True)


