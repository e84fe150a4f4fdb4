"""docs/product.md, "How writing goes" step 1: nothing the writer types is ever lost,
on every way off the editor: escape or quit while a save is slow, failing, refused or
in conflict, the palette's Dashboard, a dialog left open, no store at all, and $EDITOR."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from textual.widgets import Input, TextArea

from post001.core.config import Settings
from post001.core.errors import DatabaseError
from post001.core.models import PostCreate, PostUpdate
from post001.tui import recovery
from post001.tui.app import build_app
from post001.tui.messages import ConflictResolved, DraftSaveFailed
from tests.tui.conftest import SIZE, screen_name, wait_for


async def open_new_post(pilot: Any) -> None:
    app = pilot.app
    await wait_for(pilot, lambda: app.store is not None)
    await pilot.press("n")
    await wait_for(pilot, lambda: screen_name(app) == "EditorScreen")
    await pilot.pause()


async def open_first_post(pilot: Any) -> None:
    app = pilot.app
    await wait_for(pilot, lambda: getattr(app.screen, "posts", None))
    await pilot.press("enter")
    await wait_for(pilot, lambda: screen_name(app) == "EditorScreen" and app.screen.loaded)


def stored(open_as: Any) -> list[tuple[str, str]]:
    store = open_as("alice")
    return sorted((p.title, store.get_post(p.id).content) for p in store.list_posts())


def kept() -> list[str]:
    return [draft["fields"]["content"] for draft in recovery.pending()]


def background_errors(app: Any) -> list[BaseException]:
    return [w.error for w in app.background_saves if w.error is not None]


# --- saves that outlive the editor ---------------------------------------------------------

async def test_escape_after_the_post_changed_elsewhere_keeps_the_text_as_a_new_draft(
        make_app: Any, open_as: Any) -> None:
    post = open_as("alice").create_post(PostCreate(title="Shared", content="base"))
    other = open_as("alice")
    app, store = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_first_post(pilot)
        other.update_post(post.id, PostUpdate(content="theirs"), expected_version=1)
        store.hold()  # the conflict comes back after the editor has closed
        await pilot.press("end", *" mine", "escape")
        await wait_for(pilot, lambda: screen_name(app) == "DashboardScreen")
        await wait_for(pilot, store.saving.is_set)
        store.release()
        await wait_for(pilot, lambda: len(stored(open_as)) == 2)
        await wait_for(pilot, lambda: all(w.is_finished for w in app.background_saves))
        assert background_errors(app) == []
    assert stored(open_as) == [("Shared", "base mine"), ("Shared", "theirs")]
    assert kept() == []  # the copy in the store replaced the one on this machine


async def test_keys_typed_during_a_slow_save_are_saved_after_escape(
        make_app: Any, open_as: Any, clock: Any) -> None:
    app, store = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_new_post(pilot)
        await pilot.press("tab", *"one ")
        clock.advance(seconds=2)
        await wait_for(pilot, store.list_posts)
        store.hold()
        await pilot.press(*"two ")
        clock.advance(seconds=2)
        await wait_for(pilot, store.saving.is_set)
        await pilot.press(*"three", "escape")
        await wait_for(pilot, lambda: screen_name(app) == "DashboardScreen")
        store.release()
        await wait_for(pilot, lambda: stored(open_as) == [("", "one two three")])
        await wait_for(pilot, lambda: all(w.is_finished for w in app.background_saves))
        assert background_errors(app) == []


async def test_a_save_retried_after_escape_reaches_the_store(
        make_app: Any, open_as: Any) -> None:
    app, store = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_new_post(pilot)
        await pilot.press(*"Flaky", "tab", *"typed then escape")
        store.failures = 1  # one transient error; the retry succeeds
        await pilot.press("escape")
        await wait_for(pilot, lambda: stored(open_as) == [("Flaky", "typed then escape")])
        await wait_for(pilot, lambda: all(w.is_finished for w in app.background_saves))
        assert background_errors(app) == []
    assert kept() == []


# --- refused or in conflict: kept on this machine ----------------------------------------------

async def paste_too_much(pilot: Any, messages: Any, clock: Any) -> None:
    app = pilot.app
    await open_new_post(pilot)
    await pilot.press(*"Big paste", "tab")
    app.screen.query_one("#body", TextArea).insert("x" * 200_001)
    await pilot.press(*" end")
    clock.advance(seconds=2)
    await wait_for(pilot, lambda: messages.of(DraftSaveFailed))


async def test_quit_while_a_save_is_refused_keeps_the_text_on_this_machine(
        make_app: Any, open_as: Any, clock: Any, messages: Any) -> None:
    app, _ = make_app()
    async with app.run_test(size=SIZE, message_hook=messages) as pilot:
        await paste_too_much(pilot, messages, clock)
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: not app.is_running)
    assert stored(open_as) == []
    (draft,) = recovery.pending()
    assert draft["fields"]["title"] == "Big paste"
    assert draft["fields"]["content"] == "x" * 200_001 + " end"
    assert "limit" in draft["reason"]


async def test_escape_while_a_save_is_refused_keeps_the_text_on_this_machine(
        make_app: Any, clock: Any, messages: Any) -> None:
    app, _ = make_app()
    async with app.run_test(size=SIZE, message_hook=messages) as pilot:
        await paste_too_much(pilot, messages, clock)
        await pilot.press("escape")
        await wait_for(pilot, lambda: screen_name(app) == "DashboardScreen")
        assert kept() == ["x" * 200_001 + " end"]


async def test_quit_with_the_conflict_dialog_open_keeps_the_writers_text(
        make_app: Any, open_as: Any, clock: Any) -> None:
    post = open_as("alice").create_post(PostCreate(title="Shared", content="base"))
    other = open_as("alice")
    app, _ = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_first_post(pilot)
        other.update_post(post.id, PostUpdate(content="theirs"), expected_version=1)
        await pilot.press("end", *" my paragraph")
        clock.advance(seconds=2)
        await wait_for(pilot, lambda: screen_name(app) == "ConflictScreen")
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: not app.is_running)
    assert stored(open_as) == [("Shared", "theirs")]
    assert kept() == ["base my paragraph"]


@pytest.mark.parametrize("key", ["m", "c"])
async def test_keys_typed_while_the_conflict_choice_is_written_are_saved(
        make_app: Any, open_as: Any, clock: Any, messages: Any, key: str) -> None:
    post = open_as("alice").create_post(PostCreate(title="Shared", content="base"))
    other = open_as("alice")
    app, store = make_app()
    async with app.run_test(size=SIZE, message_hook=messages) as pilot:
        await open_first_post(pilot)
        other.update_post(post.id, PostUpdate(content="theirs"), expected_version=1)
        await pilot.press("end", *" mine")
        clock.advance(seconds=2)
        await wait_for(pilot, lambda: screen_name(app) == "ConflictScreen"
                       and app.screen.stored is not None)
        store.hold()  # the choice is being written while the writer types on
        await pilot.press(key)
        await wait_for(pilot, lambda: screen_name(app) == "EditorScreen")
        await wait_for(pilot, store.saving.is_set)
        await pilot.press(*" plus more")  # typed while the choice is being written
        store.release()
        await wait_for(pilot, lambda: messages.of(ConflictResolved))
        # The choice stored the text it was made on; the later keys come with the next save.
        assert messages.of(ConflictResolved)[0].post.content == "base mine"
        await wait_for(pilot, lambda: ("Shared", "base mine plus more") in stored(open_as))
        await wait_for(pilot, lambda: not app.screen.saver.dirty)
    # "keep mine" sets the stored text aside on this machine; nothing else is left there.
    assert kept() == (["theirs"] if key == "m" else [])


# --- other ways off the editor -----------------------------------------------------------------

async def test_the_palettes_dashboard_saves_the_editor_it_closes(
        make_app: Any, open_as: Any) -> None:
    app, _ = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_new_post(pilot)
        await pilot.press(*"Palette", "tab", *"typed, then Dashboard")
        await app.run_action("dashboard")  # what the palette's Dashboard runs
        assert screen_name(app) == "DashboardScreen"
        await wait_for(pilot, lambda: stored(open_as) == [("Palette", "typed, then Dashboard")])


async def test_quit_with_the_post_settings_open_applies_what_was_typed(
        make_app: Any, open_as: Any, clock: Any) -> None:
    app, store = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_new_post(pilot)
        await pilot.press(*"With byline", "tab", *"body")
        clock.advance(seconds=2)
        await wait_for(pilot, store.list_posts)
        await pilot.press("f2")
        await wait_for(pilot, lambda: screen_name(app) == "PostSettingsScreen")
        app.screen.query_one("#in-byline", Input).focus()
        await pilot.press(*"Jane Writer")
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: not app.is_running)
    alice = open_as("alice")
    assert alice.get_post(alice.list_posts()[0].id).byline == "Jane Writer"


async def test_without_a_store_the_text_is_kept_on_this_machine(clock: Any) -> None:
    def unreachable() -> Any:
        raise DatabaseError("could not connect to server (injected)")

    app = build_app(unreachable, Settings(), clock)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: screen_name(app) == "DashboardScreen")
        await pilot.press("n")
        await wait_for(pilot, lambda: screen_name(app) == "EditorScreen")
        await pilot.pause()
        await pilot.press(*"Written offline", "tab", *"an hour of work")
        clock.advance(seconds=2)
        await wait_for(pilot, lambda: kept() == ["an hour of work"])
        await wait_for(pilot, lambda: str(app.screen.query_one("#save-status").render())
                       == "offline (saved on this machine)")
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: not app.is_running)
    assert kept() == ["an hour of work"]


async def test_external_editor_saves_before_the_terminal_is_handed_over(
        make_app: Any, open_as: Any, clock: Any, tui_db: str, tmp_path: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    db = tui_db.removeprefix("sqlite:///")
    seen = tmp_path / "seen.txt"
    script = tmp_path / "fake-editor"
    script.write_text(f"""#!{sys.executable}
import sqlite3, sys
rows = sqlite3.connect({db!r}).execute("select content from posts").fetchall()
open({str(seen)!r}, "w").write(repr(rows))
open(sys.argv[1], "a").write(" + edited")
""")
    script.chmod(0o755)
    monkeypatch.setenv("EDITOR", str(script))
    monkeypatch.delenv("VISUAL", raising=False)
    app, _ = make_app()
    async with app.run_test(size=SIZE) as pilot:
        @contextlib.contextmanager
        def suspend() -> Iterator[None]:  # App.suspend without the terminal handling
            app._suspend_signal()
            yield

        monkeypatch.setattr(app, "suspend", suspend)
        await open_new_post(pilot)
        await pilot.press(*"Vim", "tab", *"before the editor", "f6")
        await wait_for(pilot, seen.exists)
        assert "before the editor" in seen.read_text()
        clock.advance(seconds=2)  # the edit made in $EDITOR is saved like any other
        await wait_for(pilot, lambda: stored(open_as) == [("Vim", "before the editor + edited")])


@pytest.mark.parametrize("key", ["f6", "ctrl+o"])
async def test_external_editor_keys_work_from_the_body(
        make_app: Any, monkeypatch: pytest.MonkeyPatch, key: str) -> None:
    app, _ = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_new_post(pilot)
        hits: list[str] = []
        monkeypatch.setattr(app.screen, "action_external_editor", lambda: hits.append(key))
        await pilot.press("tab", *"x")
        assert app.focused is not None and app.focused.id == "body"
        await pilot.press(key)
        await wait_for(pilot, lambda: hits)
        assert hits == [key]
