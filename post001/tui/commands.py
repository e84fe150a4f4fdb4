"""The command palette (ctrl+p): every main action by name, for the screen in front."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Any

from textual.command import DiscoveryHit, Hit, Hits, Provider

#: (name, help, action, screen class name, "" for everywhere, or "team" for every
#: screen of an app on a team server)
COMMANDS: tuple[tuple[str, str, str, str], ...] = (
    ("New post", "Write a new post", "app.new_post", ""),
    ("Dashboard", "Back to my posts and collectives", "app.dashboard", ""),
    ("Review queue", "Approve or reject shares waiting for you", "app.reviews", ""),
    ("Search published posts", "Full-text search over every post you can read",
     "app.search_published", ""),
    ("Recovered drafts", "Texts kept on this machine when a save failed; restore them",
     "app.recovered", ""),
    ("New collective", "Create a collective you own", "app.new_collective", ""),
    ("Preferences", "Theme, auto-save delay, picker filter", "app.preferences", ""),
    ("Sign in", "Sign in to the team server", "app.sign_in", "team"),
    ("Sign out", "Sign out of the team server (changes made offline stay here)",
     "app.sign_out", "team"),
    ("Offline conflicts", "Choose again for changes kept here that met newer versions",
     "app.journal_conflicts", "team"),
    ("Publish when back online", "Queue this post's publish until the server answers",
     "app.publish_when_online", "team"),
    ("Help", "Every key", "app.help", ""),
    ("Quit", "Save the draft and quit", "app.quit", ""),
    ("Filter my posts", "Filter my posts by title", "screen.search", "DashboardScreen"),
    ("Refresh", "Reload the dashboard", "screen.refresh", "DashboardScreen"),
    ("Unpublish selected post", "Back to draft, with its shares",
     "screen.unpublish", "DashboardScreen"),
    ("Archive selected post", "Hide it from every feed", "screen.archive", "DashboardScreen"),
    ("Delete selected draft", "Never-published drafts only; asks first",
     "screen.delete_draft", "DashboardScreen"),
    ("Save now", "Save the draft at once", "screen.save_now", "EditorScreen"),
    ("Post settings", "Subtitle, byline, SEO, schedule…", "screen.post_settings",
     "EditorScreen"),
    ("Choose collectives", "Where this post goes", "screen.pick_collectives", "EditorScreen"),
    ("Preview", "Show the Markdown rendered", "screen.toggle_preview", "EditorScreen"),
    ("Revision history", "Earlier versions; restore one", "screen.history", "EditorScreen"),
    ("Open in $EDITOR", "Edit the body in your editor", "screen.external_editor",
     "EditorScreen"),
    ("Publish", "Check and publish", "screen.publish", "EditorScreen"),
    ("Unpublish", "Back to draft, with its shares", "screen.unpublish", "EditorScreen"),
    ("Approve", "Approve the selected share", "screen.approve", "ReviewScreen"),
    ("Reject", "Reject the selected share with a reason", "screen.reject", "ReviewScreen"),
)


class Post001Commands(Provider):
    def _available(self) -> Iterator[tuple[str, str, str]]:
        screen_name = type(self.screen).__name__
        team = getattr(self.app, "team", None) is not None
        for name, help_text, action, where in COMMANDS:
            if not where or where == screen_name or (where == "team" and team):
                yield name, help_text, action

    def _runner(self, action: str) -> partial[Any]:
        if action.startswith("screen."):
            # The palette is in front while it is open: aim at the screen it was opened on.
            return partial(self.app.run_action, action.removeprefix("screen."), self.screen)
        return partial(self.app.run_action, action)

    async def discover(self) -> Hits:
        for name, help_text, action in self._available():
            yield DiscoveryHit(name, self._runner(action), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, action in self._available():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), self._runner(action), help=help_text)
