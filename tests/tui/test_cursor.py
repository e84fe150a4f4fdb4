"""Words land where the cursor is, also when a long draft's highlighting switches.

Setting `TextArea.language` rebuilds the document and moves the cursor to (0, 0); the
editor switches highlighting off past HIGHLIGHT_MAX_CHARS and back on under half of it.
These tests type across both edges in bursts, the way a writer does, and wait on the
word count (the switch runs with it) rather than on time.
"""

from __future__ import annotations

from typing import Any

from textual.widgets import Static, TextArea
from textual.widgets.text_area import Selection

from post001.core.models import PostCreate
from post001.core.text import word_count
from post001.tui.screens.editor import HIGHLIGHT_MAX_CHARS
from tests.tui.conftest import SIZE, screen_name, wait_for


async def open_post(pilot: Any, app: Any, post_id: Any) -> TextArea:
    await wait_for(pilot, lambda: app.store is not None)
    app.action_open_post(str(post_id))
    await wait_for(pilot, lambda: screen_name(app) == "EditorScreen" and app.screen.loaded,
                   timeout=30)
    body: TextArea = app.screen.query_one("#body", TextArea)
    return body


def shown_words(app: Any) -> str:
    return str(app.screen.query_one("#word-count", Static).render())


async def words_counted(pilot: Any, app: Any, text: str) -> None:
    """Wait until the editor has counted `text` (and so fitted its highlighting)."""
    words = word_count(text)
    expected = f"{words:,} word{'s' * (words != 1)}"
    try:
        await wait_for(pilot, lambda: shown_words(app) == expected, timeout=30)
    except AssertionError:
        raise AssertionError(f"{shown_words(app)!r} != {expected!r}") from None


async def test_typing_in_bursts_past_the_highlighting_limit_stays_at_the_cursor(
        make_app: Any, open_as: Any) -> None:
    start = ("word " * (HIGHLIGHT_MAX_CHARS // 5))[: HIGHLIGHT_MAX_CHARS - 42]
    post = open_as("alice").create_post(PostCreate(title="Long", content=start))
    app, _ = make_app()
    async with app.run_test(size=SIZE) as pilot:
        body = await open_post(pilot, app, post.id)
        assert body.language == "markdown"  # under the limit: highlighted
        await pilot.press("ctrl+end")
        expected = start
        for burst in range(8):  # 8 bursts of 11 characters: crosses the limit in the 4th burst
            typed = f"burst{burst} ok "
            await pilot.press(*typed)
            expected += typed
            await words_counted(pilot, app, expected)
            assert body.text == expected, f"burst {burst} landed away from the cursor"
            assert body.cursor_location == body.document.end
        assert len(expected) > HIGHLIGHT_MAX_CHARS
        assert body.language is None  # the switch happened, mid-typing


async def test_typing_after_highlighting_comes_back_stays_at_the_cursor(
        make_app: Any, open_as: Any) -> None:
    lines = [f"line {n} " + "text " * 18 for n in range(1_200)]  # ~115,000 characters
    post = open_as("alice").create_post(PostCreate(title="Long", content="\n".join(lines)))
    app, _ = make_app()
    async with app.run_test(size=SIZE) as pilot:
        body = await open_post(pilot, app, post.id)
        assert body.language is None
        # Select from line 100 to line 850 and delete it: the draft falls under half the
        # limit, with the cursor in the middle of the text.
        body.selection = Selection((100, 0), (850, 0))
        await pilot.press("backspace")
        rest = "\n".join(lines[:100] + lines[850:])
        assert len(rest) < HIGHLIGHT_MAX_CHARS // 2
        at = _offset(rest, 100)
        typed = ""
        for burst in range(4):
            word = f"kept{burst} here "
            await pilot.press(*word)
            typed += word
            expected = rest[:at] + typed + rest[at:]
            await words_counted(pilot, app, expected)
            assert body.language == "markdown"
            assert body.text == expected, f"burst {burst} landed away from the cursor"
            assert body.cursor_location == (100, len(typed))


def _offset(text: str, row: int) -> int:
    """Character offset of the start of `row`."""
    return sum(len(line) + 1 for line in text.split("\n")[:row])


async def test_the_switch_keeps_the_selection_and_the_scroll_position(
        make_app: Any, open_as: Any) -> None:
    lines = [f"line {n} " + "text " * 18 for n in range(1_200)]
    content = "\n".join(lines)
    post = open_as("alice").create_post(PostCreate(title="Long", content=content))
    app, _ = make_app()
    async with app.run_test(size=SIZE) as pilot:
        body = await open_post(pilot, app, post.id)
        assert body.language is None
        body.selection = Selection((900, 3), (905, 7))
        await wait_for(pilot, lambda: body.scroll_offset.y > 0)
        scroll = body.scroll_offset
        # Under half the limit (the text itself is not what is being tested here).
        app.screen._fit_highlighting(body, HIGHLIGHT_MAX_CHARS // 2 - 1)
        assert body.language == "markdown"
        assert body.selection == Selection((900, 3), (905, 7))
        assert body.scroll_offset == scroll
        app.screen._fit_highlighting(body, HIGHLIGHT_MAX_CHARS + 1)
        assert body.language is None
        assert body.selection == Selection((900, 3), (905, 7))
        assert body.scroll_offset == scroll
