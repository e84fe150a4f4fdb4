"""The footer every screen shows: Textual's `Footer`, built once per change of bindings.

Textual's `Footer` rebuilds its keys (`recompose`) after every `bindings_updated` signal,
and a screen sends several as it starts (its stack count, its focus, the dashboard's
recovered-drafts count): the dashboard's footer was built twice before its first frame,
each key styled twice more when the footer's `compact` flag reached it. Here the requests
that arrive before the rebuild runs share one rebuild (it reads the screen's bindings as
they are then), and the keys are made compact as they are built, so none is restyled.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer
from textual.widgets._footer import FooterKey


class AppFooter(Footer):
    """`Footer` that coalesces its rebuilds and builds its keys compact."""

    _rebuild_pending = False

    def bindings_changed(self, screen: Screen[object]) -> None:
        self._bindings_ready = True
        if not screen.app.app_focus:
            return
        if self.is_attached and screen is self.screen and not self._rebuild_pending:
            self._rebuild_pending = True
            self.call_after_refresh(self._rebuild)

    async def _rebuild(self) -> None:
        self._rebuild_pending = False
        await self.recompose()

    def compose(self) -> ComposeResult:
        for widget in super().compose():
            if isinstance(widget, FooterKey) and self.compact:
                # What the data binding to `compact` would set once mounted (a restyle).
                widget.set_reactive(FooterKey.compact, True)
                widget.add_class("-compact", update=False)
            yield widget
