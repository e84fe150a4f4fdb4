"""The first screen: my posts, my collectives, the reviews waiting for me, and what to do next."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, DataTable, Footer, Header, Input, Label, Static

from post001.tui.messages import DashboardLoaded, Unpublished
from post001.tui.screens.base import BaseScreen
from post001.tui.widgets import can_post_text, post_status_text, share_badges_text

if TYPE_CHECKING:  # the first screen paints before the models are imported
    from post001.core.models import Membership, PostSummary, ReviewItem

#: Collectives listed on the dashboard; the picker searches all of them.
COLLECTIVES_SHOWN = 50


class DashboardScreen(BaseScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        # Footer order: at 80 columns the tail is cut, so the daily keys come first.
        Binding("n", "app.new_post", "New post"),
        Binding("enter", "open", "Open", show=False),
        Binding("slash", "search", "Filter"),
        Binding("s", "app.search_published", "Search"),
        Binding("r", "app.reviews", "Reviews"),
        Binding("d", "recovered", "Recovered drafts"),
        Binding("q", "app.quit", "Quit"),
        Binding("c", "app.new_collective", "New collective"),
        Binding("comma", "app.preferences", "Preferences"),
        Binding("u", "unpublish", "Unpublish", show=False),
        Binding("a", "archive", "Archive", show=False),
        # The list refreshes itself on return to this screen; f5 is in help (f1).
        Binding("f5", "refresh", "Refresh", show=False),
        Binding("escape", "clear_search", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.posts: list[PostSummary] = []
        self.shown_posts: list[PostSummary] = []
        self.collectives: list[Membership] = []
        self.reviews: list[ReviewItem] = []
        self.loaded = False

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="dashboard"):
            yield Button("", id="recovered-drafts", variant="warning")
            with Vertical(id="welcome"):
                yield Static("", id="welcome-text")
                yield Button("Create a collective (c)", id="create-collective",
                             variant="primary")
            yield Input(placeholder="Search your posts by title (esc clears)", id="filter")
            yield Label("My posts", classes="section-title", id="posts-title")
            yield DataTable(id="posts", cursor_type="row", zebra_stripes=True)
            with Horizontal(id="lower"):
                with Vertical(id="collectives-box"):
                    yield Label("My collectives", classes="section-title",
                                id="collectives-title")
                    yield DataTable(id="collectives", cursor_type="row", zebra_stripes=True)
                with Vertical(id="reviews-box"):
                    yield Label("Waiting for my review", classes="section-title",
                                id="reviews-title")
                    yield DataTable(id="reviews", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        posts = self.query_one("#posts", DataTable)
        posts.add_column("Title", width=30)
        posts.add_column("Status", width=10)
        posts.add_column("Collectives", width=42)
        posts.add_column("Words", width=6)
        posts.add_column("Updated", width=16)
        collectives = self.query_one("#collectives", DataTable)
        collectives.add_column("Name", width=14)
        collectives.add_column("Slug", width=12)
        collectives.add_column("Role", width=11)
        collectives.add_column("Members", width=7)
        collectives.add_column("Can post")
        reviews = self.query_one("#reviews", DataTable)
        reviews.add_column("Post", width=20)
        reviews.add_column("Author", width=10)
        reviews.add_column("Collective")
        self.query_one("#filter", Input).display = False
        self.query_one("#welcome").display = False
        self.query_one("#welcome-text", Static).update("Opening your database…")
        self.query_one("#welcome").display = True
        self.query_one("#create-collective").display = False
        posts.focus()
        self.show_recovered(self.papp.recovered_count)
        if self.papp.store is not None:
            self.refresh_data()

    def show_recovered(self, count: int) -> None:
        """'Recovered drafts (N)': texts that failed to save and wait on this machine."""
        button = self.query_one("#recovered-drafts", Button)
        button.label = (f"Recovered drafts ({count}): text kept on this machine when a save "
                        f"failed. Press d to review them.")
        button.display = count > 0
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "recovered":
            return self.papp.recovered_count > 0
        return True

    def store_opened(self) -> None:
        self.refresh_data()

    def on_screen_resume(self) -> None:
        if self.loaded:
            self.refresh_data()
            self.run_worker(self.papp.count_recovered, thread=True, group="recovered-count",
                            exclusive=True, exit_on_error=False)

    def refresh_data(self) -> None:
        def load(store: Any) -> DashboardLoaded:
            collectives = store.my_collectives(limit=COLLECTIVES_SHOWN + 1)
            return DashboardLoaded(
                posts=store.list_posts(),
                collectives=collectives[:COLLECTIVES_SHOWN],
                reviews=store.pending_reviews(),
                has_more_collectives=len(collectives) > COLLECTIVES_SHOWN,
            )

        def done(event: DashboardLoaded) -> None:
            self.post_message(event)

        self.call_store("loading the dashboard", load, done,
                        group="dashboard", exclusive=True)

    @on(DashboardLoaded)
    def _loaded(self, event: DashboardLoaded) -> None:
        self.loaded = True
        self.posts = event.posts
        self.collectives = event.collectives
        self.reviews = event.reviews
        self._show_posts()
        self._show_collectives(event.has_more_collectives)
        self._show_reviews()
        self._show_welcome()

    def _show_welcome(self) -> None:
        welcome = self.query_one("#welcome")
        text = self.query_one("#welcome-text", Static)
        button = self.query_one("#create-collective")
        if not self.collectives:
            name = self.papp.username
            text.update(
                "[b]Welcome to post001.[/b] You write posts here and publish each one to "
                "any number of [i]collectives[/i] (group publications).\n"
                "You are not in any collective yet. Create one now (press [b]c[/b]) and "
                "you become its owner, or ask an owner or admin of an existing one to add "
                f"you: your username is [b]{name}[/b].\n"
                "You can already write: press [b]n[/b] for a new post; it saves itself.")
            button.display = True
            welcome.display = True
        elif not self.posts:
            text.update("No posts yet. Press [b]n[/b] to write one; it saves as you type.")
            button.display = False
            welcome.display = True
        else:
            welcome.display = False

    def _show_posts(self) -> None:
        table = self.query_one("#posts", DataTable)
        query = self.query_one("#filter", Input).value.strip().lower()
        self.shown_posts = [p for p in self.posts
                            if not query or query in p.title.lower()
                            or query in p.subtitle.lower()]
        cursor = table.cursor_row
        table.clear()
        for post in self.shown_posts:
            table.add_row(
                Text(post.title or "Untitled", style="" if post.title else "dim italic"),
                post_status_text(post.status),
                share_badges_text(post.shares),
                Text(f"{post.word_count:,}", justify="right"),
                f"{post.updated_at.astimezone():%Y-%m-%d %H:%M}",
                key=str(post.id),
            )
        if self.shown_posts:
            table.move_cursor(row=min(max(cursor, 0), len(self.shown_posts) - 1),
                              animate=False)
        suffix = f" ({len(self.shown_posts)} of {len(self.posts)})" if query else \
            f" ({len(self.posts)})"
        self.query_one("#posts-title", Label).update("My posts" + suffix)

    def _show_collectives(self, more: bool) -> None:
        table = self.query_one("#collectives", DataTable)
        table.clear()
        for m in self.collectives:
            table.add_row(m.name, Text(m.slug, style="cyan"), m.role.value,
                          Text(f"{m.member_count:,}", justify="right"), can_post_text(m),
                          key=m.slug)
        count = f"{len(self.collectives)}{'+' if more else ''}"
        self.query_one("#collectives-title", Label).update(f"My collectives ({count})")

    def _show_reviews(self) -> None:
        table = self.query_one("#reviews", DataTable)
        table.clear()
        for item in self.reviews:
            table.add_row(item.title or "Untitled", item.author,
                          Text(item.collective, style="cyan"),
                          key=f"{item.post_id}:{item.collective}")
        self.query_one("#reviews-title", Label).update(
            f"Waiting for my review ({len(self.reviews)})")

    # --- actions ----------------------------------------------------------------------------
    def _selected_post(self) -> PostSummary | None:
        table = self.query_one("#posts", DataTable)
        if 0 <= table.cursor_row < len(self.shown_posts):
            return self.shown_posts[table.cursor_row]
        return None

    def action_open(self) -> None:
        focused = self.focused
        if focused is not None and focused.id == "reviews":
            self.papp.action_reviews()
            return
        post = self._selected_post()
        if post is not None:
            self.papp.action_open_post(str(post.id))

    @on(DataTable.RowSelected, "#posts")
    def _post_chosen(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    @on(DataTable.RowSelected, "#reviews")
    def _review_chosen(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.papp.action_reviews()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "create-collective":
            self.papp.action_new_collective()
        elif event.button.id == "recovered-drafts":
            self.papp.action_recovered()

    def action_search(self) -> None:
        field = self.query_one("#filter", Input)
        field.display = True
        field.focus()

    @on(Input.Changed, "#filter")
    def _filter(self) -> None:
        self._show_posts()

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        self.query_one("#posts", DataTable).focus()

    def action_clear_search(self) -> None:
        field = self.query_one("#filter", Input)
        if field.display:
            field.value = ""
            field.display = False
            self.query_one("#posts", DataTable).focus()

    def action_recovered(self) -> None:
        self.papp.action_recovered()

    def action_refresh(self) -> None:
        self.refresh_data()

    def action_unpublish(self) -> None:
        post = self._selected_post()
        if post is None or post.status not in ("published", "scheduled"):
            self.notify("Select a published or scheduled post to unpublish.", timeout=3)
            return
        post_id = post.id

        def done(result: Any) -> None:
            self.post_message(Unpublished(result))
            self.notify("The post and its shares are drafts again.", title="Unpublished")
            self.refresh_data()

        self.call_store("unpublishing", lambda s: s.unpublish(post_id), done)

    def action_archive(self) -> None:
        post = self._selected_post()
        if post is None:
            return
        post_id = post.id

        def done(_: Any) -> None:
            self.notify("Archived.", timeout=3)
            self.refresh_data()

        self.call_store("archiving", lambda s: s.archive_post(post_id), done)
