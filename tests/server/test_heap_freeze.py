"""`post001 serve` keeps what start-up made out of the collector's passes (app.py,
`_frozen_heap`), and an app built for embedding or tests leaves the process's collector
as it found it."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

from fastapi import FastAPI

from post001.server import create_app


def freeze_counts_through_lifespan(app: FastAPI) -> tuple[int, int]:
    """(objects frozen while the app runs, objects frozen after it stopped)."""
    gc.unfreeze()  # whatever an earlier test in this process froze (only costs speed)

    async def run() -> int:
        async with app.router.lifespan_context(app):
            return gc.get_freeze_count()

    during = asyncio.run(run())  # the lifespan's shutdown closes the app's engines
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
