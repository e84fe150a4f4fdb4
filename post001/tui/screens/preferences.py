"""Preferences kept in the config file: theme, auto-save delay, the picker's default filter."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, Select, Static, Switch

from post001.core.config import config_path
from post001.tui.config_file import save_preferences
from post001.tui.screens.base import BaseModal


class PreferencesScreen(BaseModal[bool]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "save", "Save"),
    ]

    def compose(self) -> ComposeResult:
        settings = self.papp.settings
        themes = sorted(self.app.available_themes)
        with Vertical(id="dialog", classes="dialog"):
            yield Label("Preferences", classes="dialog-title")
            yield Static(f"Saved in {config_path()}", classes="hint", id="config-path")
            with Horizontal(classes="field-row"):
                yield Label("Theme", classes="field-label")
                yield Select([(t, t) for t in themes], value=self.app.theme,
                             allow_blank=False, id="theme")
            with Horizontal(classes="field-row"):
                yield Label("Auto-save after (s)", classes="field-label")
                yield Input(f"{settings.autosave_delay:g}", id="delay", type="number")
            with Horizontal(classes="field-row"):
                yield Label("Picker: only where I can post", classes="field-label")
                yield Switch(value=settings.picker_postable_only, id="postable")
            yield Static("", id="preferences-error", classes="field-error")
            with Horizontal(classes="buttons"):
                yield Button("Save (ctrl+s)", id="save", variant="primary")
                yield Button("Cancel (esc)", id="cancel")

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "theme" and isinstance(event.value, str):
            self.app.theme = event.value  # preview at once

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "save":
            self.action_save()
        else:
            self.action_cancel()

    def action_save(self) -> None:
        settings = self.papp.settings
        raw = self.query_one("#delay", Input).value
        try:
            delay = float(raw)
        except ValueError:
            delay = -1.0
        if not 0.05 <= delay <= 60:
            self.query_one("#preferences-error", Static).update(
                "✗ auto-save delay: a number of seconds from 0.05 to 60")
            return
        theme = str(self.query_one("#theme", Select).value)
        postable = self.query_one("#postable", Switch).value
        try:
            save_preferences(config_path(), {"theme": theme, "autosave_delay": delay,
                                             "picker_postable_only": postable})
        except (OSError, ValueError) as exc:
            self.query_one("#preferences-error", Static).update(f"✗ {exc}")
            return
        settings.theme = theme
        settings.autosave_delay = delay
        settings.picker_postable_only = postable
        self.notify(f"Saved to {config_path()}.", timeout=3)
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.app.theme = self.papp.settings.theme
        self.dismiss(False)
