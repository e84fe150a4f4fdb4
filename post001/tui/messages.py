"""What the TUI's workers and screens tell each other, named as events.

Workers run store calls in threads and post one of these back to the UI thread; tests
record them with `message_hook`. Each is a dataclass so its fields read as its meaning.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from textual.message import Message

if TYPE_CHECKING:  # annotations only: importing this module stays light for start-up
    from post001.core.errors import Post001Error
    from post001.core.models import (
        Membership,
        Post,
        PostSummary,
        Preflight,
        PublishResult,
        ReviewItem,
        Revision,
    )
    from post001.core.store import Store
    from post001.tui.autosave import SaveTicket


@dataclass
class StoreOpened(Message):
    """The store is ready: the app may ask it things."""

    store: Store


@dataclass
class StoreFailed(Message):
    """The store could not be opened (the app keeps retrying)."""

    error: Post001Error
    retry_in: float


@dataclass
class DraftSnapshot:
    """What the editor showed when a save started."""

    title: str
    subtitle: str
    content: str
    extra: dict[str, object] = field(default_factory=dict)  # settings-screen fields


@dataclass
class DraftSaved(Message):
    """A save landed. `post` is None for an auto-save that only learnt the new version
    (`Store.save_draft`); `version` and `saved_at` are always set."""

    post: Post | None
    ticket: SaveTicket
    created: bool
    version: int = 0
    saved_at: datetime | None = None
    snapshot: DraftSnapshot | None = None  # what was saved


@dataclass
class DraftSaveFailed(Message):
    error: Post001Error
    ticket: SaveTicket
    retryable: bool


@dataclass
class DraftConflict(Message):
    """A save met a newer stored version: both texts are kept until the writer chooses."""

    mine: DraftSnapshot
    ticket: SaveTicket
    current_version: int


@dataclass
class ConflictResolved(Message):
    choice: str  # "mine", "theirs", "copy"
    post: Post


@dataclass
class PostLoaded(Message):
    post: Post


@dataclass
class DashboardLoaded(Message):
    posts: list[PostSummary]
    collectives: list[Membership]
    reviews: list[ReviewItem]
    has_more_collectives: bool
    #: Where the next page of posts starts (None: every post is loaded).
    next_cursor: str | None = None


@dataclass
class CollectivesFound(Message):
    """A picker search finished (stale ones are ignored by `request`)."""

    request: int
    query: str
    rows: list[Membership]
    more: bool


@dataclass
class CollectivesApplied(Message):
    post: Post
    slugs: list[str]


@dataclass
class PreflightReady(Message):
    plan: Preflight


@dataclass
class Published(Message):
    result: PublishResult


@dataclass
class Unpublished(Message):
    post: Post


@dataclass
class ReviewDecided(Message):
    post_id: UUID
    collective: str
    approved: bool


@dataclass
class RevisionsLoaded(Message):
    revisions: list[Revision]


@dataclass
class RevisionRestored(Message):
    post: Post


@dataclass
class StoreCallFailed(Message):
    """Any other store call failed; the screen shows the error and its actions."""

    error: Post001Error
    what: str


@dataclass
class RecoveredFound(Message):
    """Drafts kept on this machine by failed saves (recovery.py) were counted."""

    count: int


@dataclass
class RecoveredLoaded(Message):
    """The Recovered screen's list: each kept draft and what became of its post."""

    drafts: list[dict[str, Any]]


@dataclass
class RecoveredRestored(Message):
    """A kept draft is in the store now (`how`: "restored", "new draft", "unchanged",
    "discarded"); its file is gone."""

    key: str
    how: str
    post_id: UUID | None


@dataclass
class SearchFinished(Message):
    """A full-text search finished (stale ones are ignored by `request`)."""

    request: int
    query: str
    results: list[PostSummary]
