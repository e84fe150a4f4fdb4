"""Recovered drafts: texts a failed save (or a conflict) left on this machine, brought back.

`recovery.py` writes a copy of the draft whenever a save fails with a network or database
error, and when a conflict resolution replaces one text with another. This screen lists
those copies (title, when, why) and lets the writer

* restore one: into its original post when that still exists, is theirs and holds a
  different text (saved on top of the current version, so the old text stays in the
  revision history), otherwise as a new draft;
* open it as a new draft in the editor;
* discard it, after confirming.

A file is removed only after the store confirmed the write (or, for discard, after the
writer confirmed): a failure leaves it where it is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Label, Static, TextArea

from post001.tui import recovery
from post001.tui.fit_table import Cell, Column, FitTable
from post001.tui.footer import AppFooter
from post001.tui.header import AppHeader
from post001.tui.messages import RecoveredLoaded, RecoveredRestored
from post001.tui.screens.base import BaseScreen
from post001.tui.screens.confirm import Confirm
from post001.tui.sizes import SizeClasses

if TYPE_CHECKING:
    from post001.core.errors import Post001Error
    from post001.core.store import Store

#: The text fields a restore compares and writes; settings fields go along when present.
TEXT_FIELDS = ("title", "subtitle", "content")


def restore_draft(store: Store, draft: dict[str, Any], *, as_new: bool = False
                  ) -> tuple[str, UUID]:
    """Write a kept draft to the store. Returns (how, post id). Worker threads only.

    how: "restored" (saved into its original post), "unchanged" (the post already holds
    this text), or "new draft"."""
    from post001.core.errors import NotFoundError, PermissionDenied
    from post001.core.models import PostCreate, PostUpdate

    fields = {k: v for k, v in draft["fields"].items() if k in PostUpdate.model_fields}
    post_id = draft.get("post_id")
    if not as_new and post_id:
        try:
            post = store.get_post(UUID(post_id))
        except (NotFoundError, PermissionDenied, ValueError):
            post = None
        if post is not None and post.author == store.me().username \
                and post.status != "archived":
            changes = PostUpdate.model_validate(fields)
            wanted = changes.model_dump(exclude_unset=True)
            if all(getattr(post, key, None) == value for key, value in wanted.items()):
                return "unchanged", post.id
            saved = store.update_post(post.id, changes, expected_version=post.version)
            return "restored", saved.id
    create = {k: v for k, v in fields.items() if k in PostCreate.model_fields}
    copy = store.create_post(PostCreate.model_validate(create))
    return "new draft", copy.id


RECOVERED_COLUMNS = (
    Column("title", "Title", min=14, grow=2),
    Column("when", "When", keep=True, hide=1),
    Column("why", "Why", min=12, grow=3),
)


class RecoveredScreen(SizeClasses, BaseScreen):
    """Every kept draft; restore, open as a new draft, or discard."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("enter,r", "restore", "Restore"),
        Binding("n", "open_new", "Open as new draft"),
        Binding("x,delete", "discard", "Discard…"),
        Binding("f5", "refresh", "Refresh"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.drafts: list[dict[str, Any]] = []
        self.busy: set[str] = set()  # keys with a store write in flight

    def compose(self) -> ComposeResult:
        yield AppHeader()
        with Horizontal(id="recovered"):
            with Vertical(id="recovered-list-box"):
                yield Label("Recovered drafts", classes="section-title", id="recovered-title")
                yield Static(
                    "Kept on this machine when a save failed or a conflict replaced a text. "
                    "r restores into the original post (or as a new draft), n opens a new "
                    "draft, x discards.", classes="hint")
                yield FitTable(id="recovered-list")
            with Vertical(id="recovered-text-box"):
                yield Label("", id="recovered-text-title", classes="section-title")
                yield Static("", id="recovered-meta", classes="hint")
                yield TextArea("", read_only=True, soft_wrap=True, id="recovered-text")
        yield AppFooter(compact=True)

    def on_mount(self) -> None:
        table = self.query_one("#recovered-list", FitTable)
        table.set_columns(RECOVERED_COLUMNS)
        table.focus()
        self.action_refresh()

    # --- the list ---------------------------------------------------------------------------
    def action_refresh(self) -> None:
        def load() -> None:
            drafts = recovery.pending()
            self.post_message(RecoveredLoaded(drafts))

        self.run_worker(load, thread=True, group="recovered-list", exclusive=True,
                        exit_on_error=False)

    @on(RecoveredLoaded)
    def _loaded(self, event: RecoveredLoaded) -> None:
        self.drafts = event.drafts
        table = self.query_one("#recovered-list", FitTable)
        rows: list[tuple[str, dict[str, Cell]]] = []
        for draft in self.drafts:
            title = str(draft["fields"].get("title") or "")
            rows.append((draft["key"], {
                "title": Text(title or "Untitled", style="" if title else "dim italic"),
                "when": f"{draft['when'].astimezone():%Y-%m-%d %H:%M}",
                "why": draft["reason"],
            }))
        table.set_rows(rows)
        self.query_one("#recovered-title", Label).update(
            f"Recovered drafts ({len(self.drafts)})")
        self.papp.recovered_count = len(self.drafts)
        if self.drafts:
            self._show(table.cursor_row)
        else:
            self.query_one("#recovered-text-title", Label).update("Nothing to recover")
            self.query_one("#recovered-meta", Static).update(
                "Every draft is in the store. Press escape to go back.")
            self.query_one("#recovered-text", TextArea).load_text("")

    @on(DataTable.RowHighlighted, "#recovered-list")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show(event.cursor_row)

    def _show(self, index: int) -> None:
        if not 0 <= index < len(self.drafts):
            return
        draft = self.drafts[index]
        fields = draft["fields"]
        where = ("its post (or a new draft if that is gone)" if draft.get("post_id")
                 else "a new draft")
        self.query_one("#recovered-text-title", Label).update(fields.get("title") or "Untitled")
        self.query_one("#recovered-meta", Static).update(Text(
            f"Kept {draft['when'].astimezone():%Y-%m-%d %H:%M}: {draft['reason']}.\n"
            f"r restores it into {where}."))
        subtitle = str(fields.get("subtitle") or "")
        content = str(fields.get("content") or "")
        self.query_one("#recovered-text", TextArea).load_text(
            f"{subtitle}\n\n{content}" if subtitle else content)

    def _current(self) -> dict[str, Any] | None:
        table = self.query_one("#recovered-list", DataTable)
        if 0 <= table.cursor_row < len(self.drafts):
            draft = self.drafts[table.cursor_row]
            if draft["key"] in self.busy:
                self.notify("Already being saved…", timeout=2)
                return None
            return draft
        return None

    # --- actions ----------------------------------------------------------------------------
    def action_restore(self) -> None:
        draft = self._current()
        if draft is not None:
            self._write(draft, as_new=False, then_open=False)

    def action_open_new(self) -> None:
        draft = self._current()
        if draft is not None:
            self._write(draft, as_new=True, then_open=True)

    @on(DataTable.RowSelected, "#recovered-list")
    def _selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_restore()

    def _write(self, draft: dict[str, Any], *, as_new: bool, then_open: bool) -> None:
        key = draft["key"]
        self.busy.add(key)

        def write(store: Store) -> RecoveredRestored:
            how, post_id = restore_draft(store, draft, as_new=as_new)
            recovery.forget(key)  # only now: the store holds the text
            return RecoveredRestored(key, how, post_id)

        def done(event: RecoveredRestored) -> None:
            self.busy.discard(key)
            self.post_message(event)
            title = draft["fields"].get("title") or "Untitled"
            message = {
                "restored": f"“{title}” is back in its post (the text it replaced is in "
                            f"History).",
                "unchanged": f"“{title}”: the post already holds this text.",
                "new draft": f"“{title}” is a new draft.",
            }[event.how]
            self.notify(message, title="Recovered")
            self._after_change()
            if then_open and event.post_id is not None:
                self.papp.action_open_post(str(event.post_id))

        def failed(error: Post001Error) -> None:
            self.busy.discard(key)
            self.show_error(error, "restoring a draft (the copy is kept)")

        self.call_store("restoring a draft", write, done, failed=failed)

    def action_discard(self) -> None:
        draft = self._current()
        if draft is None:
            return
        key = draft["key"]
        title = str(draft["fields"].get("title") or "Untitled")

        def answered(yes: bool | None) -> None:
            if not yes:
                return

            def forget() -> None:
                recovery.forget(key)
                self.post_message(RecoveredRestored(key, "discarded", None))

            self.run_worker(forget, thread=True, group="recovered-discard",
                            exit_on_error=False)

        self.app.push_screen(Confirm(
            f"Discard “{title}”?", "The copy on this machine is deleted; this cannot be "
            "undone.", yes="Discard"), answered)

    @on(RecoveredRestored)
    def _changed(self, event: RecoveredRestored) -> None:
        if event.how == "discarded":
            self.notify("Discarded.", timeout=3)
            self._after_change()

    def _after_change(self) -> None:
        self.action_refresh()
        self.run_worker(self.papp.count_recovered, thread=True, group="recovered-count",
                        exclusive=True, exit_on_error=False)

    def action_back(self) -> None:
        self.app.pop_screen()
