"""A save met a newer version: show both texts side by side and let the writer choose.

Nothing is dropped whichever they pick: "keep mine" overwrites on top of the current
version (the stored text stays in the revision history), "take theirs" leaves the
writer's text in this screen's result for the editor to discard only on purpose, and
"save mine as a new draft" keeps both posts.
"""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Label, Static, TextArea

from post001.core.models import Post
from post001.tui.messages import DraftSnapshot
from post001.tui.screens.base import BaseModal

#: What each choice returns to the editor.
KEEP_MINE, TAKE_THEIRS, SAVE_COPY = "mine", "theirs", "copy"


class ConflictScreen(BaseModal[str | None]):
    """Returns "mine", "theirs" or "copy"."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("m", "choose('mine')", "Keep mine"),
        Binding("t", "choose('theirs')", "Take stored"),
        Binding("c", "choose('copy')", "Mine as new draft"),
    ]

    #: What the dialog says above the two texts, and over the writer's.
    HINT = ("Someone (or another window) saved a newer version while you were writing. "
            "Both texts are kept until you choose.")
    MINE_TITLE = "Your text"

    def __init__(self, post_id: UUID, mine: DraftSnapshot, stored: Post | None = None
                 ) -> None:
        super().__init__()
        self.post_id = post_id
        self.mine = mine
        #: The stored version, when the caller already has it (else it is loaded).
        self.stored: Post | None = stored

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog wide"):
            yield Label("This post was changed elsewhere", classes="dialog-title")
            yield Static(self.HINT, classes="hint")
            with Horizontal(id="versions"):
                with Vertical(classes="version"):
                    yield Label(self.MINE_TITLE, classes="version-title")
                    yield TextArea(self._as_text(self.mine.title, self.mine.content),
                                   read_only=True, id="mine", soft_wrap=True)
                with Vertical(classes="version"):
                    yield Label(self._stored_title(), id="stored-title",
                                classes="version-title")
                    yield TextArea(self._stored_text(), read_only=True, id="stored",
                                   soft_wrap=True)
            with Horizontal(classes="buttons"):
                yield Button("Keep mine (m)", id="mine-btn", variant="primary")
                yield Button("Take stored (t)", id="theirs-btn")
                yield Button("Save mine as new draft (c)", id="copy-btn", variant="success")

    @staticmethod
    def _as_text(title: str, content: str) -> str:
        return f"# {title or 'Untitled'}\n\n{content}"

    def _stored_title(self) -> str:
        post = self.stored
        if post is None:
            return "Stored version (loading…)"
        return f"Stored version {post.version} ({post.updated_at:%Y-%m-%d %H:%M})"

    def _stored_text(self) -> str:
        post = self.stored
        return self._as_text(post.title, post.content) if post is not None else ""

    def on_mount(self) -> None:
        if self.stored is not None:
            return
        post_id = self.post_id
        self.call_store("loading the stored version", lambda s: s.get_post(post_id),
                        self._show_stored)

    def _show_stored(self, post: Post) -> None:
        self.stored = post
        self.query_one("#stored-title", Label).update(self._stored_title())
        self.query_one("#stored", TextArea).load_text(self._stored_text())

    def on_button_pressed(self, event: Button.Pressed) -> None:
        choice = {"mine-btn": KEEP_MINE, "theirs-btn": TAKE_THEIRS,
                  "copy-btn": SAVE_COPY}.get(event.button.id or "")
        if choice:
            self.action_choose(choice)

    def action_choose(self, choice: str) -> None:
        self.dismiss(choice)
