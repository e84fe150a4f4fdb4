"""The preflight screen says one thing at a time (post001/tui/screens/preflight.py): a
share that goes to review is a note, not a problem; with no collective chosen it does not
also claim everything checks out; its buttons stay on screen at 80x24."""

from __future__ import annotations

from typing import Any

from post001.core.models import PostCreate
from post001.tui.messages import PreflightReady
from tests.tui.conftest import wait_for
from tests.tui.test_publishing import open_post


def shown(app: Any, widget_id: str) -> str:
    widget = app.screen.query_one(f"#{widget_id}")
    return str(widget.render()) if widget.display else ""


async def to_preflight(pilot: Any, messages: Any, title: str) -> None:
    await open_post(pilot, title)
    await pilot.press("f9")
    await wait_for(pilot, lambda: messages.of(PreflightReady)
                   and type(pilot.app.screen).__name__ == "PreflightScreen"
                   and pilot.app.screen.plan is not None)
    await pilot.pause()


async def test_review_is_a_note_not_a_problem(make_app: Any, world: Any,
                                             messages: Any) -> None:
    world["alice"].create_post(PostCreate(title="Reviewed", content="body",
                                          collectives=["dev-notes", "ml-digest"]))
    app, _ = make_app()
    async with app.run_test(size=(80, 24), message_hook=messages) as pilot:
        await to_preflight(pilot, messages, "Reviewed")
        assert shown(app, "problems") == "" and shown(app, "problems-title") == ""
        assert "ML Digest" in shown(app, "notes") and "review" in shown(app, "notes")
        verdict = shown(app, "verdict")
        assert verdict.startswith(
            "Ready: it publishes in 1 collective and goes to review in 1 collective.")
        for button in ("publish", "collectives", "back"):  # all on screen at 80x24
            region = app.screen.query_one(f"#{button}").region
            assert region.height > 0 and region.bottom <= 23 and region.right <= 80


async def test_nothing_selected_says_so_once(make_app: Any, world: Any,
                                            messages: Any) -> None:
    world["alice"].create_post(PostCreate(title="Alone", content="body"))
    app, _ = make_app()
    async with app.run_test(size=(120, 40), message_hook=messages) as pilot:
        await to_preflight(pilot, messages, "Alone")
        verdict = shown(app, "verdict")
        assert verdict.startswith("No collective selected")
        everything = " ".join(shown(app, w) for w in
                              ("verdict", "problems", "notes", "problems-title",
                               "notes-title"))
        assert everything.count("No collective selected") == 1
        assert "checks out" not in everything and "Ready" not in everything
        assert not app.screen.query_one("#plan").display
        assert not app.screen.query_one("#publish").disabled  # profile-only is allowed
