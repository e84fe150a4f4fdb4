"""Prometheus metrics for `GET /metrics` (prometheus-client).

Several uvicorn workers: prometheus-client's multiprocess mode. `post001 serve`
points PROMETHEUS_MULTIPROC_DIR at a fresh private folder before any worker starts
(or cleans the one the operator set); every worker then writes its samples to files
there, and whichever worker answers /metrics adds them all up. Gauges say how to add:
pool usage and the live-worker count are summed over live workers, the scheduler's
figures take the maximum; a worker that stops marks its files dead. With a single
process (tests, `--workers 1` without the variable) the values live in memory.

The metric objects are module-level (prometheus-client's model: one set per process);
the functions below are what the rest of the server calls, so callers never depend on
prometheus-client's API.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from sqlalchemy import event

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
#: Auto-save and edits (PATCH): what the save figures count.
SAVE_ROUTES = frozenset({"/api/v1/posts/{post_id}", "/api/v1/posts/{post_id}/draft"})
PUBLISH_ROUTE = "/api/v1/posts/{post_id}/publish"
UNMATCHED = "<unmatched>"  # never the raw path: a scanner must not create label values

REGISTRY = CollectorRegistry(auto_describe=True)

HTTP_REQUESTS = Counter(
    "post001_http_requests", "HTTP requests by method, route template and status.",
    ["method", "route", "status"], registry=REGISTRY)
HTTP_LATENCY = Histogram(
    "post001_http_request_duration_seconds",
    "Time to answer an HTTP request, by method, route template and status.",
    ["method", "route", "status"], registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))
SAVES = Counter(
    "post001_saves", "Saves through the API (auto-save and edits) by result: succeeded, "
    "conflict (stale version), refused (invalid or not allowed), failed (server error).",
    ["result"], registry=REGISTRY)
PUBLISHES = Counter(
    "post001_publishes", "Publish requests by result: published, scheduled, replayed "
    "(idempotent retry), unchanged (already out), refused, failed.", ["result"], registry=REGISTRY)
PUBLISH_SHARES = Counter(
    "post001_publish_shares", "Shares as publishes left them, by share status.",
    ["status"], registry=REGISTRY)
SIGNIN_FAILURES = Counter(
    "post001_signin_failures", "Sign-ins refused for a wrong username or password.",
    registry=REGISTRY)
SIGNIN_THROTTLED = Counter(
    "post001_signin_throttled", "Sign-ins refused because of too many recent failures.",
    registry=REGISTRY)
DB_ERRORS = Counter(
    "post001_db_errors", "Database errors by kind: connection (cannot connect, or a "
    "connection dropped) or statement.", ["kind"], registry=REGISTRY)
DB_POOL_IN_USE = Gauge(
    "post001_db_pool_connections_in_use", "Database connections checked out, by pool.",
    ["pool"], registry=REGISTRY, multiprocess_mode="livesum")
DB_POOL_CAPACITY = Gauge(
    "post001_db_pool_connections_max", "The most connections each pool may open "
    "(size + overflow), by pool.", ["pool"], registry=REGISTRY, multiprocess_mode="livesum")
SCHEDULER_LAG = Gauge(
    "post001_scheduler_lag_seconds", "How overdue the oldest scheduled post still "
    "waiting to be published was at the scheduler's last pass (0: none).",
    registry=REGISTRY, multiprocess_mode="livemax")
SCHEDULER_LAST_RUN = Gauge(
    "post001_scheduler_last_run_timestamp_seconds", "When a scheduler pass last "
    "completed (Unix time).", registry=REGISTRY, multiprocess_mode="livemax")
SCHEDULER_RUNS = Counter(
    "post001_scheduler_runs", "Scheduler passes by result (ok, failed).", ["result"],
    registry=REGISTRY)
SCHEDULER_PUBLISHED = Counter(
    "post001_scheduler_published_posts", "Scheduled posts the scheduler published.",
    registry=REGISTRY)
WORKERS = Gauge(
    "post001_workers", "Server worker processes alive.", registry=REGISTRY,
    multiprocess_mode="livesum")
HEAP_FROZEN = Gauge(
    "post001_heap_frozen_objects", "Objects made at start-up that the garbage "
    "collector's passes skip (gc.freeze in `post001 serve`; 0: none).", registry=REGISTRY,
    multiprocess_mode="livesum")


# --- what the server calls ------------------------------------------------------------


def signin_failed() -> None:
    SIGNIN_FAILURES.inc()


def signin_throttled() -> None:
    SIGNIN_THROTTLED.inc()


def _save_result(status: int) -> str:
    if status < 400:
        return "succeeded"
    if status in (409, 412):
        return "conflict"
    return "refused" if status < 500 else "failed"


def request_done(method: str, route: str | None, status: int, seconds: float) -> None:
    """One answered HTTP request (called by the middleware for every request)."""
    label = route or UNMATCHED
    code = str(status)
    HTTP_REQUESTS.labels(method, label, code).inc()
    HTTP_LATENCY.labels(method, label, code).observe(seconds)
    if method == "PATCH" and label in SAVE_ROUTES:
        SAVES.labels(_save_result(status)).inc()
    elif method == "POST" and label == PUBLISH_ROUTE and status >= 400:
        PUBLISHES.labels("refused" if status < 500 else "failed").inc()


def publish_succeeded(result: Any) -> None:
    """A PublishResult the API returned: its outcome and each share's status."""
    if getattr(result, "replayed", False):
        PUBLISHES.labels("replayed").inc()
        return
    if not getattr(result, "changed", True):
        PUBLISHES.labels("unchanged").inc()
        return
    PUBLISHES.labels("scheduled" if result.scheduled else "published").inc()
    if not result.scheduled:
        for outcome in result.outcomes:
            PUBLISH_SHARES.labels(str(getattr(outcome.status, "value", outcome.status))).inc()


def scheduler_pass(*, ok: bool, lag_seconds: float = 0.0, published: int = 0) -> None:
    SCHEDULER_RUNS.labels("ok" if ok else "failed").inc()
    if ok:
        SCHEDULER_LAG.set(max(0.0, lag_seconds))
        SCHEDULER_LAST_RUN.set(time.time())
        SCHEDULER_PUBLISHED.inc(published)


def watch_engine(engine: sa.Engine, pool: str) -> None:
    """Count this engine's pool usage and its database errors."""
    if getattr(engine, "_post001_metrics", False):
        return
    engine._post001_metrics = True  # type: ignore[attr-defined]
    pool_obj = engine.pool
    size = getattr(pool_obj, "size", None)
    overflow = getattr(pool_obj, "_max_overflow", 0)
    if callable(size):
        DB_POOL_CAPACITY.labels(pool).inc(int(size()) + max(0, int(overflow)))
    in_use = DB_POOL_IN_USE.labels(pool)

    @event.listens_for(engine, "checkout")
    def _checkout(*_: Any) -> None:
        in_use.inc()

    @event.listens_for(engine, "checkin")
    def _checkin(*_: Any) -> None:
        in_use.dec()

    @event.listens_for(engine, "handle_error")
    def _error(context: Any) -> None:
        connection = context.is_disconnect or context.connection is None
        DB_ERRORS.labels("connection" if connection else "statement").inc()


def forget_engine(engine: sa.Engine, pool: str) -> None:
    """The engine is disposed: its capacity no longer counts."""
    if not getattr(engine, "_post001_metrics", False):
        return
    size = getattr(engine.pool, "size", None)
    if callable(size):
        overflow = max(0, int(getattr(engine.pool, "_max_overflow", 0)))
        DB_POOL_CAPACITY.labels(pool).dec(int(size()) + overflow)


def worker_started() -> None:
    WORKERS.inc()


def heap_frozen(objects: int) -> None:
    HEAP_FROZEN.set(objects)


def worker_stopped() -> None:
    WORKERS.dec()
    directory = os.environ.get(MULTIPROC_ENV)
    if directory:
        multiprocess.mark_process_dead(os.getpid(), directory)  # type: ignore[no-untyped-call]


# --- exposition ---------------------------------------------------------------------------


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


def exposition() -> tuple[bytes, str]:
    """(body, content type) of the Prometheus text format, every worker included."""
    if multiprocess_dir():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def prepare_multiprocess_dir() -> tuple[str, bool]:
    """Before workers start (in `post001 serve`'s process): the folder the workers share,
    emptied of an earlier run's files. Returns (folder, whether we made it)."""
    given = os.environ.get(MULTIPROC_ENV)
    if given:
        folder = Path(given)
        folder.mkdir(parents=True, exist_ok=True)
        for leftover in _sample_files(folder):
            leftover.unlink()
        return str(folder), False
    made = tempfile.mkdtemp(prefix="post001-metrics-")
    os.environ[MULTIPROC_ENV] = made
    return made, True


def remove_multiprocess_dir(folder: str) -> None:
    shutil.rmtree(folder, ignore_errors=True)


def _sample_files(folder: Path) -> Iterable[Path]:
    for kind in ("counter", "gauge", "histogram", "summary"):
        yield from folder.glob(f"{kind}_*.db")
