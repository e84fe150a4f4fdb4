"""One snapshot per screen: fixed size, fixed clock and time zone, seeded data, no blinking.

The screens a writer spends time in are shot at three sizes (`SIZES`): a laptop's 80x24,
a usual 120x40 and a large 200x60. `python tests/tui/render_png.py` turns the SVGs into
PNGs to look at.

Regenerate after an intended change with `pytest tests/tui --snapshot-update` and review
the SVGs in `__snapshots__/`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from textual.widgets import Input, TextArea

from post001.core.models import PostCreate, PostUpdate
from tests.tui.conftest import SIZE, screen_name, settled, wait_for

Before = Callable[[Any], Awaitable[None]]


def steady(pilot: Any) -> None:
    """No blinking cursor, no toasts: the picture depends only on the data."""
    app = pilot.app
    for widget in app.screen.query("Input, TextArea"):
        widget.cursor_blink = False  # type: ignore[attr-defined]
        widget.refresh()  # the cursor's visibility does not repaint by itself
    if isinstance(app.focused, TextArea):
        app.set_focus(None)  # a TextArea's cursor repaints on its own schedule
    app.clear_notifications()


SIZES = {"80x24": (80, 24), "120x40": (120, 40), "200x60": (200, 60)}
every_size = pytest.mark.parametrize("size", list(SIZES))


def shoot(snap_compare: Any, app: Any, before: Before, size: str = "") -> bool:
    async def run_before(pilot: Any) -> None:
        await wait_for(pilot, lambda: app.store is not None)
        await before(pilot)
        await settled(pilot)
        steady(pilot)
        await pilot.pause()

    terminal = SIZES[size] if size else SIZE
    return bool(snap_compare(app, terminal_size=terminal, run_before=run_before))


@pytest.fixture
def posts(world: Any, clock: Any) -> dict[str, Any]:
    alice = world["alice"]
    draft = alice.create_post(PostCreate(
        title="Notes on terminal writing", subtitle="A draft",
        content="Writing in the *terminal*.\n\n- saves itself\n- never loses text\n",
        collectives=["dev-notes", "rust-weekly"]))
    live = alice.create_post(PostCreate(title="Shipping it", content="Out now.",
                                        collectives=["dev-notes", "rust-weekly", "ml-digest"]))
    alice.publish(live.id)
    clock.advance(minutes=3)
    mixed = alice.create_post(PostCreate(
        title="Mixed bag", content="Everything at once.",
        collectives=["rust-weekly", "ml-digest", "open-stories", "design-crit"]))
    bob = world["bob"]
    pending = bob.create_post(PostCreate(title="From bob", content="A contribution.",
                                         collectives=["dev-notes"]))
    bob.publish(pending.id)
    return {"draft": draft, "live": live, "mixed": mixed}


async def to_dashboard(pilot: Any) -> None:
    await wait_for(pilot, lambda: getattr(pilot.app.screen, "loaded", False))


async def open_title(pilot: Any, title: str) -> None:
    app = pilot.app
    await to_dashboard(pilot)
    index = [p.title for p in app.screen.shown_posts].index(title)
    app.screen.query_one("#posts").move_cursor(row=index)
    await pilot.press("enter")
    await wait_for(pilot, lambda: screen_name(app) == "EditorScreen" and app.screen.loaded)
    await wait_for(pilot, lambda: app.screen._words_timer is None)  # the word count settles
    await settled(pilot)


@every_size
def test_dashboard(snap_compare: Any, make_app: Any, posts: Any, size: str) -> None:
    app, _ = make_app()
    assert shoot(snap_compare, app, to_dashboard, size)


def test_dashboard_first_run(snap_compare: Any, make_app: Any) -> None:
    app, _ = make_app(user="newbie")
    assert shoot(snap_compare, app, to_dashboard)


@every_size
def test_editor(snap_compare: Any, make_app: Any, posts: Any, size: str) -> None:
    app, _ = make_app()
    assert shoot(snap_compare, app, lambda p: open_title(p, "Notes on terminal writing"), size)


def test_editor_with_preview(snap_compare: Any, make_app: Any, posts: Any) -> None:
    async def before(pilot: Any) -> None:
        await open_title(pilot, "Notes on terminal writing")
        await pilot.press("f4")
        await settled(pilot)

    app, _ = make_app()
    assert shoot(snap_compare, app, before)


@every_size
def test_post_settings_with_errors(snap_compare: Any, make_app: Any, posts: Any,
                                   size: str) -> None:
    async def before(pilot: Any) -> None:
        await open_title(pilot, "Notes on terminal writing")
        await pilot.press("f2")
        await wait_for(pilot, lambda: screen_name(pilot.app) == "PostSettingsScreen")
        pilot.app.screen.query_one("#in-seo_title", Input).value = "A title far too long " * 4
        pilot.app.screen.query_one("#in-thumbnail_url", Input).value = "ftp://example.com/x.png"

    app, _ = make_app()
    assert shoot(snap_compare, app, before, size)


@every_size
def test_picker(snap_compare: Any, make_app: Any, posts: Any, size: str) -> None:
    async def before(pilot: Any) -> None:
        await open_title(pilot, "Notes on terminal writing")
        await pilot.press("f3")
        await wait_for(pilot, lambda: screen_name(pilot.app) == "CollectivePicker")
        picker = pilot.app.screen
        await pilot.press("ctrl+f")
        await pilot.pause()
        await wait_for(pilot, lambda: picker._shown_request == picker._request
                       and len(picker.rows) == 5 and picker._reach is not None)

    app, _ = make_app()
    assert shoot(snap_compare, app, before, size)


@every_size
def test_preflight_blocked(snap_compare: Any, make_app: Any, posts: Any, size: str) -> None:
    async def before(pilot: Any) -> None:
        await open_title(pilot, "Mixed bag")
        await pilot.press("f9")
        await wait_for(pilot, lambda: screen_name(pilot.app) == "PreflightScreen"
                       and pilot.app.screen.plan is not None)

    app, _ = make_app()
    assert shoot(snap_compare, app, before, size)


@every_size
def test_publish_summary(snap_compare: Any, make_app: Any, posts: Any, world: Any,
                         size: str) -> None:
    world["alice"].set_collectives(posts["mixed"].id, ["rust-weekly", "ml-digest",
                                                      "open-stories"])

    async def before(pilot: Any) -> None:
        await open_title(pilot, "Mixed bag")
        await pilot.press("f9")
        await wait_for(pilot, lambda: screen_name(pilot.app) == "PreflightScreen"
                       and pilot.app.screen.plan is not None)
        await pilot.press("f9")
        await wait_for(pilot, lambda: screen_name(pilot.app) == "PublishSummaryScreen")

    app, _ = make_app()
    assert shoot(snap_compare, app, before, size)


@every_size
def test_review_queue(snap_compare: Any, make_app: Any, posts: Any, size: str) -> None:
    async def before(pilot: Any) -> None:
        await to_dashboard(pilot)
        await pilot.press("r")
        await wait_for(pilot, lambda: screen_name(pilot.app) == "ReviewScreen"
                       and pilot.app.screen.items)
        await settled(pilot)

    app, _ = make_app()
    assert shoot(snap_compare, app, before, size)


def test_conflict(snap_compare: Any, make_app: Any, posts: Any, world: Any,
                  clock: Any, open_as: Any) -> None:
    draft = posts["draft"]

    async def before(pilot: Any) -> None:
        await open_title(pilot, "Notes on terminal writing")
        open_as("alice").update_post(draft.id, PostUpdate(content="Rewritten on my laptop."),
                                     expected_version=draft.version)
        pilot.app.screen.query_one("#body", TextArea).focus()
        await pilot.press("ctrl+end", *"A line typed here.")
        clock.advance(seconds=2)
        await wait_for(pilot, lambda: screen_name(pilot.app) == "ConflictScreen"
                       and pilot.app.screen.stored is not None)

    app, _ = make_app()
    assert shoot(snap_compare, app, before)


def test_history(snap_compare: Any, make_app: Any, posts: Any, world: Any,
                 clock: Any) -> None:
    draft = posts["draft"]
    clock.advance(minutes=20)
    world["alice"].update_post(draft.id, PostUpdate(content="Second thoughts."),
                               expected_version=draft.version)

    async def before(pilot: Any) -> None:
        await open_title(pilot, "Notes on terminal writing")
        await pilot.press("f5")
        await wait_for(pilot, lambda: screen_name(pilot.app) == "HistoryScreen"
                       and pilot.app.screen.revisions)

    app, _ = make_app()
    assert shoot(snap_compare, app, before)


def test_help(snap_compare: Any, make_app: Any) -> None:
    async def before(pilot: Any) -> None:
        await pilot.press("f1")

    app, _ = make_app()
    assert shoot(snap_compare, app, before)


def test_search(snap_compare: Any, make_app: Any, posts: Any, world: Any) -> None:
    bob = world["bob"]
    bob.publish(bob.create_post(PostCreate(title="Terminal habits", content="Shipping daily.",
                                           collectives=["rust-weekly"])).id)

    async def before(pilot: Any) -> None:
        await to_dashboard(pilot)
        await pilot.press("s")
        await wait_for(pilot, lambda: screen_name(pilot.app) == "SearchScreen")
        await pilot.press(*"shipping")
        await wait_for(pilot, lambda: pilot.app.screen.query_text == "shipping")

    app, _ = make_app()
    assert shoot(snap_compare, app, before)


@every_size
def test_recovered(snap_compare: Any, make_app: Any, posts: Any, size: str) -> None:
    import json

    from post001.tui import recovery

    folder = recovery.recovery_dir()
    folder.mkdir(parents=True)
    for key, post_id, title, content, reason, at in (
        (str(posts["draft"].id), str(posts["draft"].id), "Notes on terminal writing",
         "Writing in the *terminal*, with a paragraph the database never saw.",
         "save failed: disk I/O error", "2026-01-05T09:10:00+00:00"),
        ("new-0123456789ab", None, "", "An untitled thought.",
         "save failed: the server did not answer", "2026-01-05T09:20:00+00:00"),
    ):
        (folder / f"{key}.json").write_text(json.dumps(
            {"post_id": post_id, "fields": {"title": title, "subtitle": "", "content": content},
             "saved_at": at, "reason": reason}), encoding="utf-8")

    async def before(pilot: Any) -> None:
        await to_dashboard(pilot)
        await wait_for(pilot, lambda: pilot.app.screen.query("#recovered-drafts")
                       and pilot.app.screen.query_one("#recovered-drafts").display)
        await pilot.press("d")
        await wait_for(pilot, lambda: screen_name(pilot.app) == "RecoveredScreen"
                       and len(pilot.app.screen.drafts) == 2)

    app, _ = make_app()
    assert shoot(snap_compare, app, before, size)
