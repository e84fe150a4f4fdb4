"""The dashboard loads posts a page at a time, off the UI thread, as the writer scrolls;
its columns fit 80 columns without cutting a status (post001/tui/screens/dashboard.py)."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from post001.core.models import PostCreate
from post001.tui.fit_table import FitTable
from post001.tui.screens import dashboard
from tests.tui.conftest import wait_for

POSTS = dashboard.PAGE * 2 + 7


def _seed(store: Any, count: int) -> None:
    for n in range(count):
        store.create_post(PostCreate(title=f"Post number {n:04d}", content="words here"))


async def test_pages_load_as_the_cursor_nears_the_end(make_app: Any, open_as: Any) -> None:
    _seed(open_as("alice"), POSTS)
    app, _ = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: getattr(app.screen, "loaded", False))
        screen = app.screen
        table = screen.query_one("#posts", FitTable)
        assert len(screen.posts) == dashboard.PAGE and table.row_count == dashboard.PAGE
        assert screen.next_cursor is not None
        assert "My posts (50+)" in str(screen.query_one("#posts-title").render())
        while screen.next_cursor is not None:
            rows = table.row_count
            table.move_cursor(row=rows - 1)
            await wait_for(pilot, lambda r=rows: table.row_count > r)
        assert table.row_count == POSTS
        titles = [p.title for p in screen.shown_posts]
        assert len(set(titles)) == POSTS  # no page repeated, none skipped
        assert titles[0] == f"Post number {POSTS - 1:04d}"  # newest first
        assert f"My posts ({POSTS})" in str(screen.query_one("#posts-title").render())


async def test_a_reload_keeps_what_was_scrolled_in(make_app: Any, open_as: Any) -> None:
    _seed(open_as("alice"), POSTS)
    app, _ = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: getattr(app.screen, "loaded", False))
        screen = app.screen
        table = screen.query_one("#posts", FitTable)
        table.move_cursor(row=table.row_count - 1)
        await wait_for(pilot, lambda: table.row_count > dashboard.PAGE)
        loaded = table.row_count
        screen.loaded = False
        screen.refresh_data()
        await wait_for(pilot, lambda: screen.loaded)
        assert table.row_count == loaded


async def test_at_80_columns_statuses_and_can_post_are_whole(make_app: Any, world: Any,
                                                            open_as: Any) -> None:
    alice = world["alice"]
    post = alice.create_post(PostCreate(
        title="A rather long title about writing in terminals every single day",
        content="x", collectives=["dev-notes", "rust-weekly", "ml-digest"]))
    alice.publish(post.id)
    app, _ = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: getattr(app.screen, "loaded", False))
        await pilot.pause()
        posts = app.screen.query_one("#posts", FitTable)
        assert {"title", "status", "shares"} <= set(posts.visible_columns)
        row = posts.get_row_at(0)
        cells = dict(zip(posts.visible_columns, row, strict=True))
        assert str(cells["status"]) == "published"
        assert str(cells["shares"]) == "2 published · 1 in review"
        title = str(cells["title"])
        assert title.endswith("…") and post.title.startswith(title[:-1])
        assert post.title[len(title) - 1] == " "  # cut between words
        collectives = app.screen.query_one("#collectives", FitTable)
        assert "can_post" in collectives.visible_columns
        for index in range(collectives.row_count):
            cells = dict(zip(collectives.visible_columns, collectives.get_row_at(index),
                             strict=True))
            can_post: Text = cells["can_post"]
            assert not can_post.plain.endswith("…")


async def test_the_filter_field_is_made_when_first_asked_for(make_app: Any,
                                                            open_as: Any) -> None:
    _seed(open_as("alice"), 12)
    app, _ = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: getattr(app.screen, "loaded", False))
        screen = app.screen
        assert not screen.query("#filter")  # not part of the first frame
        await pilot.press("slash")
        await wait_for(pilot, lambda: screen.query("#filter")
                       and screen.query_one("#filter").has_focus)
        await pilot.press(*"0007")
        await wait_for(pilot, lambda: [p.title for p in screen.shown_posts]
                       == ["Post number 0007"])
        assert "(1 of 12 loaded)" in str(screen.query_one("#posts-title").render())
        await pilot.press("escape")
        await wait_for(pilot, lambda: not screen.query_one("#filter").display)
        assert len(screen.shown_posts) == 12
