"""Publishing needs the server: say why it was refused, and offer the one alternative.

Core refuses a publish while the server cannot be reached (post001/core/offline.py):
publishing then would send an older text, or nothing. Only when the writer explicitly
chooses "publish when back online" is it queued, to go out once, after the post's
changes, under its idempotency key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

if TYPE_CHECKING:
    from post001.core.errors import Post001Error


class PublishLaterScreen(ModalScreen[bool]):
    """True when the writer chose "publish when back online"."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss(False)", "Not now"),
        Binding("l", "dismiss(True)", "Publish when back online"),
    ]

    def __init__(self, error: Post001Error) -> None:
        super().__init__()
        self.error = error

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog"):
            yield Label("Not published: publishing needs the server", classes="dialog-title")
            yield Static(self.error.message, id="refusal", classes="hint")
            yield Static("It can go out by itself instead: once, after your changes reach "
                         "the server, when it answers again.", classes="hint")
            with Horizontal(classes="buttons"):
                yield Button("Publish when back online (l)", id="later", variant="primary")
                yield Button("Not now (esc)", id="not-now")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "later")
