"""Create a collective right here; the creator becomes its owner."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, Static, Switch

from post001.core.errors import Post001Error
from post001.core.models import Collective, CollectiveCreate
from post001.core.text import slugify
from post001.tui.screens.base import BaseModal, as_post001_error


class NewCollectiveScreen(BaseModal[Collective | None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self) -> None:
        super().__init__()
        self._slug_edited = False

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog"):
            yield Label("New collective", classes="dialog-title")
            yield Static("A collective is a group publication. You become its owner and can "
                         "add members later.", classes="hint")
            yield Label("Name")
            yield Input(placeholder="e.g. Rust Weekly", id="name")
            yield Label("Slug (its short name)")
            yield Input(placeholder="rust-weekly", id="slug")
            yield Static("", id="collective-error", classes="field-error")
            with Horizontal(classes="field-row"):
                yield Switch(value=False, id="approval")
                yield Label("review authors' posts before they appear", classes="switch-label")
            with Horizontal(classes="buttons"):
                yield Button("Create (enter)", id="create", variant="primary")
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#name", Input).focus()

    @on(Input.Changed, "#name")
    def _name_changed(self, event: Input.Changed) -> None:
        if not self._slug_edited:
            slug = self.query_one("#slug", Input)
            with self.prevent(Input.Changed):
                slug.value = slugify(event.value)

    @on(Input.Changed, "#slug")
    def _slug_changed(self) -> None:
        self._slug_edited = True

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self._create()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "create":
            self._create()
        else:
            self.action_cancel()

    def _create(self) -> None:
        error = self.query_one("#collective-error", Static)
        try:
            data = CollectiveCreate(
                name=self.query_one("#name", Input).value,
                slug=self.query_one("#slug", Input).value.strip(),
                require_approval=self.query_one("#approval", Switch).value,
            )
        except Exception as exc:
            error.update(f"✗ {as_post001_error(exc).message}")
            return
        error.update("")
        self.call_store("creating the collective", lambda s: s.create_collective(data),
                        self._created, failed=self._failed)

    def _failed(self, err: Post001Error) -> None:
        self.query_one("#collective-error", Static).update(f"✗ {err.message}")

    def _created(self, collective: Collective) -> None:
        self.notify(f"You own {collective.name} ({collective.slug}). You can post there "
                    "now; members are added from the post001 command line.",
                    title="Collective created")
        self.dismiss(collective)
        from post001.tui.screens.dashboard import DashboardScreen

        for screen in self.app.screen_stack:
            if isinstance(screen, DashboardScreen):
                screen.refresh_data()

    def action_cancel(self) -> None:
        self.dismiss(None)
