"""Choosing collectives, preflight, publishing, reviews, settings and the dashboard."""

from __future__ import annotations

from typing import Any

from textual.widgets import Input, Switch

from post001.core.models import CollectiveCreate, PostCreate, Role, ShareStatus
from post001.tui.messages import (
    CollectivesApplied,
    DraftSaved,
    PreflightReady,
    Published,
    ReviewDecided,
)
from tests.tui.conftest import SIZE, screen_name, settled, wait_for


async def open_post(pilot: Any, title: str) -> None:
    app = pilot.app
    await wait_for(pilot, lambda: getattr(app.screen, "posts", None))
    index = [p.title for p in app.screen.shown_posts].index(title)
    app.screen.query_one("#posts").move_cursor(row=index)
    await pilot.press("enter")
    await wait_for(pilot, lambda: screen_name(app) == "EditorScreen" and app.screen.loaded)


async def open_picker(pilot: Any) -> Any:
    await pilot.press("f3")
    await wait_for(pilot, lambda: screen_name(pilot.app) == "CollectivePicker")
    picker = pilot.app.screen
    await wait_for(pilot, lambda: picker._shown_request == picker._request)
    return picker


async def settle(pilot: Any, picker: Any) -> None:
    await pilot.pause()  # the keys' Input.Changed is handled: the last search is asked
    await wait_for(pilot, lambda: picker._shown_request == picker._request)


def slugs(picker: Any) -> list[str]:
    return [row.slug for row in picker.rows]


async def test_picker_search_filter_sort_and_confirm(make_app: Any, world: Any,
                                                     messages: Any) -> None:
    alice = world["alice"]
    post = alice.create_post(PostCreate(title="Pick me", content="body"))
    app, _ = make_app()
    async with app.run_test(size=SIZE, message_hook=messages) as pilot:
        await open_post(pilot, "Pick me")
        picker = await open_picker(pilot)
        # Only where alice can post, by role: owner, editor, author, contributor.
        assert slugs(picker) == ["dev-notes", "rust-weekly", "open-stories", "ml-digest"]
        # Type to search (the list forwards letters to the search box), case-insensitive.
        await pilot.press(*"RUST")
        await settle(pilot, picker)
        assert picker.query_one("#search", Input).value == "RUST"
        assert slugs(picker) == ["rust-weekly"]
        await pilot.press("backspace", "backspace", "backspace", "backspace")
        await settle(pilot, picker)
        # The filter off shows design-crit, where alice is only a member, and why.
        await pilot.press("ctrl+f")
        await settle(pilot, picker)
        assert not picker.query_one("#postable", Switch).value
        design = next(r for r in picker.rows if r.slug == "design-crit")
        assert not design.can_post and "member" in (design.reason or "")
        # Sort by name, then by members.
        await pilot.press("ctrl+o")
        await settle(pilot, picker)
        assert slugs(picker) == ["design-crit", "dev-notes", "ml-digest", "open-stories",
                                 "rust-weekly"]
        await pilot.press("ctrl+o")
        await settle(pilot, picker)
        assert slugs(picker)[0] == "dev-notes"  # three members: the most
        # Space toggles the row under the cursor; enter confirms.
        await pilot.press("space", "down", "space", "enter")
        await wait_for(pilot, lambda: messages.of(CollectivesApplied))
    assert {s.collective for s in alice.get_post(post.id).shares} == {"dev-notes",
                                                                      slugs(picker)[1]}


async def test_picker_reach_counts_each_person_once(make_app: Any, world: Any) -> None:
    """dev-notes, rust-weekly and ml-digest hold 7 memberships, but besides alice only
    bob and carol: the preview says 2 people, as preflight will."""
    alice = world["alice"]
    post = alice.create_post(PostCreate(title="Reach", content="body"))
    app, _ = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_post(pilot, "Reach")
        picker = await open_picker(pilot)
        for slug in ("dev-notes", "rust-weekly", "ml-digest"):
            picker.query_one("#rows").move_cursor(row=slugs(picker).index(slug))
            await pilot.press("space")
        preview = picker.query_one("#picker-preview")
        await wait_for(pilot, lambda: "reaches" in str(preview.render()))
        text = str(preview.render())
        assert "2 publish · 1 go to review" in text and "reaches 2 people" in text
        # Deselecting rust-weekly (only bob) leaves bob and carol, from dev-notes.
        picker.query_one("#rows").move_cursor(row=slugs(picker).index("rust-weekly"))
        await pilot.press("space")
        await wait_for(pilot, lambda: "1 publish" in str(preview.render())
                       and "reaches" in str(preview.render()))
        assert "reaches 2 people" in str(preview.render())
    assert alice.reach(["dev-notes", "rust-weekly", "ml-digest"]) == 2
    assert alice.get_post(post.id).shares == []  # escape was not pressed, nothing applied


async def test_picker_escape_cancels_the_buffer(make_app: Any, world: Any) -> None:
    alice = world["alice"]
    post = alice.create_post(PostCreate(title="Keep", content="body", collectives=["dev-notes"]))
    app, _ = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_post(pilot, "Keep")
        picker = await open_picker(pilot)
        assert list(picker.selected) == ["dev-notes"]
        await pilot.press("ctrl+l", "down", "space", "down", "space")
        assert len(picker.selected) == 2
        await pilot.press("escape")
        await wait_for(pilot, lambda: screen_name(app) == "EditorScreen")
        await settled(pilot)
    assert [s.collective for s in alice.get_post(post.id).shares] == ["dev-notes"]


async def test_picker_select_all_stops_at_the_maximum(make_app: Any, open_as: Any,
                                                      monkeypatch: Any) -> None:
    monkeypatch.setenv("POST001_MAX_COLLECTIVES_PER_POST", "4")  # the store's own limit
    alice = open_as("alice")
    for i in range(6):
        alice.create_collective(CollectiveCreate(slug=f"group-{i}", name=f"Group {i}"))
    alice.create_post(PostCreate(title="Many", content="body"))
    app, _ = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_post(pilot, "Many")
        picker = await open_picker(pilot)
        assert picker.maximum == 4
        await pilot.press("ctrl+a")
        await wait_for(pilot, lambda: len(picker.selected) == 4)
        message = str(picker.query_one("#limit-message").render())
        assert "at most 4 collectives" in message
        assert picker.query_one("#select-all").disabled
        # Further picks are refused while at the maximum.
        picker.query_one("#rows").move_cursor(row=5)
        await pilot.press("space")
        assert len(picker.selected) == 4
        # Deselecting one frees a place.
        picker.query_one("#rows").move_cursor(row=0)
        await pilot.press("space")
        assert len(picker.selected) == 3
        assert str(picker.query_one("#limit-message").render()).strip() == ""


async def test_picker_stays_small_with_thousands_of_memberships(make_app: Any,
                                                                open_as: Any) -> None:
    from post001.tui.screens.picker import WINDOW

    alice = open_as("alice")
    for i in range(WINDOW + 30):
        alice.create_collective(CollectiveCreate(slug=f"c-{i:04d}", name=f"Circle {i:04d}"))
    alice.create_post(PostCreate(title="Big", content="body"))
    app, _ = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_post(pilot, "Big")
        picker = await open_picker(pilot)
        assert len(picker.rows) == WINDOW and picker.more
        assert "type to narrow" in str(picker.query_one("#count").render())
        await pilot.press(*"0042")
        await settle(pilot, picker)
        assert slugs(picker) == ["c-0042"]


async def test_preflight_mix_then_publish_and_result(make_app: Any, world: Any,
                                                     messages: Any) -> None:
    alice = world["alice"]
    post = alice.create_post(PostCreate(
        title="Mixed", content="body",
        collectives=["rust-weekly", "ml-digest", "open-stories", "design-crit"]))
    app, _ = make_app()
    async with app.run_test(size=SIZE, message_hook=messages) as pilot:
        await open_post(pilot, "Mixed")
        await pilot.press("f9")
        await wait_for(pilot, lambda: messages.of(PreflightReady))
        plan = messages.of(PreflightReady)[-1].plan
        outcomes = {p.collective: p.outcome.value for p in plan.collectives}
        assert outcomes == {"rust-weekly": "publish", "ml-digest": "review",
                            "open-stories": "review", "design-crit": "not_allowed"}
        assert not plan.can_publish
        assert app.screen.query_one("#publish").disabled
        assert "Design Crit" in str(app.screen.query_one("#problems").render())
        await pilot.press("f9")  # refused, with the reasons
        await settled(pilot)
        assert messages.of(Published) == []
        # Deselect the collective where alice is only a member: the panel updates.
        await pilot.press("f3")
        await wait_for(pilot, lambda: screen_name(app) == "CollectivePicker")
        picker = app.screen
        del picker.selected["design-crit"]
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(messages.of(PreflightReady)) >= 2
                       and messages.of(PreflightReady)[-1].plan.can_publish)
        assert messages.of(PreflightReady)[-1].plan.reach > 0
        await pilot.press("f9")
        # Mounted: its on_mount has filled the table (the screen is current before that).
        await wait_for(pilot, lambda: screen_name(app) == "PublishSummaryScreen"
                       and app.screen.is_mounted)
        result = messages.of(Published)[0].result
        table = app.screen.query_one("#outcomes")
        assert table.row_count == 3
    stored = {s.collective: s.status for s in alice.get_post(post.id).shares}
    assert stored == {"rust-weekly": ShareStatus.PUBLISHED,
                      "ml-digest": ShareStatus.PENDING_APPROVAL,
                      "open-stories": ShareStatus.PENDING_APPROVAL}
    assert {o.collective: o.status for o in result.outcomes} == stored


async def test_published_post_edit_add_collective_and_unpublish(
        make_app: Any, world: Any, clock: Any, messages: Any) -> None:
    alice = world["alice"]
    post = alice.create_post(PostCreate(title="Live", content="v1", collectives=["dev-notes"]))
    alice.publish(post.id)
    app, _ = make_app()
    async with app.run_test(size=SIZE, message_hook=messages) as pilot:
        await open_post(pilot, "Live")
        await pilot.press("end", *" edited")
        clock.advance(seconds=2)
        await wait_for(pilot, lambda: messages.of(DraftSaved))
        picker = await open_picker(pilot)
        picker.selected["rust-weekly"] = None
        await pilot.press("enter")
        await wait_for(pilot, lambda: messages.of(CollectivesApplied))
        await pilot.press("f8")
        await wait_for(pilot, lambda: alice.get_post(post.id).status.value == "draft")
    stored = alice.get_post(post.id)
    assert stored.content == "v1 edited"
    assert {s.collective: s.status for s in stored.shares} == {
        "dev-notes": ShareStatus.DRAFT, "rust-weekly": ShareStatus.DRAFT}


async def test_review_queue_approve_and_reject(make_app: Any, world: Any,
                                               messages: Any) -> None:
    bob, carol = world["bob"], world["carol"]
    first = bob.create_post(PostCreate(title="From bob", content="b",
                                       collectives=["dev-notes"]))
    bob.publish(first.id)  # bob is a contributor in dev-notes: goes to review
    second = carol.create_post(PostCreate(title="From carol", content="c",
                                          collectives=["dev-notes"]))
    world["alice"].update_collective("dev-notes", __import__(
        "post001").CollectiveUpdate(require_approval=True))
    carol.publish(second.id)  # an author where approval is required: goes to review
    app, _ = make_app()
    async with app.run_test(size=SIZE, message_hook=messages) as pilot:
        await wait_for(pilot, lambda: getattr(app.screen, "reviews", None))
        assert len(app.screen.reviews) == 2
        await pilot.press("r")
        await wait_for(pilot, lambda: screen_name(app) == "ReviewScreen" and app.screen.items)
        titles = [i.title for i in app.screen.items]
        app.screen.query_one("#queue").move_cursor(row=titles.index("From bob"))
        await pilot.press("a")
        await wait_for(pilot, lambda: messages.of(ReviewDecided))
        await wait_for(pilot, lambda: len(app.screen.items) == 1)
        await pilot.press("x")
        await wait_for(pilot, lambda: screen_name(app) == "RejectReasonScreen")
        await pilot.press("enter")  # no reason: refused on the form
        assert "required" in str(app.screen.query_one("#reason-error").render())
        await pilot.press(*"Off topic")
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(messages.of(ReviewDecided)) == 2)
    decided = {(d.post_id, d.approved) for d in messages.of(ReviewDecided)}
    assert decided == {(first.id, True), (second.id, False)}
    assert bob.get_post(first.id).shares[0].status is ShareStatus.PUBLISHED
    share = carol.get_post(second.id).shares[0]
    assert share.status is ShareStatus.REJECTED and share.rejection_reason == "Off topic"


async def test_settings_mark_invalid_fields_and_keep_the_text(make_app: Any, world: Any,
                                                              clock: Any) -> None:
    alice = world["alice"]
    post = alice.create_post(PostCreate(title="Tuned", content="body"))
    app, _ = make_app()
    long_seo = "x" * 70
    async with app.run_test(size=SIZE) as pilot:
        await open_post(pilot, "Tuned")
        await pilot.press("f2")
        await wait_for(pilot, lambda: screen_name(app) == "PostSettingsScreen")
        screen = app.screen
        screen.query_one("#in-byline", Input).value = "Alice A."
        screen.query_one("#in-seo_title", Input).value = long_seo
        screen.query_one("#in-thumbnail_url", Input).value = "ftp://nope"
        await pilot.pause()
        assert "70/60" in str(screen.query_one("#count-seo_title").render())
        assert "limit is 60" in str(screen.query_one("#error-seo_title").render())
        assert "http" in str(screen.query_one("#error-thumbnail_url").render())
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: screen_name(app) == "EditorScreen")
        await wait_for(pilot, lambda: alice.get_post(post.id).byline == "Alice A.")
        # Reopen: the invalid text is still there, still marked.
        await pilot.press("f2")
        await wait_for(pilot, lambda: screen_name(app) == "PostSettingsScreen")
        assert app.screen.query_one("#in-seo_title", Input).value == long_seo
        assert app.screen.errors.keys() == {"seo_title", "thumbnail_url"}
    stored = alice.get_post(post.id)
    assert stored.seo_title == "" and stored.thumbnail_url is None


async def test_history_restores_an_earlier_version(make_app: Any, open_as: Any,
                                                   clock: Any) -> None:
    from post001.core.models import PostUpdate

    alice = open_as("alice")
    post = alice.create_post(PostCreate(title="Old", content="first"))
    clock.advance(minutes=5)
    alice.update_post(post.id, PostUpdate(title="New", content="second"), expected_version=1)
    app, _ = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_post(pilot, "New")
        await pilot.press("f5")
        await wait_for(pilot, lambda: screen_name(app) == "HistoryScreen"
                       and app.screen.revisions)
        versions = [r.version for r in app.screen.revisions]
        assert versions[0] > versions[-1]
        app.screen.query_one("#revisions").move_cursor(row=len(versions) - 1)
        await pilot.press("r")
        await wait_for(pilot, lambda: screen_name(app) == "EditorScreen")
        await wait_for(pilot, lambda: app.screen.query_one("#title", Input).value == "Old")
    assert alice.get_post(post.id).content == "first"


async def test_first_time_user_is_told_what_to_do_and_creates_a_collective(
        make_app: Any, open_as: Any) -> None:
    app, _ = make_app(user="newbie")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.screen.loaded)
        welcome = str(app.screen.query_one("#welcome-text").render())
        assert "not in any collective" in welcome and "newbie" in welcome
        await pilot.press("c")
        await wait_for(pilot, lambda: screen_name(app) == "NewCollectiveScreen")
        await pilot.press(*"Night Owls")
        assert app.screen.query_one("#slug", Input).value == "night-owls"
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen_name(app) == "DashboardScreen"
                       and app.screen.collectives)
        assert app.screen.collectives[0].role is Role.OWNER
        assert not app.screen.query_one("#welcome").display or \
            "not in any" not in str(app.screen.query_one("#welcome-text").render())
    assert [m.slug for m in open_as("newbie").my_collectives()] == ["night-owls"]


async def test_command_palette_lists_the_main_actions(make_app: Any) -> None:
    from post001.tui.commands import Post001Commands

    app, _ = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.store is not None)
        provider = Post001Commands(app.screen)
        names = [hit.text async for hit in provider.discover()]
        assert {"New post", "Review queue", "New collective", "Quit", "Help"} <= set(names)
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: screen_name(app) == "CommandPalette")
        await pilot.press(*"new post", "enter")
        await wait_for(pilot, lambda: screen_name(app) == "EditorScreen")


async def test_help_opens_with_f1_and_question_mark(make_app: Any) -> None:
    app, _ = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.store is not None)
        await pilot.press("f1")
        assert screen_name(app) == "HelpScreen"
        await pilot.press("escape")
        await pilot.press("question_mark")
        assert screen_name(app) == "HelpScreen"


async def test_validation_flag_off_publishes_without_the_panel(
        make_app: Any, world: Any, messages: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("ENABLE_VALIDATION", "false")
    alice = world["alice"]
    post = alice.create_post(PostCreate(title="Direct", content="b", collectives=["dev-notes"]))
    app, _ = make_app()
    async with app.run_test(size=SIZE, message_hook=messages) as pilot:
        await open_post(pilot, "Direct")
        await pilot.press("f9")
        await wait_for(pilot, lambda: screen_name(app) == "PublishSummaryScreen")
        assert messages.of(PreflightReady) == []
    assert alice.get_post(post.id).status.value == "published"
