"""Full-text search: published posts by several writers, only what the reader may read,
searched as you type (debounced, off the UI thread); others' posts open read-only."""

from __future__ import annotations

from typing import Any

import pytest
from textual.widgets import DataTable, Input, Markdown

from post001.core.models import CollectiveCreate, PostCreate
from post001.tui.messages import SearchFinished
from tests.tui.conftest import SIZE, screen_name, wait_for


@pytest.fixture
def library(world: Any) -> dict[str, Any]:
    alice, bob = world["alice"], world["bob"]
    # bob's own collective, which alice is not in
    bob.create_collective(CollectiveCreate(slug="bob-circle", name="Bob's Circle"))
    public = bob.create_post(PostCreate(title="Rust tips", content="Lifetimes, gently.",
                                        collectives=["rust-weekly"]))
    bob.publish(public.id)
    private = bob.create_post(PostCreate(title="Rust secrets", content="Only my circle.",
                                         is_public=False, collectives=["bob-circle"]))
    bob.publish(private.id)
    bob.create_post(PostCreate(title="Rust draft", content="Not published."))
    mine = alice.create_post(PostCreate(title="Rust for writers", content="Why I switched.",
                                        collectives=["dev-notes"]))
    alice.publish(mine.id)
    alice.publish(alice.create_post(PostCreate(title="Gardening", content="Tomatoes.")).id)
    return {"public": public, "private": private, "mine": mine}


async def search_for(pilot: Any, text: str) -> Any:
    app = pilot.app
    await wait_for(pilot, lambda: getattr(app.screen, "loaded", False))
    await pilot.press("s")
    await wait_for(pilot, lambda: screen_name(app) == "SearchScreen")
    await pilot.press(*text)
    screen = app.screen
    await wait_for(pilot, lambda: screen.query_text == text)
    return screen


async def test_search_lists_what_i_may_read_and_opens_it(
        make_app: Any, library: Any, messages: Any) -> None:
    app, store = make_app()
    calls: list[str] = []
    inner_search = store.search

    def counting_search(query: str, **kwargs: Any) -> Any:
        calls.append(query)
        return inner_search(query, **kwargs)

    store.search = counting_search  # type: ignore[method-assign]
    async with app.run_test(size=SIZE, message_hook=messages) as pilot:
        screen = await search_for(pilot, "rust")
        assert calls == ["rust"]  # typed in one go: one search after the pause
        assert {(p.title, p.author) for p in screen.results} == {
            ("Rust tips", "bob"), ("Rust for writers", "alice")}
        table = screen.query_one("#search-results", DataTable)
        rows = {str(table.get_row_at(i)[0]): [str(c) for c in table.get_row_at(i)]
                for i in range(table.row_count)}
        _, author, collectives, published = rows["Rust tips"]
        assert author == "bob"
        assert "rust-weekly published" in collectives
        assert published.startswith("2026-01-05")
        assert rows["Rust for writers"][1] == "alice (me)"
        assert "2 results for “rust”" in str(screen.query_one("#search-title").render())

        # someone else's post opens read-only
        table.focus()
        table.move_cursor(row=[p.title for p in screen.results].index("Rust tips"))
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen_name(app) == "ReaderScreen"
                       and app.screen.post is not None)
        reader = app.screen
        assert reader.post.id == library["public"].id
        assert "by bob" in str(reader.query_one("#reader-meta").render())
        assert "Lifetimes, gently." in reader.query_one("#reader-body", Markdown).source
        assert not reader.query("TextArea, Input")  # nothing to type into
        await pilot.press("escape")
        await wait_for(pilot, lambda: screen_name(app) == "SearchScreen")

        # my own opens in the editor
        table.move_cursor(row=[p.title for p in screen.results].index("Rust for writers"))
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen_name(app) == "EditorScreen" and app.screen.loaded)
        assert app.screen.post_id == library["mine"].id
        await pilot.press("escape")
        await wait_for(pilot, lambda: screen_name(app) == "SearchScreen")

        # a new query replaces the results; the private post never shows
        await pilot.press("escape")  # from the results back to the query
        assert app.focused is screen.query_one("#search-query", Input)
        screen.query_one("#search-query", Input).value = ""
        await pilot.press(*"circle")
        await wait_for(pilot, lambda: screen.query_text == "circle")
        assert screen.results == []
        assert "No published post you can read matches" in str(
            screen.query_one("#search-empty").render())
    assert all(not m.results or m.query != "circle" for m in messages.of(SearchFinished))


async def test_the_private_post_is_found_by_its_author(make_app: Any, library: Any) -> None:
    app, _ = make_app(user="bob")
    async with app.run_test(size=SIZE) as pilot:
        screen = await search_for(pilot, "rust")
        assert {p.title for p in screen.results} == {"Rust tips", "Rust secrets",
                                                     "Rust for writers"}


async def test_the_palette_opens_search(make_app: Any, library: Any) -> None:
    app, _ = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: getattr(app.screen, "loaded", False))
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: screen_name(app) == "CommandPalette")
        await pilot.press(*"Search published")
        await wait_for(pilot, lambda: "Search published" in highlighted_command(app))
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen_name(app) == "SearchScreen")
        assert app.focused is app.screen.query_one("#search-query", Input)


def highlighted_command(app: Any) -> str:
    """The palette's highlighted command ("" while the search has not answered)."""
    from textual.command import CommandList

    options = app.screen.query_one(CommandList)
    if options.highlighted is None:
        return ""
    return str(options.get_option_at_index(options.highlighted).prompt)
