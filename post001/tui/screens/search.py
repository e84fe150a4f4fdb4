"""Full-text search over the published posts I may read (`Store.search`).

The search runs in an exclusive worker a moment after the last keystroke, so typing
never waits on the store and only the newest query's answer is shown. Enter opens a
result: my own posts in the editor, anyone else's in the read-only reader.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.timer import Timer
from textual.widgets import DataTable, Input, Label, Static

from post001.tui.footer import AppFooter
from post001.tui.header import AppHeader
from post001.tui.messages import SearchFinished
from post001.tui.screens.base import BaseScreen
from post001.tui.widgets import share_badges_text

if TYPE_CHECKING:
    from post001.core.errors import Post001Error
    from post001.core.models import PostSummary
    from post001.core.store import Store

#: Seconds after the last keystroke before the search runs.
DEBOUNCE = 0.25
RESULTS = 50


class SearchScreen(BaseScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("down", "to_results", "Results", show=False),
        Binding("f5", "run_search", "Search again"),
    ]

    def __init__(self, query: str = "") -> None:
        super().__init__()
        self.initial = query
        self.results: list[PostSummary] = []
        self.query_text = ""  # the query whose results are shown
        self._request = 0
        self._shown_request = 0
        self._debounce: Timer | None = None

    def compose(self) -> ComposeResult:
        yield AppHeader()
        with Vertical(id="search"):
            yield Input(self.initial, placeholder="Search published posts (words, “a phrase”)",
                        id="search-query")
            yield Label("Type to search every published post you can read.",
                        id="search-title", classes="section-title")
            yield DataTable(id="search-results", cursor_type="row", zebra_stripes=True)
            yield Static("", id="search-empty", classes="hint")
        yield AppFooter()

    def on_mount(self) -> None:
        table = self.query_one("#search-results", DataTable)
        table.add_column("Title", width=34)
        table.add_column("Author", width=12)
        table.add_column("Collectives", width=44)
        table.add_column("Published", width=16)
        self.query_one("#search-query", Input).focus()
        if self.initial.strip():
            self.action_run_search()

    # --- searching --------------------------------------------------------------------------
    @on(Input.Changed, "#search-query")
    def _typed(self) -> None:
        if self._debounce is not None:
            self._debounce.stop()
        self._debounce = self.set_timer(DEBOUNCE, self.action_run_search)

    @on(Input.Submitted, "#search-query")
    def _submitted(self) -> None:
        if self._debounce is not None:
            self._debounce.stop()
        self.action_run_search()
        self.action_to_results()

    def action_run_search(self) -> None:
        self._debounce = None
        query = self.query_one("#search-query", Input).value.strip()
        self._request += 1
        request = self._request
        if not query:
            self.post_message(SearchFinished(request, "", []))
            return

        def search(store: Store) -> SearchFinished:
            return SearchFinished(request, query, store.search(query, limit=RESULTS))

        def failed(error: Post001Error) -> None:
            if request == self._request:
                self._shown_request = request
                self.query_one("#search-title", Label).update(f"Search failed: {query}")
            self.show_error(error, "searching")

        self.query_one("#search-title", Label).update(f"Searching for “{query}”…")
        def done(event: SearchFinished) -> None:
            self.post_message(event)

        self.call_store("searching", search, done, failed=failed,
                        group="search", exclusive=True)

    @on(SearchFinished)
    def _found(self, event: SearchFinished) -> None:
        if event.request < self._shown_request or event.request != self._request:
            return  # an older query's answer: a newer one is coming
        self._shown_request = event.request
        self.query_text = event.query
        self.results = event.results
        table = self.query_one("#search-results", DataTable)
        table.clear()
        for post in self.results:
            published = (f"{post.published_at.astimezone():%Y-%m-%d %H:%M}"
                         if post.published_at else "")
            mine = post.author == self.papp.username
            table.add_row(
                Text(post.title or "Untitled", style="" if post.title else "dim italic"),
                Text(post.author + (" (me)" if mine else ""), style="bold" if mine else ""),
                share_badges_text([s for s in post.shares if s.status == "published"]),
                published,
                key=str(post.id),
            )
        title = self.query_one("#search-title", Label)
        empty = self.query_one("#search-empty", Static)
        if not event.query:
            title.update("Type to search every published post you can read.")
            empty.update("")
        else:
            count = len(self.results)
            more = "+" if count >= RESULTS else ""
            title.update(f"{count}{more} result{'s' * (count != 1)} for “{event.query}”")
            empty.update("" if self.results else
                         "No published post you can read matches. Drafts are not searched; "
                         "use / on the dashboard to filter your own posts.")

    # --- opening ----------------------------------------------------------------------------
    def action_to_results(self) -> None:
        table = self.query_one("#search-results", DataTable)
        if self.results:
            table.focus()

    @on(DataTable.RowSelected, "#search-results")
    def _chosen(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    def action_open(self) -> None:
        table = self.query_one("#search-results", DataTable)
        if not 0 <= table.cursor_row < len(self.results):
            return
        post = self.results[table.cursor_row]
        if post.author == self.papp.username:
            self.papp.action_open_post(str(post.id))
        else:
            self.papp.action_read_post(str(post.id))

    def action_back(self) -> None:
        if self.focused is self.query_one("#search-results", DataTable):
            self.query_one("#search-query", Input).focus()
            return
        self.app.pop_screen()
