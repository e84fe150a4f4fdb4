"""One yes/no dialog for the answers that cannot be undone (deleting a draft, discarding a
recovered copy): the question, why it matters, and "no" focused, so enter, n or escape
keep things as they are and only y or the named button goes ahead."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Label, Static

from post001.tui.screens.base import BaseModal


class Confirm(BaseModal[bool]):
    """Answers True for yes (y, or the `yes` button); escape, n or the focused `no`
    button answer False."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]

    def __init__(self, question: str, detail: str, *, yes: str, no: str = "Keep it") -> None:
        super().__init__()
        self.question = question
        self.detail = detail
        self.yes_label = yes
        self.no_label = no

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog"):
            yield Label(self.question, id="question", classes="dialog-title")
            yield Static(self.detail, classes="hint")
            with Horizontal(classes="buttons"):
                yield Button(f"{self.yes_label} (y)", id="yes", variant="error")
                yield Button(f"{self.no_label} (n)", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()  # enter on arrival keeps things as they are

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)
