"""After publishing: each collective and what happened there."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import DataTable, Footer, Header, Label, Static

from post001.core.models import PublishResult, ShareStatus
from post001.core.text import quote_title
from post001.tui.screens.base import BaseScreen

RESULT_LABEL = {
    ShareStatus.PUBLISHED: ("published", "green"),
    ShareStatus.PENDING_APPROVAL: ("in review", "yellow"),
    ShareStatus.REJECTED: ("rejected", "red"),
    ShareStatus.DRAFT: ("draft (scheduled)", "cyan"),
}


class PublishSummaryScreen(BaseScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,enter", "back", "Back to the post"),
        Binding("d", "app.dashboard", "Dashboard"),
    ]

    def __init__(self, result: PublishResult) -> None:
        super().__init__()
        self.result = result

    def compose(self) -> ComposeResult:
        result = self.result
        post = result.post
        yield Header()
        with Vertical(id="summary"):
            if result.scheduled and post.publish_at is not None:
                headline = (f"Scheduled: {quote_title(post.title)} goes out "
                            f"{post.publish_at.astimezone():%Y-%m-%d %H:%M}.")
            else:
                headline = f"Published: {quote_title(post.title)}"
            yield Label(headline, classes="dialog-title", id="headline")
            counts = {s: sum(1 for o in result.outcomes if o.status is s) for s in ShareStatus}
            yield Static(
                f"{counts[ShareStatus.PUBLISHED]} published · "
                f"{counts[ShareStatus.PENDING_APPROVAL]} in review · "
                f"{counts[ShareStatus.REJECTED]} rejected"
                + (" · (replayed: this publish had already happened)" if result.replayed
                   else ""),
                id="tally")
            if not result.outcomes:
                yield Static("Not shared with any collective: it appears on your profile only.",
                             classes="hint")
            yield DataTable(id="outcomes", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#outcomes", DataTable)
        table.add_column("Collective", width=28)
        table.add_column("Slug", width=22)
        table.add_column("Outcome", width=18)
        table.add_column("Note")
        for outcome in self.result.outcomes:
            label, style = RESULT_LABEL[outcome.status]
            note = outcome.rejection_reason or (
                "an editor of the collective will review it"
                if outcome.status is ShareStatus.PENDING_APPROVAL else "")
            table.add_row(outcome.collective_name, Text(outcome.collective, style="cyan"),
                          Text(label, style=style), note)

    def action_back(self) -> None:
        self.app.pop_screen()
