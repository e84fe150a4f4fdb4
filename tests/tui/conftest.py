"""TUI fixtures: a real SQLite store in tmp_path, an injected clock, a fixed terminal.

`StoreProxy` wraps the real store to produce faults a real database will not produce on
demand (a slow save, a failing disk); everything else goes straight through.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from textual.widgets import DataTable

import post001
from post001.core.config import Settings
from post001.core.errors import DatabaseError
from post001.core.models import CollectiveCreate, Role
from post001.tui.app import Post001App, build_app

SIZE = (120, 40)


class StoreProxy:
    """A real store, with optional slowness and failures on the save path."""

    is_remote = False
    location = "test.db"

    def __init__(self, inner: post001.Store) -> None:
        self._inner = inner
        self.failures = 0
        self.saves = 0
        self.saving = threading.Event()
        self._open = threading.Event()  # cleared by `hold`: saves wait until `release`
        self._open.set()

    def hold(self) -> None:
        """Saves from now on wait (in their worker thread) until `release`: a save that
        is slow for exactly as long as the test needs, however loaded the machine."""
        self._open.clear()

    def release(self) -> None:
        self._open.set()

    def _save(self, call: Callable[[], Any]) -> Any:
        self.saves += 1
        self.saving.set()
        try:
            if self.failures:
                self.failures -= 1
                raise DatabaseError("disk I/O error (injected)")
            if not self._open.wait(timeout=120):
                raise DatabaseError("held save never released (test bug)")
            return call()
        finally:
            self.saving.clear()

    def update_post(self, *args: Any, **kwargs: Any) -> Any:
        return self._save(lambda: self._inner.update_post(*args, **kwargs))

    def save_draft(self, *args: Any, **kwargs: Any) -> Any:
        return self._save(lambda: self._inner.save_draft(*args, **kwargs))

    def create_post(self, *args: Any, **kwargs: Any) -> Any:
        return self._save(lambda: self._inner.create_post(*args, **kwargs))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


@pytest.fixture(autouse=True)
def _utc(monkeypatch: pytest.MonkeyPatch) -> None:
    """Times on screen are local: pin the zone so snapshots match everywhere."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()


@pytest.fixture
def tui_db(tmp_path: Any) -> str:
    return f"sqlite:///{tmp_path}/t.db"


@pytest.fixture
def open_as(tui_db: str, clock: Any) -> Any:
    opened: list[post001.Store] = []

    def factory(username: str) -> post001.Store:
        store = post001.connect(tui_db, user=username, clock=clock)
        opened.append(store)
        return store

    yield factory
    for store in opened:
        store.close()


@pytest.fixture
def make_app(open_as: Any, clock: Any) -> Any:
    """make_app(user="alice", **settings) -> (app, proxy)."""

    def factory(user: str = "alice", **settings: Any) -> tuple[Post001App, StoreProxy]:
        proxy = StoreProxy(open_as(user))
        app = build_app(lambda: proxy, Settings(**settings), clock)  # type: ignore[arg-type, return-value]
        return app, proxy

    return factory


@pytest.fixture
def world(open_as: Any) -> dict[str, post001.Store]:
    """alice holds a different role in each collective; some review posts first."""
    stores = {name: open_as(name) for name in ("alice", "bob", "carol", "dave", "erin")}
    plan = (
        ("dev-notes", "Dev Notes", "alice", False, None),
        ("rust-weekly", "Rust Weekly", "bob", False, Role.EDITOR),
        ("ml-digest", "ML Digest", "carol", False, Role.CONTRIBUTOR),
        ("design-crit", "Design Crit", "dave", False, Role.MEMBER),
        ("open-stories", "Open Stories", "erin", True, Role.AUTHOR),
    )
    for slug, name, owner, approval, alice_role in plan:
        stores[owner].create_collective(
            CollectiveCreate(slug=slug, name=name, require_approval=approval))
        if alice_role is not None:
            stores[owner].add_member(slug, "alice", alice_role)
    stores["alice"].add_member("dev-notes", "bob", Role.CONTRIBUTOR)
    stores["alice"].add_member("dev-notes", "carol", Role.AUTHOR)
    return stores


class Recorder(list[Any]):
    def __call__(self, message: Any) -> None:
        self.append(message)

    def of(self, kind: type) -> list[Any]:
        """Each message once (a bubbling message is seen by every node it reaches)."""
        return list({id(m): m for m in self if isinstance(m, kind)}.values())


@pytest.fixture
def messages() -> Recorder:
    return Recorder()


async def wait_for(pilot: Any, condition: Callable[[], Any], timeout: float = 30.0) -> None:
    """Wait until `condition()` holds. The deadline is generous on purpose: it only ends a
    test that would hang; a loaded machine (pytest -n 6 on two cores) just takes longer."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the app")
        await pilot.pause(0.02)


async def ticked(pilot: Any, editor: Any, ticks: int = 2) -> None:
    """Wait until the editor's save timer has run `ticks` more times: each tick reads the
    (fake) clock and starts any save that is due, so after two of them "no save started"
    means no save was due, however slow the machine."""
    target = editor.ticks + ticks
    await wait_for(pilot, lambda: editor.ticks >= target)
    await pilot.pause()


async def settled(pilot: Any) -> None:
    """Wait until every message is handled and no worker runs (no store call in flight)."""
    app = pilot.app
    await pilot.pause()
    await wait_for(pilot, lambda: not any(w.is_running for w in app.workers))
    # A DataTable sizes its columns for new rows on its next Idle event.
    await wait_for(pilot, lambda: not any(table._require_update_dimensions
                                          for table in app.screen.query(DataTable)))
    await pilot.pause()


def screen_name(app: Post001App) -> str:
    return type(app.screen).__name__
