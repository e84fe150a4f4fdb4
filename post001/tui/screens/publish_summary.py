"""After publishing: each collective and what happened there."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Label, Static

from post001.core import labels
from post001.core.models import PublishResult, ShareStatus
from post001.core.text import quote_title
from post001.tui.fit_table import Cell, Column, FitTable
from post001.tui.footer import AppFooter
from post001.tui.header import AppHeader
from post001.tui.screens.base import BaseScreen
from post001.tui.sizes import SizeClasses
from post001.tui.widgets import share_summary_text

OUTCOME_COLUMNS = (
    Column("name", "Collective", min=14, grow=2),
    Column("slug", "Slug", keep=True, hide=1),
    Column("outcome", "Outcome", keep=True),
    Column("note", "Note", min=12, grow=3),
)


class PublishSummaryScreen(SizeClasses, BaseScreen):
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
        yield AppHeader()
        with Vertical(id="summary"):
            if result.scheduled and post.publish_at is not None:
                headline = (f"Scheduled: {quote_title(post.title)} goes out "
                            f"{post.publish_at.astimezone():%Y-%m-%d %H:%M}.")
            else:
                headline = f"Published: {quote_title(post.title)}"
            yield Label(headline, classes="dialog-title", id="headline")
            tally = share_summary_text(result.outcomes) if result.outcomes else Text()
            if result.replayed:
                tally.append(" · (replayed: this publish had already happened)", style="dim")
            yield Static(tally, id="tally")
            if not result.outcomes:
                yield Static("Not shared with any collective: it appears on your profile only.",
                             classes="hint")
            yield FitTable(id="outcomes")
        yield AppFooter(compact=True)

    def on_mount(self) -> None:
        table = self.query_one("#outcomes", FitTable)
        table.set_columns(OUTCOME_COLUMNS)
        rows: list[tuple[str, dict[str, Cell]]] = []
        for outcome in self.result.outcomes:
            label = labels.SHARE[str(outcome.status)]
            note = outcome.rejection_reason or (
                "an editor reviews it first"
                if outcome.status is ShareStatus.PENDING_APPROVAL else
                "goes out with the post" if outcome.status is ShareStatus.DRAFT else "")
            rows.append((outcome.collective, {
                "name": outcome.collective_name,
                "slug": Text(outcome.collective, style="cyan"),
                "outcome": Text(label.text, style=label.style),
                "note": note,
            }))
        table.set_rows(rows)

    def action_back(self) -> None:
        self.app.pop_screen()
