"""Deleting a never-published draft from the dashboard: asked first, refused otherwise."""

from __future__ import annotations

from typing import Any

from textual.notifications import Notify

from post001.core.models import PostCreate
from tests.tui.conftest import SIZE, Recorder, screen_name, settled, wait_for


async def select(pilot: Any, title: str) -> None:
    app = pilot.app
    await wait_for(pilot, lambda: screen_name(app) == "DashboardScreen" and app.screen.loaded
                   and title in [p.title for p in app.screen.shown_posts])
    index = [p.title for p in app.screen.shown_posts].index(title)
    app.screen.query_one("#posts").move_cursor(row=index)
    await pilot.pause()


def titles(store: Any) -> list[str]:
    return sorted(p.title for p in store.list_posts())


async def test_a_draft_is_deleted_after_the_writer_confirms(make_app: Any,
                                                            open_as: Any) -> None:
    alice = open_as("alice")
    alice.create_post(PostCreate(title="Scrap", content="never mind"))
    alice.create_post(PostCreate(title="Keep", content="this one stays"))
    app, _ = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await select(pilot, "Scrap")
        await pilot.press("delete")
        await wait_for(pilot, lambda: screen_name(app) == "Confirm")
        assert "Delete the draft “Scrap”?" in str(app.screen.query_one("#question").render())
        await pilot.press("n")  # changed their mind
        await wait_for(pilot, lambda: screen_name(app) == "DashboardScreen")
        await settled(pilot)
        assert titles(alice) == ["Keep", "Scrap"]
        await select(pilot, "Scrap")
        await pilot.press("delete")
        await wait_for(pilot, lambda: screen_name(app) == "Confirm")
        await pilot.press("y")
        await wait_for(pilot, lambda: titles(alice) == ["Keep"])
        await wait_for(pilot, lambda: [p.title for p in app.screen.shown_posts] == ["Keep"])


def notified(messages: Recorder, text: str) -> bool:
    """A toast saying `text` was posted (Textual's public Notify message)."""
    return any(text in str(m.notification.message) for m in messages.of(Notify))


async def test_a_published_post_is_not_deleted(make_app: Any, world: Any,
                                              messages: Recorder) -> None:
    alice = world["alice"]
    live = alice.create_post(PostCreate(title="Live", content="out", collectives=["dev-notes"]))
    alice.publish(live.id)
    was = alice.create_post(PostCreate(title="Was live", content="out",
                                       collectives=["dev-notes"]))
    alice.publish(was.id)
    alice.unpublish(was.id)  # a draft again, but readers had it: archive, not delete
    app, _ = make_app()
    async with app.run_test(size=SIZE, message_hook=messages) as pilot:
        await select(pilot, "Live")
        await pilot.press("delete")  # refused at once: not a draft
        await wait_for(pilot, lambda: notified(messages, "never published"))
        assert screen_name(app) == "DashboardScreen"
        await select(pilot, "Was live")
        await pilot.press("delete")  # a draft: asked, and the store refuses
        await wait_for(pilot, lambda: screen_name(app) == "Confirm")
        await pilot.press("y")
        await wait_for(pilot, lambda: notified(messages, "cannot be deleted"))
    assert titles(alice) == ["Live", "Was live"]
