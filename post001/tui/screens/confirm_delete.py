"""Deleting a draft cannot be undone: ask first, naming the draft."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Label, Static

from post001.core.text import quote_title
from post001.tui.screens.base import BaseModal


class ConfirmDelete(BaseModal[bool]):
    """Answer True to delete; escape, n or the focused "Keep it" button keep the draft."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Delete"),
        Binding("n,escape", "answer(False)", "Keep"),
    ]

    def __init__(self, title: str) -> None:
        super().__init__()
        self.draft_title = title

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog"):
            yield Label(f"Delete the draft {quote_title(self.draft_title)}?",
                        classes="dialog-title")
            yield Static("It was never published. Its text and its history are deleted; "
                         "this cannot be undone.", classes="hint")
            with Horizontal(classes="buttons"):
                yield Button("Delete (y)", id="delete", variant="error")
                yield Button("Keep it (n)", id="keep")

    def on_mount(self) -> None:
        self.query_one("#keep", Button).focus()  # enter on arrival keeps the draft

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "delete")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)
