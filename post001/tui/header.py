"""The header every screen shows: Textual's `Header`, safe while screens come and go.

Textual's `Header` updates its title from an async watcher on the app's and the screen's
`title`/`sub_title`. The update runs later, on the header's own queue; when the screen is
being popped (or its children are not mounted yet) the title widget is gone and
`query_one(HeaderTitle)` raised `NoMatches`, which ends the app. The app changes
`sub_title` from the store-opening worker at any moment, so this happened under load.
"""

from __future__ import annotations

import contextlib

from textual.css.query import NoMatches
from textual.dom import NoScreen
from textual.events import Mount
from textual.widget import Widget
from textual.widgets import Header
from textual.widgets._header import HeaderTitle


class AppHeader(Header):
    """`Header` whose title update skips a header that is leaving or not yet built."""

    def _on_mount(self, event: Mount) -> None:
        # Header's own handler registers the unguarded watcher: skip it (and so every
        # base class's handler; Widget's, the only other one, runs here by hand).
        event.prevent_default()
        Widget._on_mount(self, event)

        async def set_title() -> None:
            if self._closing or not self.is_attached:
                return
            # Leaving, or not composed yet: the next change (or the mount) sets it.
            with contextlib.suppress(NoMatches, NoScreen):
                self.query_one(HeaderTitle).update(self.format_title())

        self.watch(self.app, "title", set_title)
        self.watch(self.app, "sub_title", set_title)
        self.watch(self.screen, "title", set_title)
        self.watch(self.screen, "sub_title", set_title)
