"""Before publishing: what will happen in each collective, what blocks it, and the reach.

The plan comes from the store's own preflight (the same one that gates the real
publish), refreshed whenever the selection changes. Publishing is refused here while
there are errors, and each reason is listed.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, DataTable, Footer, Header, Label, Static

from post001.core.errors import Post001Error
from post001.core.models import Outcome, Post, Preflight, PublishResult
from post001.tui.messages import CollectivesApplied, PreflightReady, Published
from post001.tui.screens.base import BaseScreen

if TYPE_CHECKING:
    from post001.tui.screens.editor import EditorScreen

OUTCOME_LABEL = {
    Outcome.PUBLISH: ("publishes", "green"),
    Outcome.REVIEW: ("goes to review", "yellow"),
    Outcome.NOT_ALLOWED: ("not allowed", "red"),
}


def apply_collectives(editor: EditorScreen, slugs: list[str]) -> None:
    """Make the post's selection `slugs` (adds and removes only the difference)."""
    post_id = editor.post_id
    assert post_id is not None

    def apply(store: Any) -> Post:
        with editor._write_lock:
            post: Post = store.set_collectives(post_id, slugs)
        return post

    def done(post: Post) -> None:
        editor.collectives_applied(post)
        editor.post_message(CollectivesApplied(post, slugs))
        for screen in editor.app.screen_stack:
            if isinstance(screen, PreflightScreen):
                screen.selected = list(slugs)
                screen.refresh_plan()

    editor.call_store("changing collectives", apply, done)


def publish_now(editor: EditorScreen, post_id: UUID, key: str | None = None) -> None:
    """Publish (all or nothing) and show the result screen."""
    idempotency_key = key or uuid.uuid4().hex

    def publish(store: Any) -> PublishResult:
        with editor._write_lock:
            result: PublishResult = store.publish(post_id, idempotency_key=idempotency_key)
            editor.version = max(editor.version, result.post.version)
        return result

    def done(result: PublishResult) -> None:
        from post001.tui.screens.publish_summary import PublishSummaryScreen

        editor.collectives_applied(result.post)
        editor.post_message(Published(result))
        for screen in list(editor.app.screen_stack):
            if isinstance(screen, PreflightScreen) and editor.app.screen is screen:
                editor.app.pop_screen()
        editor.app.push_screen(PublishSummaryScreen(result))

    def failed(error: Any) -> None:
        # Offline on a team server: the reason, and the explicit choice to queue it.
        if not editor.papp.offer_publish_later(post_id, error, idempotency_key):
            editor.show_error(error, "publishing")
        for screen in editor.app.screen_stack:
            if isinstance(screen, PreflightScreen):
                screen.refresh_plan()

    editor.call_store("publishing", publish, done, failed=failed)


class PreflightScreen(BaseScreen):
    """The publish panel for one post."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("f3,ctrl+l", "pick_collectives", "Collectives"),
        Binding("f9,ctrl+b", "publish", "Publish"),
    ]

    def __init__(self, editor: EditorScreen, post_id: UUID, selected: list[str]) -> None:
        super().__init__()
        self.editor = editor
        self.post_id = post_id
        self.selected = selected
        self.plan: Preflight | None = None
        self.idempotency_key = uuid.uuid4().hex  # one publish, however often it is retried

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="preflight"):
            yield Label("Ready to publish?", classes="dialog-title")
            yield Static("Checking…", id="verdict")
            yield DataTable(id="plan", cursor_type="row", zebra_stripes=True)
            yield Label("Problems", classes="section-title")
            yield Static("", id="problems")
            yield Static("", id="reach")
            with Horizontal(classes="buttons"):
                yield Button("Publish (f9)", id="publish", variant="success", disabled=True)
                yield Button("Collectives (f3)", id="collectives")
                yield Button("Back (esc)", id="back")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#plan", DataTable)
        table.add_column("Collective", width=20)
        table.add_column("Slug", width=16)
        table.add_column("Your role", width=11)
        table.add_column("Members", width=7)
        table.add_column("What happens", width=14)
        table.add_column("Why")
        self.refresh_plan()

    def refresh_plan(self) -> None:
        post_id = self.post_id
        self.call_store("checking the post", lambda s: s.preflight(post_id), self._show,
                        failed=self._plan_failed)

    def _plan_failed(self, error: Post001Error) -> None:
        # Offline on a team server: the reason, and the explicit choice to queue it.
        if not self.papp.offer_publish_later(self.post_id, error, self.idempotency_key):
            self.show_error(error, "checking the post")

    def _show(self, plan: Preflight) -> None:
        self.plan = plan
        table = self.query_one("#plan", DataTable)
        table.clear()
        for item in plan.collectives:
            label, style = OUTCOME_LABEL[item.outcome]
            table.add_row(item.collective_name, Text(item.collective, style="cyan"),
                          item.role.value if item.role else "—",
                          Text(f"{item.member_count:,}", justify="right"),
                          Text(label, style=style), item.reason or "")
        problems = Text()
        for error in plan.errors:
            problems.append(f"✗ {error.message}\n", style="red")
        for warning in plan.warnings:
            problems.append(f"! {warning.message}\n", style="yellow")
        if not plan.errors and not plan.warnings:
            problems.append("None.", style="green")
        self.query_one("#problems", Static).update(problems)
        self.query_one("#reach", Static).update(
            f"Estimated reach: {plan.reach:,} member{'s' * (plan.reach != 1)}")
        verdict = self.query_one("#verdict", Static)
        if plan.can_publish:
            verdict.update(Text("Everything checks out: press f9 to publish.", style="green"))
        else:
            verdict.update(Text("Publishing is blocked until the problems below are fixed.",
                                style="bold red"))
        self.query_one("#publish", Button).disabled = not plan.can_publish
        self.post_message(PreflightReady(plan))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "publish":
            self.action_publish()
        elif event.button.id == "collectives":
            self.action_pick_collectives()
        elif event.button.id == "back":
            self.action_back()

    def action_pick_collectives(self) -> None:
        from post001.tui.screens.picker import CollectivePicker

        self.app.push_screen(CollectivePicker(list(self.selected)), self._picked)

    def _picked(self, slugs: list[str] | None) -> None:
        if slugs is not None:
            apply_collectives(self.editor, slugs)

    def action_publish(self) -> None:
        if self.plan is None:
            return
        if not self.plan.can_publish:
            self.notify("\n".join(e.message for e in self.plan.errors),
                        title="Not published", severity="error")
            return
        self.query_one("#publish", Button).disabled = True
        publish_now(self.editor, self.post_id, self.idempotency_key)

    def action_back(self) -> None:
        self.app.pop_screen()
