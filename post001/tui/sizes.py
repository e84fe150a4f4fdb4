"""Size classes: one stylesheet for 80x24 up to 200x60.

Textual CSS has no media queries, so every screen that mixes `SizeClasses` in carries
classes that say how big the terminal is, and post001/tui/styles/app.tcss keys its compact
and roomy layouts on them:

- `-narrow`: fewer than 100 columns (a side panel moves under the list);
- `-wide`: 160 columns or more (room for a side panel and every column);
- `-short`: fewer than 32 rows (compact buttons and inputs, no blank lines).
"""

from __future__ import annotations

from typing import Any

from textual import events
from textual._context import active_app
from textual.geometry import Size
from textual.widgets import Footer

NARROW_BELOW = 100
WIDE_FROM = 160
SHORT_BELOW = 32


def size_classes(size: Size) -> dict[str, bool]:
    return {
        "-narrow": size.width < NARROW_BELOW,
        "-wide": size.width >= WIDE_FROM,
        "-short": size.height < SHORT_BELOW,
    }


class SizeClasses:
    """Mixed into a Screen: keeps the size classes in step with the terminal."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Set before the screen is first styled, from the terminal's size: when they
        # arrived with the first Resize, every widget on the screen was styled twice.
        app = active_app.get(None)
        if app is not None:
            node: Any = self
            for name, on in size_classes(app.size).items():
                node.set_class(on, name, update=False)

    def on_resize(self, event: events.Resize) -> None:
        self.apply_size_classes(event.size)

    def apply_size_classes(self, size: Size) -> None:
        node = self
        for name, on in size_classes(size).items():
            node.set_class(on, name)  # type: ignore[attr-defined]
        self.size_changed(size)

    def size_changed(self, size: Size) -> None:
        """What CSS cannot say: on a short terminal buttons, and the inputs of dialogs, drop
        their borders (three rows each become one), so the list above them keeps its rows;
        on a narrow one the footer keeps its columns for the screen's own keys."""
        short = size.height < SHORT_BELOW
        node: Any = self
        # "^p palette" costs 11 of 80 columns; ctrl+p still opens it, and f1 lists it.
        for footer in node.query(Footer):
            footer.show_command_palette = size.width >= NARROW_BELOW
        for widget in node.query("Button, .dialog Input, .dialog Select"):
            if widget.compact != short:
                widget.compact = short
