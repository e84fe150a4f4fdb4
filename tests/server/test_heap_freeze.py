"""`post001 serve` keeps what start-up made out of the collector's passes (app.py,
`_frozen_heap`) and says so in /metrics, and an app built for embedding or tests leaves
the process's collector as it found it."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import httpx
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from post001.server import create_app, metrics


def frozen_gauge(text: str) -> float:
    """`post001_heap_frozen_objects` in a Prometheus text exposition."""
    for family in text_string_to_metric_families(text):
        if family.name == "post001_heap_frozen_objects":
            return sum(sample.value for sample in family.samples)
    raise AssertionError("/metrics has no post001_heap_frozen_objects")


def freeze_counts_through_lifespan(app: FastAPI) -> tuple[int, int]:
    """(objects frozen while the app runs, objects frozen after it stopped)."""
    gc.unfreeze()  # whatever an earlier test in this process froze (only costs speed)

    async def run() -> int:
        async with app.router.lifespan_context(app):
            # /metrics reports the count at the freeze; frozen objects can only be
            # freed since, never added.
            count = gc.get_freeze_count()
            assert frozen_gauge(metrics.exposition()[0].decode()) >= count
            return count

    during = asyncio.run(run())  # the lifespan's shutdown closes the app's engines
    assert frozen_gauge(metrics.exposition()[0].decode()) == 0
    return during, gc.get_freeze_count()


def test_serving_freezes_the_started_heap_and_thaws_it_on_shutdown(sqlite_url: str) -> None:
    app = create_app(database_url=sqlite_url, scheduler=False, freeze_heap=True)
    during, after = freeze_counts_through_lifespan(app)
    # The imported modules (FastAPI, SQLAlchemy, pydantic) alone are far more than this.
    assert during > 50_000
    assert after == 0


def test_an_embedded_app_leaves_the_collector_alone(sqlite_url: str) -> None:
    app = create_app(database_url=sqlite_url, scheduler=False)
    assert freeze_counts_through_lifespan(app) == (0, 0)


def test_serve_builds_the_app_that_freezes(monkeypatch: Any, sqlite_url: str) -> None:
    """The factory the workers of `post001 serve --workers N` call."""
    from post001.server import app as app_module

    monkeypatch.setenv("POST001_DATABASE_URL", sqlite_url)
    # The factory also sets up the process's logging, which is pytest's here.
    monkeypatch.setattr(app_module, "configure_logging", lambda **_: None)
    during, after = freeze_counts_through_lifespan(app_module.create_app_from_env())
    assert during > 50_000
    assert after == 0


def test_serve_with_one_worker_reports_its_frozen_heap(pg_url: str) -> None:
    """The single-process path of `post001 serve` builds its app itself (not through
    the factory): the real command, scraped from loopback once it answers (uvicorn
    serves only after the lifespan's start-up, which is where the heap is frozen)."""
    from subprocess_support import post001_serve

    with post001_serve("--db", pg_url) as served:
        scraped = httpx.get(f"{served.url}/metrics", timeout=5)
    assert scraped.status_code == 200
    assert frozen_gauge(scraped.text) > 50_000
