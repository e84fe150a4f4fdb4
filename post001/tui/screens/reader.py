"""Read a post that is not mine: title, author, where it is published, the text. No edits."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar
from uuid import UUID

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Label, Markdown, Static

from post001.core.labels import post_label
from post001.tui.footer import AppFooter
from post001.tui.header import AppHeader
from post001.tui.screens.base import BaseScreen
from post001.tui.widgets import share_badges_text

if TYPE_CHECKING:
    from post001.core.errors import Post001Error
    from post001.core.models import Post


class ReaderScreen(BaseScreen):
    """Read-only: the store decides whether I may read it (a NotFound otherwise)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "back", "Back"),
    ]

    def __init__(self, post_id: UUID) -> None:
        super().__init__()
        self.post_id = post_id
        self.post: Post | None = None

    def compose(self) -> ComposeResult:
        yield AppHeader()
        with Vertical(id="reader"):
            yield Label("Loading…", id="reader-title", classes="section-title")
            yield Static("", id="reader-meta", classes="hint")
            with VerticalScroll(id="reader-scroll"):
                yield Markdown("", id="reader-body")
        yield AppFooter()

    def on_mount(self) -> None:
        post_id = self.post_id
        self.call_store("reading the post", lambda s: s.get_post(post_id), self._loaded,
                        failed=self._failed)

    def _loaded(self, post: Post) -> None:
        self.post = post
        self.query_one("#reader-title", Label).update(post.title or "Untitled")
        published = (f"published {post.published_at.astimezone():%Y-%m-%d %H:%M}"
                     if post.published_at else post_label(post.status))
        line = f"by {post.author} · {published} · read-only"
        if post.byline:
            line = f"{post.byline} · {line}"
        meta = Text(line + "\nIn: ")
        meta.append_text(share_badges_text(
            [s for s in post.shares if s.status == "published"]))
        self.query_one("#reader-meta", Static).update(meta)
        body = f"## {post.subtitle}\n\n{post.content}" if post.subtitle else post.content
        self.query_one("#reader-body", Markdown).update(body)

    def _failed(self, error: Post001Error) -> None:
        self.show_error(error, "reading the post")
        self.app.pop_screen()

    def action_back(self) -> None:
        self.app.pop_screen()
