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
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Label, Static

from post001.core import labels
from post001.core.errors import Post001Error
from post001.core.models import Outcome, Post, Preflight, PublishResult
from post001.tui.fit_table import Cell, Column, FitTable
from post001.tui.footer import AppFooter
from post001.tui.header import AppHeader
from post001.tui.messages import CollectivesApplied, PreflightReady, Published
from post001.tui.screens.base import BaseScreen
from post001.tui.sizes import SizeClasses

if TYPE_CHECKING:
    from post001.core.store import Store
    from post001.tui.screens.editor import EditorScreen

#: "What happens" is never shortened; "Why" is, between words (every reason is also
#: written out in full under the table); a slug is shown whole or not at all.
PLAN_COLUMNS = (
    Column("name", "Collective", min=14, grow=2),
    Column("slug", "Slug", keep=True, hide=3),
    Column("role", "Your role", min=9, keep=True, hide=1),
    Column("members", "Members", min=7, keep=True, hide=2, justify="right"),
    Column("outcome", "What happens", keep=True),
    Column("why", "Why", min=24, grow=4),
)

#: Said by the verdict; not repeated as a note.
SHOWN_ELSEWHERE = ("no_collectives",)


def apply_collectives(editor: EditorScreen, slugs: list[str]) -> None:
    """Make the post's selection `slugs` (adds and removes only the difference)."""
    assert editor.post_id is not None
    sync = editor.sync  # its writes for this post run one at a time

    def apply(store: Store) -> Post:
        return sync.set_collectives(store, slugs)

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

    sync = editor.sync
    assert sync.post_id == post_id

    def publish(store: Store) -> PublishResult:
        return sync.publish(store, idempotency_key)

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


class PreflightScreen(SizeClasses, BaseScreen):
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
        yield AppHeader()
        with VerticalScroll(id="preflight"):
            yield Static("Checking…", id="verdict")
            yield FitTable(id="plan")
            yield Label("Blocking publication", classes="section-title", id="problems-title")
            yield Static("", id="problems")
            yield Label("Good to know", classes="section-title", id="notes-title")
            yield Static("", id="notes")
            yield Static("", id="reach")
        with Horizontal(classes="buttons"):
            yield Button("Publish (f9)", id="publish", variant="success", disabled=True)
            yield Button("Collectives (f3)", id="collectives")
            yield Button("Back (esc)", id="back")
        yield AppFooter(compact=True)

    def on_mount(self) -> None:
        self.query_one("#plan", FitTable).set_columns(PLAN_COLUMNS)
        for widget in ("#problems-title", "#problems", "#notes-title", "#notes"):
            self.query_one(widget).display = False
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
        table = self.query_one("#plan", FitTable)
        rows: list[tuple[str, dict[str, Cell]]] = []
        for item in plan.collectives:
            label = labels.OUTCOME[item.outcome]
            rows.append((item.collective, {
                "name": item.collective_name,
                "slug": Text(item.collective, style="cyan"),
                "role": item.role.value if item.role else "—",
                "members": f"{item.member_count:,}",
                "outcome": Text(label.text, style=label.style),
                "why": Text(item.reason or "", style="dim" if not item.reason else ""),
            }))
        table.set_rows(rows)
        table.display = bool(rows)
        problems = Text("\n").join(Text(f"✗ {e.message}", style="red") for e in plan.errors)
        notes = Text("\n").join(Text(f"• {w.message}", style="yellow") for w in plan.warnings
                                if w.code not in SHOWN_ELSEWHERE)
        for section, body in (("problems", problems), ("notes", notes)):
            self.query_one(f"#{section}", Static).update(body)
            self.query_one(f"#{section}", Static).display = bool(body)
            self.query_one(f"#{section}-title").display = bool(body)
        self.query_one("#reach", Static).update(
            f"Reaches {plan.reach:,} {'person' if plan.reach == 1 else 'people'} besides you")
        self.query_one("#verdict", Static).update(self._verdict(plan))
        self.query_one("#publish", Button).disabled = not plan.can_publish
        self.post_message(PreflightReady(plan))

    @staticmethod
    def _verdict(plan: Preflight) -> Text:
        """One line that says what f9 does now; never both "ready" and a contradiction."""
        if not plan.can_publish:
            count = len(plan.errors)
            return Text(f"Publishing is blocked: {count} problem{'s' * (count != 1)} to fix "
                        "first (listed below).", style="bold red")
        if not plan.collectives:
            return Text("No collective selected: f9 publishes on your profile only. "
                        "Press f3 to choose collectives.", style="bold yellow")
        counts = {o: sum(1 for p in plan.collectives if p.outcome is o) for o in Outcome}
        parts = [f"{labels.OUTCOME[o].text} in {counts[o]} collective"
                 f"{'s' * (counts[o] != 1)}" for o in (Outcome.PUBLISH, Outcome.REVIEW)
                 if counts[o]]
        return Text(f"Ready: it {' and '.join(parts)}. Press f9 to publish.",
                    style="bold green")

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
