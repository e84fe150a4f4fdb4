"""The first screen: my posts, my collectives, the reviews waiting for me, and what to do next."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, DataTable, Input, Label, Static

from post001.core import labels
from post001.core.text import quote_title
from post001.tui.fit_table import Cell, Column, FitTable
from post001.tui.footer import AppFooter
from post001.tui.header import AppHeader
from post001.tui.messages import DashboardLoaded, Unpublished
from post001.tui.screens.base import BaseScreen
from post001.tui.sizes import SizeClasses
from post001.tui.widgets import (
    can_post_text,
    post_status_text,
    share_summary_text,
    short_time,
)

if TYPE_CHECKING:  # the first screen paints before the models are imported
    from post001.core.models import Membership, PostSummary, ReviewItem
    from post001.core.store import Store

#: Collectives listed on the dashboard; the picker searches all of them.
COLLECTIVES_SHOWN = 50
#: Posts per page: the first page paints at once however large the library; the next is
#: asked for when the cursor or the scroll comes within `MORE_WITHIN` rows of the end.
PAGE = 50
MORE_WITHIN = 10
#: A refresh reloads as many posts as were shown, up to this (the store's largest page).
RELOAD_MAX = 200

#: Status and share summaries are never shortened; titles are, between words, once the
#: word count and then the date have made room (both are in the detail panel too).
POST_COLUMNS = (
    Column("title", "Title", min=24, grow=1),
    Column("status", "Status", keep=True),
    Column("shares", "Collectives", keep=True),
    Column("words", "Words", keep=True, hide=2, justify="right"),
    Column("updated", "Updated", keep=True, hide=1),
)
COLLECTIVE_COLUMNS = (
    Column("name", "Name", min=12, grow=2),
    Column("slug", "Slug", keep=True, hide=3),
    Column("role", "Role", keep=True, hide=1),
    Column("members", "Members", keep=True, hide=2, justify="right"),
    Column("can_post", "Can post", keep=True),
)
REVIEW_COLUMNS = (
    Column("post", "Post", min=12, grow=2),
    Column("author", "Author", min=6, grow=1, hide=1),
    Column("collective", "Collective", keep=True),
)


class MorePosts(NamedTuple):
    """A further page of posts, asked for by scrolling, and the cursor it started at."""

    posts: list[PostSummary]
    after: str
    next_cursor: str | None


class DashboardScreen(SizeClasses, BaseScreen):
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
        Binding("comma", "app.preferences", "Preferences", show=False),  # palette, help
        Binding("u", "unpublish", "Unpublish", show=False),
        Binding("a", "archive", "Archive", show=False),
        Binding("delete", "delete_draft", "Delete draft", show=False),
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
        #: Where the next page of posts starts; None once every post is loaded.
        self.next_cursor: str | None = None
        self._loading_more = False
        self._more_collectives = False

    def compose(self) -> ComposeResult:
        yield AppHeader()
        # The recovered-drafts button, the welcome's "Create a collective" and the filter
        # field are mounted when first shown (`show_recovered`, `_show_welcome`,
        # `action_search`): hidden on most launches, they cost the first frame their
        # styling all the same (Button's stylesheet is the largest of any widget here).
        with Vertical(id="dashboard"):
            with Vertical(id="welcome"):
                yield Static("", id="welcome-text")
            with Horizontal(id="upper"):
                with Vertical(id="posts-box"):
                    yield Label("My posts", classes="section-title", id="posts-title")
                    yield FitTable(id="posts")
                yield Static("", id="post-detail")
            with Horizontal(id="lower"):
                with Vertical(id="collectives-box"):
                    yield Label("My collectives", classes="section-title",
                                id="collectives-title")
                    yield FitTable(id="collectives")
                with Vertical(id="reviews-box"):
                    yield Label("Waiting for my review", classes="section-title",
                                id="reviews-title")
                    yield FitTable(id="reviews")
        yield AppFooter(compact=True)

    def on_mount(self) -> None:
        posts = self.query_one("#posts", FitTable)
        posts.set_columns(POST_COLUMNS)
        self.query_one("#collectives", FitTable).set_columns(COLLECTIVE_COLUMNS)
        self.query_one("#reviews", FitTable).set_columns(REVIEW_COLUMNS)
        self.watch(posts, "scroll_y", self._scrolled, init=False)
        self.query_one("#post-detail").display = False
        self.query_one("#welcome-text", Static).update("Opening your database…")
        posts.focus()
        self.show_recovered(self.papp.recovered_count)
        if self.papp.store is not None:
            self.refresh_data()

    def show_recovered(self, count: int) -> None:
        """'Recovered drafts (N)': texts that failed to save and wait on this machine."""
        label = (f"Recovered drafts ({count}): text kept on this machine when a save "
                 f"failed. Press d to review them.")
        found = self.query("#recovered-drafts")
        if found:
            button = found.first(Button)
            button.label = label
            button.display = count > 0
        elif count > 0 and self.query_one("#dashboard").is_attached:  # not leaving
            self.query_one("#dashboard").mount(
                Button(label, id="recovered-drafts", variant="warning"), before="#welcome")
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "recovered":
            return self.papp.recovered_count > 0
        return True

    def store_opened(self, store: Store) -> None:
        self.refresh_data()

    def on_screen_resume(self) -> None:
        if self.loaded:
            self.refresh_data()
            self.run_worker(self.papp.count_recovered, thread=True, group="recovered-count",
                            exclusive=True, exit_on_error=False)

    def refresh_data(self) -> None:
        size = min(max(PAGE, len(self.posts)), RELOAD_MAX)

        def load(store: Store) -> DashboardLoaded:
            page = store.posts_page(size)
            collectives = store.my_collectives(limit=COLLECTIVES_SHOWN + 1)
            return DashboardLoaded(
                posts=page.items,
                collectives=collectives[:COLLECTIVES_SHOWN],
                reviews=store.pending_reviews(),
                has_more_collectives=len(collectives) > COLLECTIVES_SHOWN,
                next_cursor=page.next_cursor,
            )

        def done(event: DashboardLoaded) -> None:
            self.post_message(event)

        self.call_store("loading the dashboard", load, done,
                        group="dashboard", exclusive=True)

    @on(DashboardLoaded)
    def _loaded(self, event: DashboardLoaded) -> None:
        self.loaded = True
        self.posts = event.posts
        self.next_cursor = event.next_cursor
        self._loading_more = False  # a page asked for before this reload is dropped
        self.collectives = event.collectives
        self.reviews = event.reviews
        self._show_posts()
        self._show_reviews()
        self._show_collectives(event.has_more_collectives)
        self._show_welcome()

    def _show_welcome(self) -> None:
        welcome = self.query_one("#welcome")
        text = self.query_one("#welcome-text", Static)
        found = self.query("#create-collective")
        if found:
            found.first().display = False
        if not self.collectives:
            name = self.papp.username
            text.update(
                "[b]Welcome to post001.[/b] You write posts here and publish each one to "
                "any number of [i]collectives[/i] (group publications).\n"
                "You are not in any collective yet. Create one now (press [b]c[/b]) and "
                "you become its owner, or ask an owner or admin of an existing one to add "
                f"you: your username is [b]{name}[/b].\n"
                "You can already write: press [b]n[/b] for a new post; it saves itself.")
            if found:
                found.first().display = True
            elif welcome.is_attached:  # not leaving
                welcome.mount(Button("Create a collective (c)", id="create-collective",
                                     variant="primary"))
            welcome.display = True
        elif not self.posts:
            text.update("No posts yet. Press [b]n[/b] to write one; it saves as you type.")
            welcome.display = True
        else:
            welcome.display = False

    # --- posts, page by page ----------------------------------------------------------------
    def _filter_text(self) -> str:
        found = self.query("#filter")
        return found.first(Input).value.strip() if found else ""

    def _matches(self, post: PostSummary) -> bool:
        query = self._filter_text().lower()
        return not query or query in post.title.lower() or query in post.subtitle.lower()

    def _post_row(self, post: PostSummary) -> tuple[str, dict[str, Cell]]:
        return str(post.id), {
            "title": Text(post.title or "Untitled", style="" if post.title else "dim italic"),
            "status": post_status_text(post.status),
            "shares": share_summary_text(post.shares),
            "words": f"{post.word_count:,}",
            "updated": short_time(post.updated_at, self.papp.clock()),
        }

    def _show_posts(self) -> None:
        table = self.query_one("#posts", FitTable)
        self.shown_posts = [p for p in self.posts if self._matches(p)]
        table.set_rows([self._post_row(p) for p in self.shown_posts])
        self._show_posts_title()
        self._show_detail()

    def _show_posts_title(self) -> None:
        more = "+" if self.next_cursor else ""
        filtered = self._filter_text()
        suffix = (f" ({len(self.shown_posts)} of {len(self.posts)}{more} loaded)" if filtered
                  else f" ({len(self.posts)}{more})")
        self.query_one("#posts-title", Label).update("My posts" + suffix)

    def _scrolled(self, _: float) -> None:
        table = self.query_one("#posts", FitTable)
        if table.scroll_y >= table.max_scroll_y - MORE_WITHIN:
            self._load_more()

    @on(DataTable.RowHighlighted, "#posts")
    def _post_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_detail()
        if event.cursor_row >= len(self.shown_posts) - MORE_WITHIN:
            self._load_more()

    def _load_more(self) -> None:
        """The next page, in a worker; rows are appended when it lands."""
        cursor = self.next_cursor
        if cursor is None or self._loading_more or not self.loaded:
            return
        self._loading_more = True

        def load(store: Store) -> MorePosts:
            page = store.posts_page(PAGE, cursor)
            return MorePosts(page.items, cursor, page.next_cursor)

        self.call_store("loading more posts", load, self._page_loaded,
                        failed=self._more_failed, group="dashboard-more")

    def _more_failed(self, error: Any) -> None:
        self._loading_more = False
        self.show_error(error, "loading more posts")

    def _page_loaded(self, event: MorePosts) -> None:
        if event.after != self.next_cursor:
            return  # the list was reloaded meanwhile: this page belongs to the old one
        self._loading_more = False
        known = {p.id for p in self.posts}
        fresh = [p for p in event.posts if p.id not in known]
        self.posts.extend(fresh)
        self.next_cursor = event.next_cursor
        shown = [p for p in fresh if self._matches(p)]
        self.shown_posts.extend(shown)
        self.query_one("#posts", FitTable).add_fit_rows([self._post_row(p) for p in shown])
        self._show_posts_title()

    def _show_detail(self) -> None:
        """The highlighted post in full: every collective and where it stands there."""
        detail = self.query_one("#post-detail", Static)
        post = self._selected_post()
        detail.display = post is not None
        if post is None:
            return
        narrow = self.has_class("-narrow")
        text = Text()
        text.append(post.title or "Untitled", style="bold" if post.title else "dim italic")
        if post.subtitle and not narrow:
            text.append(f"\n{post.subtitle}", style="italic")
        status = labels.POST[str(post.status)]
        text.append("\n")
        text.append(status.text, style=status.style)
        text.append(f" · {post.word_count:,} word{'s' * (post.word_count != 1)}", style="dim")
        text.append(f"{' · ' if narrow else chr(10)}updated "
                    f"{post.updated_at.astimezone():%Y-%m-%d %H:%M}", style="dim")
        if not post.shares:
            text.append("\nNot shared with any collective yet.", style="dim")
        elif narrow:
            text.append("\n")
            for index, share in enumerate(post.shares):
                label = labels.SHARE[str(share.status)]
                text.append(" · " if index else "", style="dim")
                text.append(f"{share.collective} ")
                text.append(label.text, style=label.style)
        else:
            text.append("\n\nCollectives", style="bold")
            width = max(len(s.collective) for s in post.shares)
            for share in post.shares:
                label = labels.SHARE[str(share.status)]
                text.append(f"\n{share.collective:<{width}}  ", style="cyan")
                text.append(label.text, style=label.style)
                if share.rejection_reason:
                    text.append(f": {share.rejection_reason}", style="dim")
        detail.update(text)

    def size_changed(self, size: Any) -> None:
        super().size_changed(size)
        if self.loaded:
            self._show_detail()
            self._show_lower_titles()

    def _show_collectives(self, more: bool) -> None:
        table = self.query_one("#collectives", FitTable)
        table.set_rows([(m.slug, {
            "name": m.name,
            "slug": Text(m.slug, style="cyan"),
            "role": m.role.value,
            "members": f"{m.member_count:,}",
            "can_post": can_post_text(m),
        }) for m in self.collectives])
        self._more_collectives = more
        self._show_lower_titles()

    def _show_lower_titles(self) -> None:
        count = f"{len(self.collectives)}{'+' if self._more_collectives else ''}"
        title = Text(f"My collectives ({count})")
        if self.has_class("-narrow") and self.reviews:  # the review list is hidden
            title.append(f" · {len(self.reviews)} waiting for my review (r)", style="yellow")
        self.query_one("#collectives-title", Label).update(title)

    def _show_reviews(self) -> None:
        table = self.query_one("#reviews", FitTable)
        table.set_rows([(f"{item.post_id}:{item.collective}", {
            "post": item.title or "Untitled",
            "author": item.author,
            "collective": Text(item.collective, style="cyan"),
        }) for item in self.reviews])
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

    async def action_search(self) -> None:
        found = self.query("#filter")
        if found:
            field = found.first(Input)
            field.display = True
        else:
            field = Input(placeholder="Search your posts by title (esc clears)", id="filter")
            await self.query_one("#dashboard").mount(field, before="#upper")
        field.focus()

    @on(Input.Changed, "#filter")
    def _filter(self) -> None:
        self._show_posts()

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        self.query_one("#posts", DataTable).focus()

    def action_clear_search(self) -> None:
        found = self.query("#filter")
        if not found:
            return
        field = found.first(Input)
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

    def action_delete_draft(self) -> None:
        """Delete the selected draft after asking. Only drafts that were never published
        (the store checks: post001/core/permissions.py); others are archived instead."""
        from post001.tui.screens.confirm import Confirm

        post = self._selected_post()
        if post is None:
            return
        if post.status != "draft" or post.published_at is not None:
            self.notify("Only drafts that were never published can be deleted; archive "
                        "this one instead (a).", title="Not deleted", severity="warning")
            return
        post_id, title = post.id, post.title

        def answered(delete: bool | None) -> None:
            if delete:
                self.call_store("deleting the draft", lambda s: s.delete_post(post_id), done)

        def done(_: None) -> None:
            self.notify(f"Deleted {quote_title(title)}.", title="Draft deleted", timeout=4)
            self.refresh_data()

        self.app.push_screen(Confirm(
            f"Delete the draft {quote_title(title)}?",
            "It was never published. Its text and its history are deleted; this cannot "
            "be undone.", yes="Delete"), answered)

    def action_archive(self) -> None:
        post = self._selected_post()
        if post is None:
            return
        post_id = post.id

        def done(_: Any) -> None:
            self.notify("Archived.", timeout=3)
            self.refresh_data()

        self.call_store("archiving", lambda s: s.archive_post(post_id), done)
