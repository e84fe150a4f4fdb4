"""The review queue: pending shares in the collectives I moderate; read, approve, reject."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, DataTable, Input, Label, Markdown, Static

from post001.core.errors import Post001Error
from post001.core.models import REJECTION_REASON_MAX, Post, ReviewItem
from post001.tui.fit_table import Column, FitTable
from post001.tui.footer import AppFooter
from post001.tui.header import AppHeader
from post001.tui.messages import ReviewDecided
from post001.tui.screens.base import BaseModal, BaseScreen
from post001.tui.sizes import SizeClasses
from post001.tui.widgets import short_time

if TYPE_CHECKING:
    from post001.core.store import Store


class RejectReasonScreen(BaseModal[str | None]):
    """Asks why: the author reads the reason."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, item: ReviewItem) -> None:
        super().__init__()
        self.item = item

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog"):
            yield Label(f"Reject “{self.item.title or 'Untitled'}” in {self.item.collective_name}",
                        classes="dialog-title")
            yield Static("The author sees this reason and can resubmit after editing.",
                         classes="hint")
            yield Input(placeholder="Reason (required)", id="reason",
                        max_length=REJECTION_REASON_MAX)
            yield Static("", id="reason-error", classes="field-error")
            with Horizontal(classes="buttons"):
                yield Button("Reject (enter)", id="reject", variant="error")
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#reason", Input).focus()

    @on(Input.Submitted, "#reason")
    def _submitted(self) -> None:
        self._reject()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "reject":
            self._reject()
        else:
            self.action_cancel()

    def _reject(self) -> None:
        reason = self.query_one("#reason", Input).value.strip()
        if not reason:
            self.query_one("#reason-error", Static).update("✗ a reason is required")
            return
        self.dismiss(reason)

    def action_cancel(self) -> None:
        self.dismiss(None)


QUEUE_COLUMNS = (
    Column("post", "Post", min=16, grow=3),
    Column("author", "Author", min=6, grow=1, hide=2),
    Column("collective", "Collective", keep=True),
    Column("shared", "Shared", keep=True, hide=1),
)


class ReviewScreen(SizeClasses, BaseScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("a", "approve", "Approve"),
        Binding("x", "reject", "Reject…"),
        Binding("f5", "refresh", "Refresh"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.items: list[ReviewItem] = []

    def compose(self) -> ComposeResult:
        yield AppHeader()
        with Horizontal(id="review"):
            with Vertical(id="queue-box"):
                yield Label("Waiting for review", classes="section-title", id="queue-title")
                yield FitTable(id="queue")
                yield Static("", id="queue-empty", classes="hint")
            with Vertical(id="reading-box"):
                yield Label("", id="reading-title", classes="section-title")
                yield Markdown("", id="reading")
        yield AppFooter(compact=True)

    def on_mount(self) -> None:
        table = self.query_one("#queue", FitTable)
        table.set_columns(QUEUE_COLUMNS)
        table.focus()
        self.action_refresh()

    def store_opened(self, store: Store) -> None:
        self.action_refresh()

    def action_refresh(self) -> None:
        self.call_store("loading reviews", lambda s: s.pending_reviews(), self._loaded)

    def _loaded(self, items: list[ReviewItem]) -> None:
        self.items = items
        table = self.query_one("#queue", FitTable)
        now = self.papp.clock()
        table.set_rows([(f"{item.post_id}:{item.collective}", {
            "post": item.title or "Untitled",
            "author": item.author,
            "collective": Text(item.collective, style="cyan"),
            "shared": short_time(item.shared_at, now) if item.shared_at else "",
        }) for item in items])
        self.query_one("#queue-title", Label).update(f"Waiting for review ({len(items)})")
        self.query_one("#queue-empty", Static).update(
            "" if items else "Nothing to review. Shares from contributors, and from authors "
            "in collectives that require approval, appear here.")
        self.query_one("#queue-empty", Static).display = not items
        if items:
            self._read(table.cursor_row)
        else:
            self.query_one("#reading-title", Label).update("")
            self.query_one("#reading", Markdown).update("")

    def _current(self) -> ReviewItem | None:
        table = self.query_one("#queue", DataTable)
        if 0 <= table.cursor_row < len(self.items):
            return self.items[table.cursor_row]
        return None

    @on(DataTable.RowHighlighted, "#queue")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._read(event.cursor_row)

    def _read(self, index: int) -> None:
        if not 0 <= index < len(self.items):
            return
        item = self.items[index]
        self.query_one("#reading-title", Label).update(
            f"{item.title or 'Untitled'} · by {item.author} · for {item.collective_name}")
        self.query_one("#reading", Markdown).update(item.excerpt)
        post_id = item.post_id

        def shown(post: Post) -> None:
            current = self._current()
            if current is not None and current.post_id == post.id:
                body = f"## {post.subtitle}\n\n{post.content}" if post.subtitle else post.content
                self.query_one("#reading", Markdown).update(body)

        def unreadable(_: Post001Error) -> None:
            pass  # the excerpt stays: the full text is the author's until it is published

        self.call_store("reading the post", lambda s: s.get_post(post_id), shown,
                        failed=unreadable, group="read", exclusive=True)

    def action_approve(self) -> None:
        item = self._current()
        if item is None:
            return
        self._decide(item, None)

    def action_reject(self) -> None:
        item = self._current()
        if item is None:
            return

        def got_reason(reason: str | None) -> None:
            if reason:
                self._decide(item, reason)

        self.app.push_screen(RejectReasonScreen(item), got_reason)

    def _decide(self, item: ReviewItem, reason: str | None) -> None:
        def decide(store: Store) -> None:
            if reason is None:
                store.approve(item.post_id, item.collective)
            else:
                store.reject(item.post_id, item.collective, reason)

        def done(_: None) -> None:
            approved = reason is None
            self.post_message(ReviewDecided(item.post_id, item.collective, approved))
            self.notify(f"{'Approved' if approved else 'Rejected'}: “{item.title}” in "
                        f"{item.collective_name}.", timeout=3)
            self.action_refresh()

        self.call_store("deciding a review", decide, done)

    def action_back(self) -> None:
        self.app.pop_screen()
