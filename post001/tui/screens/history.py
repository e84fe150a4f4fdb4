"""Revision history: look back at earlier versions and restore one (as a new version)."""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Label, Static, TextArea

from post001.core.models import Post, Revision
from post001.core.text import word_count
from post001.tui.screens.base import BaseModal


class HistoryScreen(BaseModal[Post | None]):
    """Returns the post after a restore, or None."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Back"),
        Binding("r", "restore", "Restore this version"),
    ]

    def __init__(self, post_id: UUID) -> None:
        super().__init__()
        self.post_id = post_id
        self.revisions: list[Revision] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog wide"):
            yield Label("Revision history", classes="dialog-title")
            yield Static("↑↓ to look, r to restore (it becomes the newest version; nothing is "
                         "deleted), esc to go back.", classes="hint")
            with Horizontal(id="history-body"):
                yield DataTable(id="revisions", cursor_type="row", zebra_stripes=True)
                yield TextArea("", read_only=True, id="revision-text", soft_wrap=True)

    def on_mount(self) -> None:
        table = self.query_one("#revisions", DataTable)
        table.add_column("Version", width=7)
        table.add_column("Saved", width=16)
        table.add_column("Words", width=6)
        table.add_column("Title")
        table.loading = True
        post_id = self.post_id
        self.call_store("loading the history", lambda s: s.revisions(post_id), self._loaded)

    def _loaded(self, revisions: list[Revision]) -> None:
        self.revisions = revisions
        table = self.query_one("#revisions", DataTable)
        table.loading = False
        for rev in revisions:
            table.add_row(f"v{rev.version}", f"{rev.saved_at.astimezone():%Y-%m-%d %H:%M}",
                          str(word_count(rev.content)), rev.title or "Untitled",
                          key=str(rev.version))
        if not revisions:
            self.query_one("#revision-text", TextArea).load_text("No earlier versions yet.")
        table.focus()

    @on(DataTable.RowHighlighted, "#revisions")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        if 0 <= event.cursor_row < len(self.revisions):
            rev = self.revisions[event.cursor_row]
            self.query_one("#revision-text", TextArea).load_text(
                f"# {rev.title or 'Untitled'}\n{rev.subtitle}\n\n{rev.content}")

    @on(DataTable.RowSelected, "#revisions")
    def _selected(self) -> None:
        self.action_restore()

    def action_restore(self) -> None:
        table = self.query_one("#revisions", DataTable)
        if not self.revisions or not 0 <= table.cursor_row < len(self.revisions):
            return
        version = self.revisions[table.cursor_row].version
        post_id = self.post_id
        self.call_store("restoring a version",
                        lambda s: s.restore_revision(post_id, version), self._restored)

    def _restored(self, post: Post) -> None:
        self.notify(f"Restored; it is now version {post.version}.", title="Restored")
        self.dismiss(post)

    def action_close(self) -> None:
        self.dismiss(None)
