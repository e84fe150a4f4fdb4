"""CollectivePicker: choose which collectives a post goes to.

Keyboard first: type to search (the list forwards letters to the search box), arrows to
move, space to toggle, enter to confirm, escape to cancel. Edits happen in a buffer that
only `enter` hands back. Searches run in a worker thread (`exclusive`, so only the
newest counts) and the list holds at most `WINDOW` rows however many memberships the
writer has: it stays as quick with 5,000 as with 10.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, DataTable, Input, Label, Select, Static, Switch

from post001.core import publishing
from post001.core.models import Membership, Outcome
from post001.core.store import CollectiveSort
from post001.tui.fit_table import Cell, Column, FitTable
from post001.tui.messages import CollectivesFound
from post001.tui.screens.base import BaseModal, as_post001_error
from post001.tui.sizes import SizeClasses
from post001.tui.widgets import can_post_text

#: Rows shown at once; type to narrow the rest.
WINDOW = 100
SORTS: tuple[CollectiveSort, ...] = ("role", "name", "members")


#: The result list's columns: the tick and "Can post" are never shortened; at 80 columns
#: the slug goes first (the search matches it all the same), then the member count.
COLUMNS = (
    Column("check", "", min=3, keep=True),
    Column("name", "Name", min=14, grow=3),
    Column("slug", "Slug", keep=True, hide=3),
    Column("role", "Role", min=6, keep=True, hide=1),
    Column("members", "Members", min=7, keep=True, hide=2, justify="right"),
    Column("can_post", "Can post", keep=True),
)


class PickerTable(FitTable):
    """The result list: letters typed here go to the search box."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "screen.toggle_row", "Toggle"),
        Binding("enter", "screen.confirm", "Confirm"),
    ]

    def on_key(self, event: events.Key) -> None:
        search = self.screen.query_one("#search", Input)
        if event.character and event.is_printable and event.character != " ":
            search.insert_text_at_cursor(event.character)
            event.stop()
        elif event.key == "backspace":
            search.action_delete_left()
            event.stop()


class CollectivePicker(SizeClasses, BaseModal[list[str] | None]):
    """Returns the chosen slugs (enter) or None (escape)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+f", "toggle_filter", "Only postable", priority=True),
        Binding("ctrl+o", "cycle_sort", "Sort", priority=True),
        Binding("ctrl+a", "select_all", "Select all postable", priority=True),
        Binding("ctrl+l", "clear", "Clear", priority=True),
        Binding("down", "cursor(1)", show=False),
        Binding("up", "cursor(-1)", show=False),
    ]

    def __init__(self, selected: list[str] | None = None) -> None:
        super().__init__()
        self.selected: dict[str, Membership | None] = dict.fromkeys(selected or [])
        self.rows: list[Membership] = []
        self.more = False
        self.query_text = ""
        self.sort: CollectiveSort = "role"
        self.postable_only = True
        self.maximum = 10
        self._request = 0
        self._shown_request = -1
        self._preview = Text()
        #: The collectives the shown reach was counted for, and the count (None: pending).
        self._reach_for: list[str] | None = None
        self._reach: int | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog wide picker"):
            with Horizontal(classes="dialog-head"):
                yield Label("Share with collectives", classes="dialog-title")
                yield Static("", id="count")
            with Horizontal(id="search-row"):
                yield Input(placeholder="Search by name or slug", id="search")
                yield Switch(value=True, id="postable")
                yield Label("only postable", classes="switch-label")
                yield Select([("by role", "role"), ("by name", "name"),
                              ("by members", "members")],
                             value="role", allow_blank=False, id="sort")
            yield PickerTable(id="rows")
            yield Static("", id="limit-message")
            yield Static("", id="picker-preview")
            with Horizontal(classes="buttons"):
                yield Button("Confirm (enter)", id="confirm", variant="primary")
                yield Button("Cancel (esc)", id="cancel")
                yield Button("All postable (^a)", id="select-all")
                yield Button("Clear (^l)", id="clear")

    def on_mount(self) -> None:
        app = self.papp
        self.maximum = app.max_collectives
        self.postable_only = app.settings.picker_postable_only
        with self.prevent(Switch.Changed):
            self.query_one("#postable", Switch).value = self.postable_only
        table = self.query_one("#rows", PickerTable)
        table.set_columns(COLUMNS)
        table.focus()
        self._load_selected()
        self.search()
        self._show_count()

    # --- searching ------------------------------------------------------------------------
    @on(Input.Changed, "#search")
    def _query_changed(self, event: Input.Changed) -> None:
        self.query_text = event.value
        self.search()

    def search(self) -> None:
        self._request += 1
        self._search(self._request, self.query_text, self.postable_only, self.sort)

    @work(thread=True, exclusive=True, group="picker-search", exit_on_error=False)
    def _search(self, request: int, query: str, postable_only: bool,
                sort: CollectiveSort) -> None:
        try:
            store = self.papp.wait_store()
            rows = store.my_collectives(query, postable_only=postable_only, sort=sort,
                                        limit=WINDOW + 1)
        except Exception as exc:
            self.app.call_from_thread(self.show_error, as_post001_error(exc), "searching")
            return
        self.post_message(CollectivesFound(request, query, rows[:WINDOW], len(rows) > WINDOW))

    @on(CollectivesFound)
    def _found(self, event: CollectivesFound) -> None:
        if event.request < self._shown_request or event.request != self._request:
            return  # a newer search is on its way
        self._shown_request = event.request
        self.rows = event.rows
        self.more = event.more
        for row in self.rows:
            if row.slug in self.selected:
                self.selected[row.slug] = row
        self._render_rows()

    def _render_rows(self) -> None:
        table = self.query_one("#rows", PickerTable)
        full = len(self.selected) >= self.maximum
        rows: list[tuple[str, dict[str, Cell]]] = []
        for row in self.rows:
            picked = row.slug in self.selected
            dim = "dim" if full and not picked else ""
            rows.append((row.slug, {
                "check": Text("[x]" if picked else ("[-]" if full else "[ ]"),
                              style=dim or "bold"),
                "name": Text(row.name, style=dim),
                "slug": Text(row.slug, style=dim or "cyan"),
                "role": Text(row.role.value, style=dim),
                "members": Text(f"{row.member_count:,}", style=dim),
                "can_post": can_post_text(row),
            }))
        table.set_rows(rows)
        self._show_count()

    def _window_note(self) -> str:
        if not self.rows:
            return ("No collective matches" if self.query_text or self.postable_only
                    else "You are not in any collective yet")
        if self.more:
            return f"first {WINDOW} shown, type to narrow"
        return f"{len(self.rows)} shown"

    # --- the buffer -----------------------------------------------------------------------
    def _load_selected(self) -> None:
        """Fetch the memberships of the already selected slugs, for the preview."""
        slugs = [s for s, m in self.selected.items() if m is None]
        if not slugs:
            return

        def load(store: object) -> list[Membership]:
            found: list[Membership] = []
            for slug in slugs:
                found.extend(m for m in store.my_collectives(slug, limit=WINDOW)  # type: ignore[attr-defined]
                             if m.slug == slug)
            return found

        self.call_store("loading the selection", load, self._selected_loaded)

    def _selected_loaded(self, rows: list[Membership]) -> None:
        for row in rows:
            if row.slug in self.selected:
                self.selected[row.slug] = row
        self._show_count()

    def _current(self) -> Membership | None:
        table = self.query_one("#rows", PickerTable)
        if not self.rows or table.cursor_row < 0 or table.cursor_row >= len(self.rows):
            return None
        return self.rows[table.cursor_row]

    def action_cursor(self, delta: int) -> None:
        table = self.query_one("#rows", PickerTable)
        if self.rows:
            table.move_cursor(row=max(0, min(len(self.rows) - 1, table.cursor_row + delta)))

    def action_toggle_row(self) -> None:
        row = self._current()
        if row is None:
            return
        if row.slug in self.selected:
            del self.selected[row.slug]
        elif len(self.selected) >= self.maximum:
            self._limit_reached()
            return
        else:
            self.selected[row.slug] = row
            if not row.can_post:
                self.notify(f"You cannot post to {row.name}: {row.reason}. Publishing will be "
                            "blocked until you deselect it.", severity="warning", timeout=5)
        self._update_row(row)

    @on(DataTable.RowSelected, "#rows")
    def _clicked(self, event: DataTable.RowSelected) -> None:
        event.stop()  # enter is bound to confirm; a click toggles instead
        self.action_toggle_row()

    def _update_row(self, row: Membership) -> None:
        was_full = self.query_one("#limit-message", Static).has_class("-shown")
        full = len(self.selected) >= self.maximum
        if full != was_full:
            self._render_rows()  # every row's enabled look changes
            return
        table = self.query_one("#rows", PickerTable)
        picked = row.slug in self.selected
        table.update_fit_cell(row.slug, "check",
                              Text("[x]" if picked else "[ ]", style="bold"))
        self._show_count()

    def _limit_reached(self) -> None:
        self.notify(self._limit_text(), title="Limit reached", severity="warning", timeout=4)

    def _limit_text(self) -> str:
        return (f"A post can go to at most {self.maximum} collective"
                f"{'s' * (self.maximum != 1)}. Deselect one to pick another.")

    def action_select_all(self) -> None:
        query, sort = self.query_text, self.sort

        def load(store: object) -> list[Membership]:
            rows: list[Membership] = store.my_collectives(  # type: ignore[attr-defined]
                query, postable_only=True, sort=sort, limit=self.maximum + len(self.selected))
            return rows

        self.call_store("selecting every postable collective", load, self._select_all_done)

    def _select_all_done(self, rows: list[Membership]) -> None:
        skipped = 0
        for row in rows:
            if row.slug in self.selected:
                continue
            if len(self.selected) >= self.maximum:
                skipped += 1
                continue
            self.selected[row.slug] = row
        self._render_rows()
        if skipped or (len(rows) > 0 and len(self.selected) >= self.maximum):
            self.notify(f"Selected up to the maximum of {self.maximum}.", timeout=4)

    def action_clear(self) -> None:
        self.selected.clear()
        self._render_rows()

    def action_toggle_filter(self) -> None:
        switch = self.query_one("#postable", Switch)
        switch.value = not switch.value

    @on(Switch.Changed, "#postable")
    def _filter_changed(self, event: Switch.Changed) -> None:
        self.postable_only = event.value
        self.search()

    def action_cycle_sort(self) -> None:
        select = self.query_one("#sort", Select)
        select.value = SORTS[(SORTS.index(self.sort) + 1) % len(SORTS)]

    @on(Select.Changed, "#sort")
    def _sort_changed(self, event: Select.Changed) -> None:
        self.sort = event.value  # type: ignore[assignment]
        self.search()

    # --- counters and preview ---------------------------------------------------------------
    def _show_count(self) -> None:
        count = len(self.selected)
        self.query_one("#count", Static).update(
            f"{count}/{self.maximum} selected · {self._window_note()}")
        message = self.query_one("#limit-message", Static)
        full = count >= self.maximum
        message.update(self._limit_text() if full else "")
        message.set_class(full, "-shown")
        for button_id in ("#select-all",):
            self.query_one(button_id, Button).disabled = full
        self._show_preview()

    def _show_preview(self) -> None:
        known = [m for m in self.selected.values() if m is not None]
        targets = [publishing.Target(m.slug, m.name, m.role, m.require_approval, m.member_count)
                   for m in known]
        plan = publishing.preflight(title="t", content="c", targets=targets,
                                    max_collectives=self.maximum,
                                    max_content_chars=1)
        counts = {o: sum(1 for p in plan.collectives if p.outcome is o) for o in Outcome}
        text = Text()
        text.append(f"{counts[Outcome.PUBLISH]} publish", style="green")
        text.append(" · ")
        text.append(f"{counts[Outcome.REVIEW]} go to review", style="yellow")
        text.append(" · ")
        text.append(f"{counts[Outcome.NOT_ALLOWED]} not allowed",
                    style="red" if counts[Outcome.NOT_ALLOWED] else "")
        self._preview = text
        reaching = sorted(p.collective for p in plan.collectives
                          if p.outcome is not Outcome.NOT_ALLOWED)
        if reaching != self._reach_for:
            # Summing member counts would count someone in three collectives three
            # times: the store counts distinct people, off the UI thread.
            self._reach_for, self._reach = reaching, None
            self._count_reach(reaching)
        self._render_preview()

    def _count_reach(self, slugs: list[str]) -> None:
        if not slugs:
            self._reach = 0
            return

        def counted(reach: int) -> None:
            if slugs == self._reach_for:  # else a newer selection is being counted
                self._reach = reach
                self._render_preview()

        self.call_store("counting the reach", lambda store: store.reach(slugs), counted,
                        failed=lambda _error: None,  # the preview just shows no figure
                        group="picker-reach", exclusive=True)

    def _render_preview(self) -> None:
        text = self._preview.copy()
        if self._reach is not None:
            text.append(f" · reaches {self._reach:,} "
                        f"{'person' if self._reach == 1 else 'people'}")
        self.query_one("#picker-preview", Static).update(text)

    # --- leaving --------------------------------------------------------------------------
    def on_button_pressed(self, event: Button.Pressed) -> None:
        actions = {"confirm": self.action_confirm, "cancel": self.action_cancel,
                   "select-all": self.action_select_all, "clear": self.action_clear}
        action = actions.get(event.button.id or "")
        if action is not None:
            action()

    @on(Input.Submitted, "#search")
    def _submitted(self) -> None:
        self.action_confirm()

    def action_confirm(self) -> None:
        self.dismiss(list(self.selected))

    def action_cancel(self) -> None:
        self.dismiss(None)
