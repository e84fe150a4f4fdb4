"""Recovered drafts: a save the database refused, the app quit, started again: the text
comes back from this machine into the store, and only then is the copy removed."""

from __future__ import annotations

import json
from typing import Any

import pytest
from textual.widgets import Button, DataTable, Static, TextArea

from post001.core.errors import DatabaseError
from post001.core.models import PostCreate
from post001.tui import draft_sync, recovery
from post001.tui.messages import DraftSaveFailed, RecoveredRestored
from tests.tui.conftest import SIZE, StoreProxy, screen_name, wait_for


class BrokenDisk(StoreProxy):
    """Every write fails the way a full or failing disk does; reads still work."""

    def _save(self, call: Any) -> Any:
        self.saves += 1
        raise DatabaseError("disk I/O error (injected)")


@pytest.fixture(autouse=True)
def _one_final_attempt(monkeypatch: pytest.MonkeyPatch) -> None:
    """Quitting retries a failing save with back-off; once is enough to leave the copy."""
    monkeypatch.setattr(draft_sync, "FINAL_ATTEMPTS", 1)


def broken_app(open_as: Any, clock: Any, user: str = "alice") -> tuple[Any, BrokenDisk]:
    from post001.core.config import Settings
    from post001.tui.app import build_app

    proxy = BrokenDisk(open_as(user))
    return build_app(lambda: proxy, Settings(), clock), proxy  # type: ignore[arg-type, return-value]


async def open_title(pilot: Any, title: str) -> None:
    app = pilot.app
    await wait_for(pilot, lambda: getattr(app.screen, "loaded", False))
    index = [p.title for p in app.screen.shown_posts].index(title)
    app.screen.query_one("#posts", DataTable).move_cursor(row=index)
    await pilot.press("enter")
    await wait_for(pilot, lambda: screen_name(app) == "EditorScreen" and app.screen.loaded)


async def type_and_fail(pilot: Any, clock: Any, messages: Any, *keys: str) -> None:
    await pilot.press(*keys)
    clock.advance(seconds=2)
    await wait_for(pilot, lambda: messages.of(DraftSaveFailed))
    await wait_for(pilot, lambda: "offline" in str(
        pilot.app.screen.query_one("#save-status").render())
        or "failed" in str(pilot.app.screen.query_one("#save-status").render()))


async def open_recovered(pilot: Any, count: int) -> Any:
    app = pilot.app
    await wait_for(pilot, lambda: getattr(app.screen, "loaded", False))
    # The button is mounted when there is something to recover (screens/dashboard.py).
    await wait_for(pilot, lambda: app.screen.query("#recovered-drafts")
                   and app.screen.query_one("#recovered-drafts").display)
    button = app.screen.query_one("#recovered-drafts", Button)
    assert f"Recovered drafts ({count})" in str(button.label)
    await pilot.press("d")
    await wait_for(pilot, lambda: screen_name(app) == "RecoveredScreen"
                   and len(app.screen.drafts) == count)
    return app.screen


async def test_a_failed_save_survives_a_restart_and_restores_into_its_post(
        make_app: Any, open_as: Any, clock: Any, messages: Any) -> None:
    alice = open_as("alice")
    post = alice.create_post(PostCreate(title="Field notes", content="original"))

    app, broken = broken_app(open_as, clock)
    async with app.run_test(size=SIZE, message_hook=messages) as pilot:
        await open_title(pilot, "Field notes")
        app.screen.query_one("#body", TextArea).focus()
        await type_and_fail(pilot, clock, messages, "end", *" and more")
        await pilot.press("ctrl+q")  # the final save fails too: the copy stays
    assert broken.saves >= 2
    assert alice.get_post(post.id).content == "original"
    kept = recovery.pending()
    assert [(d["post_id"], d["fields"]["content"]) for d in kept] == [
        (str(post.id), "original and more")]
    assert "disk I/O error" in kept[0]["reason"]

    messages.clear()
    app, _ = make_app()  # a working store this time
    async with app.run_test(size=SIZE, message_hook=messages) as pilot:
        screen = await open_recovered(pilot, 1)
        table = screen.query_one("#recovered-list", DataTable)
        title, when, why = (str(cell) for cell in table.get_row_at(0))
        assert title == "Field notes"
        # The list shortens the reason between words; the panel beside it says it whole.
        reason = "save failed: disk I/O error (injected)"
        assert why == reason or (why.endswith("…") and reason.startswith(why[:-1]))
        meta = str(screen.query_one("#recovered-meta", Static).render())
        assert "save failed: disk I/O error (injected)" in meta
        assert when[:4] == str(kept[0]["when"].astimezone().year)
        assert "original and more" in screen.query_one("#recovered-text", TextArea).text
        await pilot.press("r")
        await wait_for(pilot, lambda: messages.of(RecoveredRestored))
        await wait_for(pilot, lambda: not screen.drafts)
        assert [(m.how, m.post_id) for m in messages.of(RecoveredRestored)] == [
            ("restored", post.id)]
        await pilot.press("escape")
        await wait_for(pilot, lambda: screen_name(app) == "DashboardScreen")
        await wait_for(pilot, lambda: not app.screen.query_one("#recovered-drafts").display)
    stored = alice.get_post(post.id)
    assert stored.content == "original and more"
    assert stored.version == post.version + 1  # a save on top of the current version
    assert [p.title for p in alice.list_posts()] == ["Field notes"]  # no copy made
    assert recovery.pending() == []


async def test_a_new_draft_that_never_reached_the_store_opens_as_a_new_draft(
        make_app: Any, open_as: Any, clock: Any, messages: Any) -> None:
    app, _ = broken_app(open_as, clock)
    async with app.run_test(size=SIZE, message_hook=messages) as pilot:
        await wait_for(pilot, lambda: app.store is not None)
        await pilot.press("n")
        await wait_for(pilot, lambda: screen_name(app) == "EditorScreen")
        await type_and_fail(pilot, clock, messages, *"Lost at sea", "tab", *"every word")
        await pilot.press("ctrl+q")
    assert open_as("alice").list_posts() == []
    assert [d["post_id"] for d in recovery.pending()] == [None]

    messages.clear()
    app, store = make_app()
    async with app.run_test(size=SIZE, message_hook=messages) as pilot:
        await open_recovered(pilot, 1)
        await pilot.press("n")
        await wait_for(pilot, lambda: screen_name(app) == "EditorScreen" and app.screen.loaded
                       and app.screen.post_id is not None)
        assert app.screen.query_one("#body", TextArea).text == "every word"
        assert [m.how for m in messages.of(RecoveredRestored)] == ["new draft"]
    posts = store.list_posts()
    assert [p.title for p in posts] == ["Lost at sea"]
    assert store.get_post(posts[0].id).content == "every word"
    assert recovery.pending() == []


async def test_restore_when_the_post_is_gone_makes_a_new_draft_and_a_failure_keeps_the_file(
        make_app: Any, open_as: Any, messages: Any) -> None:
    import uuid

    gone = uuid.uuid4()
    recovery.keep(str(gone), gone, {"title": "Orphan", "content": "still here"},
                  reason="save failed: network")
    app, store = make_app()
    store.failures = 1  # the first attempt fails: the copy must survive it
    async with app.run_test(size=SIZE, message_hook=messages) as pilot:
        screen = await open_recovered(pilot, 1)
        await pilot.press("r")
        await wait_for(pilot, lambda: not screen.busy)
        assert messages.of(RecoveredRestored) == []
        assert len(recovery.pending()) == 1
        await pilot.press("r")
        await wait_for(pilot, lambda: messages.of(RecoveredRestored))
        await wait_for(pilot, lambda: not screen.drafts)
        assert messages.of(RecoveredRestored)[0].how == "new draft"
    assert [(p.title, store.get_post(p.id).content) for p in store.list_posts()] == [
        ("Orphan", "still here")]
    assert recovery.pending() == []


async def test_restoring_the_same_text_changes_nothing(make_app: Any, open_as: Any,
                                                       messages: Any) -> None:
    alice = open_as("alice")
    post = alice.create_post(PostCreate(title="Same", content="same text"))
    recovery.keep(str(post.id), post.id, {"title": "Same", "subtitle": "",
                                          "content": "same text"})
    app, _ = make_app()
    async with app.run_test(size=SIZE, message_hook=messages) as pilot:
        await open_recovered(pilot, 1)
        await pilot.press("r")
        await wait_for(pilot, lambda: messages.of(RecoveredRestored))
    assert messages.of(RecoveredRestored)[0].how == "unchanged"
    assert alice.get_post(post.id).version == post.version
    assert recovery.pending() == []


async def test_discard_asks_first(make_app: Any, messages: Any) -> None:
    recovery.keep("new-abc", None, {"title": "Scratch", "content": "throwaway"})
    recovery.keep("new-def", None, {"title": "Keeper", "content": "keep me"})
    app, store = make_app()
    async with app.run_test(size=SIZE, message_hook=messages) as pilot:
        screen = await open_recovered(pilot, 2)
        index = [d["fields"]["title"] for d in screen.drafts].index("Scratch")
        screen.query_one("#recovered-list", DataTable).move_cursor(row=index)
        await pilot.press("x")
        await wait_for(pilot, lambda: screen_name(app) == "Confirm")
        assert "Discard “Scratch”?" in str(app.screen.query_one("#question").render())
        await pilot.press("n")  # changed my mind
        await wait_for(pilot, lambda: screen_name(app) == "RecoveredScreen")
        assert len(recovery.pending()) == 2
        await pilot.press("x")
        await wait_for(pilot, lambda: screen_name(app) == "Confirm")
        await pilot.press("y")
        await wait_for(pilot, lambda: len(screen.drafts) == 1)
        assert [m.how for m in messages.of(RecoveredRestored)] == ["discarded"]
    assert [d["fields"]["title"] for d in recovery.pending()] == ["Keeper"]
    assert store.list_posts() == []


def test_pending_skips_broken_files_and_reads_old_ones() -> None:
    folder = recovery.recovery_dir()
    folder.mkdir(parents=True)
    (folder / "junk.json").write_text("{not json", encoding="utf-8")
    (folder / "list.json").write_text("[1, 2]", encoding="utf-8")
    (folder / "old.json").write_text(json.dumps(
        {"post_id": None, "fields": {"title": "Before reasons"}}), encoding="utf-8")
    [old] = recovery.pending()
    assert old["key"] == "old"
    assert old["reason"] == "a save failed"
    assert old["when"].tzinfo is not None
