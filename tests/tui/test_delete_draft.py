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


async def test_a_reload_that_answers_late_does_not_bring_a_deleted_draft_back(
        make_app: Any, open_as: Any) -> None:
    """Closing the question reloads the dashboard, and so does the deletion once done;
    the first reload, read before the deletion, may answer last. It is dropped: the
    newer one replaced it (in a thread it cannot be stopped)."""
    import asyncio
    import threading
    from concurrent.futures import Future, ThreadPoolExecutor

    class Tracked(ThreadPoolExecutor):
        """The loop's thread pool, keeping each job's future: a job cancelled in
        Textual still runs to its end in its thread, and the test waits for that."""

        def __init__(self) -> None:
            super().__init__(max_workers=8)
            self.jobs: list[Future[Any]] = []

        def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
            job = super().submit(fn, *args, **kwargs)
            self.jobs.append(job)
            return job

    alice = open_as("alice")
    for title in ("Scrap", "Keep"):
        alice.create_post(PostCreate(title=title, content="words"))
    app, _ = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await select(pilot, "Scrap")
        dashboard, store = app.screen, app.store
        threads = Tracked()
        asyncio.get_running_loop().set_default_executor(threads)
        read, answer = threading.Event(), threading.Event()
        page = store.posts_page

        def slow_first_page(*args: Any, **kwargs: Any) -> Any:
            store.posts_page = page  # only this call is slow
            result = page(*args, **kwargs)
            read.set()
            assert answer.wait(60)  # a bound on a hang, not a pace
            return result

        store.posts_page = slow_first_page
        dashboard.refresh_data()  # reads the list with "Scrap" in it, answers late
        await wait_for(pilot, read.is_set)
        alice.delete_post(next(p.id for p in alice.list_posts() if p.title == "Scrap"))
        dashboard.refresh_data()
        await wait_for(pilot, lambda: [p.title for p in dashboard.shown_posts] == ["Keep"])
        answer.set()
        await wait_for(pilot, lambda: all(job.done() for job in threads.jobs))
        await settled(pilot)
        assert [p.title for p in dashboard.shown_posts] == ["Keep"]


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
