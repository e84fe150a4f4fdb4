"""Writing: auto-save exactly as docs/product.md (step 1) says, quit flushes, nothing is lost."""

from __future__ import annotations

import asyncio
from typing import Any

from textual.widgets import Input, TextArea

from post001.core.models import PostCreate, PostUpdate
from post001.tui import recovery
from post001.tui.autosave import SaveTicket
from post001.tui.messages import ConflictResolved, DraftConflict, DraftSaved, DraftSaveFailed
from tests.tui.conftest import SIZE, screen_name, ticked, wait_for


async def open_new_post(pilot: Any) -> None:
    app = pilot.app
    await wait_for(pilot, lambda: app.store is not None)
    await pilot.press("n")
    await wait_for(pilot, lambda: screen_name(app) == "EditorScreen")
    await pilot.pause()


async def open_first_post(pilot: Any) -> None:
    """From the dashboard, open its first post and wait until the editor shows it."""
    app = pilot.app
    await wait_for(pilot, lambda: getattr(app.screen, "posts", None))
    await pilot.press("enter")
    await wait_for(pilot, lambda: screen_name(app) == "EditorScreen" and app.screen.loaded)


def editor(app: Any) -> Any:
    return app.screen


def refused(screen: Any, current_version: int) -> None:
    """Tell the editor what a save worker reports when the store answers 412 with
    `current_version`: the text the editor shows now, for the edits made so far."""
    screen.post_message(DraftConflict(screen.snapshot(),
                                      SaveTicket(screen.saver.generation, 0.0),
                                      current_version))


async def test_a_save_that_answers_after_quitting_is_not_an_error(
        make_app: Any, clock: Any) -> None:
    """Quitting pops every screen while a closing editor's last save may still answer:
    the app's DraftSaved handler then found no screen, and the app ended on a traceback
    (seen once in thirty-two runs of a team test)."""
    from post001.tui.messages import DraftSnapshot

    app, _ = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_new_post(pilot)
    assert not app.screen_stack
    snap = DraftSnapshot(title="T", subtitle="", content="late", extra={})
    app._draft_saved(DraftSaved(None, SaveTicket(1, 0.0), False, 2, clock(), snap))


async def test_n_opens_a_new_post_with_the_cursor_in_the_title_and_tab_to_body(
        make_app: Any) -> None:
    app, _ = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_new_post(pilot)
        assert app.focused is not None and app.focused.id == "title"
        await pilot.press(*"Hi", "tab")
        assert app.focused is not None and app.focused.id == "body"
        await pilot.press(*"there")
        assert app.screen.query_one("#body", TextArea).text == "there"


async def test_coming_back_to_the_title_or_subtitle_keeps_what_is_there(
        make_app: Any) -> None:
    """Focus moving into a line does not select it, so the next key adds to the title
    instead of replacing it (Input's default would select it all)."""
    app, _ = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_new_post(pilot)
        await pilot.press(*"Spring", "tab", *"Body")
        screen = app.screen
        for field, keys in (("#title", " notes"), ("#subtitle", "Part one")):
            screen.set_focus(screen.query_one("#body", TextArea))
            screen.set_focus(screen.query_one(field, Input))
            await pilot.pause()
            await pilot.press(*keys)
        assert screen.query_one("#title", Input).value == "Spring notes"
        assert screen.query_one("#subtitle", Input).value == "Part one"
        await pilot.press("shift+tab")  # from the subtitle, back into the title
        await pilot.pause()
        assert app.focused is screen.query_one("#title", Input)
        await pilot.press(*"!")
        assert screen.query_one("#title", Input).value == "Spring notes!"


async def test_keys_arriving_all_at_once_after_tab_land_in_the_body(make_app: Any) -> None:
    """A paste or a fast typist: every key is queued before the first is handled."""
    from textual import events

    app, _ = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_new_post(pilot)
        for key in [*"Title", "tab", *"Body text"]:
            character = key if len(key) == 1 else None
            app.post_message(events.Key(key if key != " " else "space", character))
        screen = app.screen
        await wait_for(pilot, lambda: screen.query_one("#body", TextArea).text == "Body text")
        assert screen.query_one("#title").value == "Title"


async def test_typing_then_waiting_saves_exactly_once(make_app: Any, clock: Any,
                                                      messages: Any) -> None:
    app, store = make_app()
    async with app.run_test(size=SIZE, message_hook=messages) as pilot:
        await open_new_post(pilot)
        await pilot.press(*"My title", "tab", *"Some words")
        await ticked(pilot, app.screen)
        assert messages.of(DraftSaved) == []  # the debounce has not passed: no save yet
        assert app.screen.saver.saves_started == 0
        clock.advance(seconds=1.5)
        await wait_for(pilot, lambda: messages.of(DraftSaved))
        clock.advance(seconds=30)
        await ticked(pilot, app.screen)
        assert app.screen.saver.saves_started == 1
        assert len(messages.of(DraftSaved)) == 1
        assert store.saves == 1
        assert "saved at 09:00" in str(app.screen.query_one("#save-status").render())
    posts = store.list_posts()
    assert [(p.title, p.word_count) for p in posts] == [("My title", 2)]
    assert store.get_post(posts[0].id).content == "Some words"


async def test_an_untitled_draft_is_saved_too(make_app: Any, clock: Any) -> None:
    app, store = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_new_post(pilot)
        await pilot.press("tab", *"no title yet")
        clock.advance(seconds=2)
        await wait_for(pilot, lambda: store.list_posts())
    [post] = store.list_posts()
    assert post.title == ""


async def test_continuous_typing_saves_at_most_every_ten_seconds(make_app: Any, clock: Any,
                                                                 messages: Any) -> None:
    app, store = make_app()
    async with app.run_test(size=SIZE, message_hook=messages) as pilot:
        await open_new_post(pilot)
        await pilot.press("tab")
        for _ in range(24):  # 12 seconds of typing, a key every half second
            await pilot.press("a")
            clock.advance(seconds=0.5)
            await ticked(pilot, app.screen, 1)
        await wait_for(pilot, lambda: messages.of(DraftSaved))
        assert len(messages.of(DraftSaved)) == 1  # still typing: only the 10 s save ran
    assert store.get_post(store.list_posts()[0].id).content.startswith("a" * 19)


async def test_typing_during_a_slow_save_loses_nothing(make_app: Any, clock: Any,
                                                       messages: Any) -> None:
    app, store = make_app()
    async with app.run_test(size=SIZE, message_hook=messages) as pilot:
        await open_new_post(pilot)
        await pilot.press("tab", *"first ")
        clock.advance(seconds=2)
        await wait_for(pilot, lambda: messages.of(DraftSaved))
        store.hold()
        await pilot.press(*"second ")
        clock.advance(seconds=2)
        await wait_for(pilot, store.saving.is_set)  # the slow save is in flight...
        await pilot.press(*"third")  # ...and the writer keeps typing
        assert "saving" in str(app.screen.query_one("#save-status").render())
        store.release()
        await wait_for(pilot, lambda: len(messages.of(DraftSaved)) == 2)
        clock.advance(seconds=2)
        await wait_for(pilot, lambda: len(messages.of(DraftSaved)) == 3)
        assert not app.screen.saver.dirty
    [post] = store.list_posts()
    assert store.get_post(post.id).content == "first second third"


async def test_quit_flushes_the_draft(make_app: Any, open_as: Any) -> None:
    app, _ = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_new_post(pilot)
        await pilot.press(*"Quit me", "tab", *"typed just now")
        await pilot.press("ctrl+q")  # no time has passed: only the flush can save this
        await wait_for(pilot, lambda: app.return_code is not None)  # exit() was called
    [post] = open_as("alice").list_posts()
    assert post.title == "Quit me"
    assert open_as("alice").get_post(post.id).content == "typed just now"


async def test_quit_waits_for_a_slow_save_and_saves_what_was_typed_meanwhile(
        make_app: Any, clock: Any, open_as: Any) -> None:
    app, store = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_new_post(pilot)
        await pilot.press("tab", *"one ")
        clock.advance(seconds=2)
        await wait_for(pilot, lambda: store.list_posts())
        store.hold()
        await pilot.press(*"two ")
        clock.advance(seconds=2)
        await wait_for(pilot, store.saving.is_set)
        await pilot.press(*"three")
        # The key's action waits for the held save: press it in a task, then release.
        quitting = asyncio.create_task(pilot.press("ctrl+q"))
        await wait_for(pilot, lambda: app._quitting)
        store.release()  # quitting waited for the slow save: now it lands
        await quitting
        await wait_for(pilot, lambda: not app.is_running)
    [post] = open_as("alice").list_posts()
    assert open_as("alice").get_post(post.id).content == "one two three"


async def test_escape_saves_and_returns_to_the_dashboard(make_app: Any, open_as: Any) -> None:
    app, store = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_new_post(pilot)
        await pilot.press(*"Leaving", "tab", *"body")
        await pilot.press("escape")
        assert screen_name(app) == "DashboardScreen"
        await wait_for(pilot, lambda: store.list_posts())
        await wait_for(pilot, lambda: app.screen.posts)
        assert app.screen.posts[0].title == "Leaving"


async def test_ctrl_s_saves_now(make_app: Any, messages: Any) -> None:
    app, store = make_app()
    async with app.run_test(size=SIZE, message_hook=messages) as pilot:
        await open_new_post(pilot)
        await pilot.press(*"Now", "ctrl+s")
        await wait_for(pilot, lambda: messages.of(DraftSaved))
    assert store.list_posts()[0].title == "Now"


async def test_database_errors_keep_the_draft_and_retry(make_app: Any, clock: Any,
                                                        messages: Any) -> None:
    app, store = make_app()
    async with app.run_test(size=SIZE, message_hook=messages) as pilot:
        await open_new_post(pilot)
        store.failures = 2
        await pilot.press(*"Flaky disk", "tab", *"kept")
        clock.advance(seconds=2)
        await wait_for(pilot, lambda: messages.of(DraftSaveFailed))
        assert "save failed (retrying)" in str(app.screen.query_one("#save-status").render())
        assert app.screen.query_one("#body", TextArea).text == "kept"
        clock.advance(seconds=5)  # past the first backoff: the retry fails too
        await wait_for(pilot, lambda: len(messages.of(DraftSaveFailed)) == 2)
        clock.advance(seconds=5)  # past the second: the disk is back
        await wait_for(pilot, lambda: messages.of(DraftSaved))
        assert len(messages.of(DraftSaveFailed)) == 2
    assert store.list_posts()[0].title == "Flaky disk"


async def test_manual_save_when_the_enhanced_editor_is_off(
        make_app: Any, clock: Any, messages: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("ENABLE_ENHANCED_EDITOR", "false")
    app, store = make_app()
    async with app.run_test(size=SIZE, message_hook=messages) as pilot:
        await open_new_post(pilot)
        await pilot.press(*"Manual")
        clock.advance(seconds=30)
        await ticked(pilot, app.screen)
        assert messages.of(DraftSaved) == []
        assert app.screen.saver.saves_started == 0
        assert "ctrl+s" in str(app.screen.query_one("#save-status").render())
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: messages.of(DraftSaved))
    assert store.list_posts()[0].title == "Manual"


async def test_opening_a_post_shows_it_and_edits_update_the_same_post(
        make_app: Any, open_as: Any, clock: Any, messages: Any) -> None:
    alice = open_as("alice")
    post = alice.create_post(PostCreate(title="Existing", content="old body"))
    app, _store = make_app()
    async with app.run_test(size=SIZE, message_hook=messages) as pilot:
        await open_first_post(pilot)
        assert app.screen.query_one("#title", Input).value == "Existing"
        clock.advance(seconds=30)
        await ticked(pilot, app.screen)
        assert messages.of(DraftSaved) == []  # loading is not an edit
        assert app.screen.saver.saves_started == 0
        await pilot.press("end", *" and new")
        clock.advance(seconds=2)
        await wait_for(pilot, lambda: messages.of(DraftSaved))
    assert [p.id for p in alice.list_posts()] == [post.id]
    assert alice.get_post(post.id).content == "old body and new"


async def _conflict(make_app: Any, open_as: Any, clock: Any, messages: Any,
                    key: str) -> tuple[Any, Any]:
    alice = open_as("alice")
    post = alice.create_post(PostCreate(title="Shared", content="base"))
    other_window = open_as("alice")  # a second store instance: another window or machine
    app, _ = make_app()
    async with app.run_test(size=SIZE, message_hook=messages) as pilot:
        await open_first_post(pilot)
        other_window.update_post(post.id, PostUpdate(content="theirs"), expected_version=1)
        await pilot.press("end", *" mine")
        clock.advance(seconds=2)
        await wait_for(pilot, lambda: screen_name(app) == "ConflictScreen")
        assert messages.of(DraftConflict)[0].mine.content == "base mine"
        await wait_for(pilot, lambda: app.screen.stored is not None)
        assert "theirs" in app.screen.query_one("#stored", TextArea).text
        assert "base mine" in app.screen.query_one("#mine", TextArea).text
        await pilot.press(key)
        await wait_for(pilot, lambda: messages.of(ConflictResolved))
        body = app.screen.query_one("#body", TextArea).text
    return post, body


async def test_a_save_that_met_a_version_the_editor_took_on_is_sent_again(
        make_app: Any, open_as: Any, clock: Any, messages: Any) -> None:
    """A save was in flight when an offline conflict was settled as "mine" and the
    editor took on the settled version: its 412 is no one else's write, so no dialog;
    the text goes again, on that version."""
    alice = open_as("alice")
    post = alice.create_post(PostCreate(title="Shared", content="base"))
    app, _ = make_app()
    async with app.run_test(size=SIZE, message_hook=messages) as pilot:
        await open_first_post(pilot)
        screen = app.screen
        await pilot.press("end", *" mine")
        settled = alice.update_post(post.id, PostUpdate(content="base mi"), expected_version=1)
        screen.sync.adopt(settled)
        refused(screen, settled.version)
        clock.advance(seconds=2)
        await wait_for(pilot, lambda: messages.of(DraftSaved)
                       or screen_name(app) == "ConflictScreen")
        assert screen_name(app) == "EditorScreen"
    stored = alice.get_post(post.id)
    assert (stored.content, stored.version) == ("base mine", 3)


async def _conflict_during_a_settlement(pilot: Any, app: Any, alice: Any, post: Any,
                                        messages: Any) -> Any:
    """The writer is settling an offline conflict of `post` when a save of theirs comes
    back refused by the other device's version: the editor holds the question."""
    await open_first_post(pilot)
    screen = app.screen
    await pilot.press("end", *" mine")
    app.settling_posts.add(post.id)  # as the offline-conflict dialog does when it opens
    theirs = alice.update_post(post.id, PostUpdate(content="theirs"), expected_version=1)
    refused(screen, theirs.version)
    await wait_for(pilot, lambda: messages.of(DraftConflict))
    await pilot.pause()
    assert screen_name(app) == "EditorScreen"  # no dialog while the settlement is open
    return screen, theirs


async def test_a_conflict_held_for_a_settlement_of_theirs_sets_the_text_aside(
        make_app: Any, open_as: Any, clock: Any, messages: Any) -> None:
    from post001.tui.team import JournalResolved

    alice = open_as("alice")
    post = alice.create_post(PostCreate(title="Shared", content="base"))
    app, _ = make_app()
    async with app.run_test(size=SIZE, message_hook=messages) as pilot:
        screen, theirs = await _conflict_during_a_settlement(pilot, app, alice, post,
                                                             messages)
        app.post_message(JournalResolved(post.id, "theirs", theirs))
        await wait_for(pilot, lambda: screen.query_one("#body", TextArea).text == "theirs")
        assert "base mine" in [d["fields"]["content"] for d in recovery.pending()]
        await pilot.press("ctrl+end", *" more")  # the held conflict holds no save back
        clock.advance(seconds=2)
        await wait_for(pilot, lambda: alice.get_post(post.id).content == "theirs more")
        assert screen_name(app) == "EditorScreen"


async def test_a_conflict_held_for_a_settlement_that_failed_is_asked_about(
        make_app: Any, open_as: Any, clock: Any, messages: Any) -> None:
    from post001.core.errors import NetworkError
    from post001.tui.team import JournalResolved

    alice = open_as("alice")
    post = alice.create_post(PostCreate(title="Shared", content="base"))
    app, _ = make_app()
    async with app.run_test(size=SIZE, message_hook=messages) as pilot:
        await _conflict_during_a_settlement(pilot, app, alice, post, messages)
        app.post_message(JournalResolved(post.id, "mine", None,
                                         NetworkError("the server went away")))
        await wait_for(pilot, lambda: screen_name(app) == "ConflictScreen")
    assert not app.settling_posts


async def test_conflict_keep_mine(make_app: Any, open_as: Any, clock: Any,
                                  messages: Any) -> None:
    post, body = await _conflict(make_app, open_as, clock, messages, "m")
    alice = open_as("alice")
    assert body == "base mine"
    assert alice.get_post(post.id).content == "base mine"
    kept = [d["fields"]["content"] for d in recovery.pending()]
    assert kept == ["theirs"]  # overwritten in the store, but not dropped


async def test_conflict_take_theirs(make_app: Any, open_as: Any, clock: Any,
                                    messages: Any) -> None:
    post, body = await _conflict(make_app, open_as, clock, messages, "t")
    assert body == "theirs"
    assert open_as("alice").get_post(post.id).content == "theirs"


async def test_conflict_save_mine_as_a_new_draft(make_app: Any, open_as: Any, clock: Any,
                                                 messages: Any) -> None:
    post, body = await _conflict(make_app, open_as, clock, messages, "c")
    alice = open_as("alice")
    contents = sorted(alice.get_post(p.id).content for p in alice.list_posts())
    assert contents == ["base mine", "theirs"]
    assert alice.get_post(post.id).content == "theirs"
    assert body == "base mine"


async def test_the_body_is_highlighted_markdown_until_it_grows_too_long(
        make_app: Any, open_as: Any) -> None:
    from post001.tui.screens.editor import HIGHLIGHT_MAX_CHARS

    long = open_as("alice").create_post(PostCreate(
        title="Long", content="# Heading\n" + "word " * (HIGHLIGHT_MAX_CHARS // 5 + 10)))
    app, _ = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_new_post(pilot)
        body = app.screen.query_one("#body", TextArea)
        assert body.language == "markdown"
        await pilot.press("escape")
        await wait_for(pilot, lambda: screen_name(app) == "DashboardScreen")
        app.action_open_post(str(long.id))
        await wait_for(pilot, lambda: screen_name(app) == "EditorScreen" and app.screen.loaded)
        body = app.screen.query_one("#body", TextArea)
        assert body.language is None  # typing stays fast in a very long draft
        body.load_text("# Short again\n")
        await wait_for(pilot, lambda: body.language == "markdown")


async def test_store_opened_landing_before_a_pushed_editor_mounts_waits_for_its_mount(
        make_app: Any) -> None:
    """StoreOpened follows the store being set, so a writer (or a test) can push the editor
    in between; the app must not reach into the editor's widgets before they exist."""
    from post001.tui.messages import StoreOpened
    from post001.tui.screens.editor import EditorScreen

    app, _ = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.store is not None)
        screen = EditorScreen()
        app.push_screen(screen)
        assert not screen.is_mounted  # the mount runs on the screen's own task, later
        app._store_opened(StoreOpened(app.store))
        await wait_for(pilot, lambda: screen.is_mounted)
        status = str(screen.query_one("#save-status").render())
        assert status == "new draft"
        assert app.return_code is None  # no error ended the app
