"""A change kept on this machine met a newer version on the server.

The same three-way dialog as an online conflict (post001/tui/screens/conflict.py), but
both texts are already known: the writer's is every change the journal holds for the
post (`SyncConflict.mine`), the server's is the post it sent back (`theirs`). Asking the
store for the post here would show the journal's text over the server's, so nothing is
loaded. The choice goes to core's `OfflineStore.resolve` (post001/tui/team.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from post001.tui.messages import DraftSnapshot
from post001.tui.screens.conflict import ConflictScreen

if TYPE_CHECKING:
    from post001.core.sync import SyncConflict


class JournalConflictScreen(ConflictScreen):
    """Returns "mine", "theirs" or "copy", like ConflictScreen."""

    HINT = ("You changed this post while offline, and it was changed on the server in the "
            "meantime. Both texts are kept until you choose.")
    MINE_TITLE = "Your text (kept on this machine)"

    def __init__(self, conflict: SyncConflict) -> None:
        theirs = conflict.theirs
        mine = conflict.mine.model_dump(exclude_unset=True)

        def pick(name: str, fallback: str) -> str:
            value = mine.get(name)
            return str(value) if value is not None else fallback

        super().__init__(conflict.post_id, DraftSnapshot(
            title=pick("title", theirs.title), subtitle=pick("subtitle", theirs.subtitle),
            content=pick("content", theirs.content)), stored=theirs)
        self.conflict = conflict

    def _stored_title(self) -> str:
        post = self.conflict.theirs
        return f"On the server: version {post.version} ({post.updated_at:%Y-%m-%d %H:%M})"
