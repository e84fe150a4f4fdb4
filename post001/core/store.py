"""The one store interface. The TUI, the CLI, scripts and the server use only this.

Implementations: `post001.core.sql.SqlStore` (SQLite or PostgreSQL) and, for a team
server, `post001.core.remote.RemoteStore` (HTTP). Each call is one use case and one
transaction; every call acts as the store's user. Collectives are named by slug.
All methods are blocking: UIs call them from worker threads.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from datetime import datetime
from typing import ClassVar, Literal
from uuid import UUID

from post001.core.config import FeatureFlags
from post001.core.models import (
    DEFAULT_PAGE_SIZE,
    AuditEvent,
    Collective,
    CollectiveCreate,
    CollectiveUpdate,
    Member,
    Membership,
    Post,
    PostCreate,
    PostPage,
    PostStatus,
    PostSummary,
    PostUpdate,
    Preflight,
    PublishResult,
    ReviewItem,
    Revision,
    Role,
    User,
)

CollectiveSort = Literal["role", "name", "members"]


class Store(abc.ABC):
    """Every use case of post001, acting as one user."""

    #: True when the data lives on a server (the UI shows "offline" rather than "failed").
    is_remote: ClassVar[bool] = False
    #: Where the data lives, for humans (a path or URL without secrets).
    location: str = ""

    # --- identity -----------------------------------------------------------------------
    @abc.abstractmethod
    def me(self) -> User: ...

    @abc.abstractmethod
    def flags(self) -> FeatureFlags:
        """The feature flags in force for this store's user."""

    @abc.abstractmethod
    def multi_collective(self) -> bool:
        """False when this user is on the legacy one-collective flow."""

    @abc.abstractmethod
    def limits(self) -> tuple[int, int]:
        """(max collectives per post, max content characters)."""

    # --- users (local stores: profiles; server: administered) ---------------------------
    @abc.abstractmethod
    def add_user(self, username: str, display_name: str = "") -> User: ...

    @abc.abstractmethod
    def list_users(self) -> list[User]: ...

    # --- collectives ---------------------------------------------------------------------
    @abc.abstractmethod
    def create_collective(self, data: CollectiveCreate) -> Collective:
        """The creator becomes its owner."""

    @abc.abstractmethod
    def get_collective(self, slug: str) -> Collective:
        """NotFoundError for non-members exactly as for a missing collective."""

    @abc.abstractmethod
    def update_collective(self, slug: str, data: CollectiveUpdate) -> Collective: ...

    @abc.abstractmethod
    def my_collectives(
        self,
        query: str = "",
        *,
        postable_only: bool = False,
        sort: CollectiveSort = "role",
        limit: int | None = None,
    ) -> list[Membership]:
        """The user's memberships, searched (case-insensitive, name and slug) and sorted."""

    @abc.abstractmethod
    def reach(self, slugs: Sequence[str]) -> int:
        """How many people a post shared to these collectives would reach: the distinct
        members, the user aside, of those among them the user may post to (someone in
        three of them is one reader, not three). Slugs the user is not in count nothing.
        The picker asks this as the selection changes; preflight tells the same."""

    @abc.abstractmethod
    def members(self, slug: str) -> list[Member]: ...

    @abc.abstractmethod
    def add_member(self, slug: str, username: str, role: Role = Role.MEMBER) -> Member: ...

    @abc.abstractmethod
    def set_role(self, slug: str, username: str, role: Role) -> Member:
        """Role `owner` transfers ownership (the old owner becomes an admin)."""

    @abc.abstractmethod
    def remove_member(self, slug: str, username: str) -> None: ...

    @abc.abstractmethod
    def feed(self, slug: str, *, limit: int = 50) -> list[PostSummary]:
        """A collective's published posts (read from shares)."""

    # --- posts ---------------------------------------------------------------------------
    @abc.abstractmethod
    def create_post(self, data: PostCreate | None = None) -> Post:
        """A new draft, titled or not, shared with `data.collectives` (as draft shares).

        With `data.id` (a client-made id) the call is idempotent: when that id already
        names one of the user's posts, that post comes back as it is now and nothing is
        created, so a retry after a lost answer cannot make a second post. An id that
        names someone else's post is a ValidationError on field `id`."""

    @abc.abstractmethod
    def get_post(self, post_id: UUID) -> Post: ...

    @abc.abstractmethod
    def list_posts(self, status: PostStatus | None = None) -> list[PostSummary]:
        """All the user's own posts, newest change first. For a library of any size,
        prefer `posts_page`, which reads one page."""

    @abc.abstractmethod
    def posts_page(self, limit: int = DEFAULT_PAGE_SIZE, cursor: str | None = None, *,
                   status: PostStatus | None = None) -> PostPage:
        """One page of the user's own posts, newest change first (by updated_at, then
        id), without their bodies. Pass the page's `next_cursor` back for the next one.
        `limit` is 1..MAX_PAGE_SIZE; a malformed cursor is a ValidationError on
        `cursor`. Posts saved between two calls move to the top and are not repeated."""

    @abc.abstractmethod
    def delete_post(self, post_id: UUID) -> None:
        """Delete one of the user's own drafts that was never published (shares, history
        and all; audited). A post that was ever published (or is scheduled) is refused
        with a ValidationError: archive it instead."""

    @abc.abstractmethod
    def update_post(self, post_id: UUID, changes: PostUpdate, *, expected_version: int,
                    save_id: UUID | None = None) -> Post:
        """Save (auto-save included). A stale `expected_version` raises ConflictError.

        `save_id` names this save (a client-made UUID). It is stored with the version the
        save makes; when the same save is repeated after its answer was lost (so its
        `expected_version` is now stale), the repeat is recognised and answers as the
        first did instead of raising a ConflictError against the writer's own text."""

    @abc.abstractmethod
    def save_draft(self, post_id: UUID, changes: PostUpdate, *, expected_version: int,
                   save_id: UUID | None = None) -> int:
        """Auto-save: like update_post but returns only the new version (no read-back),
        so it stays cheap enough to run every second. A repeated `save_id` returns the
        version the first attempt made."""

    @abc.abstractmethod
    def archive_post(self, post_id: UUID) -> Post: ...

    @abc.abstractmethod
    def revisions(self, post_id: UUID) -> list[Revision]:
        """Newest first; the first entry is the current text. Earlier entries are
        snapshots: at most one a minute of writing, bounded by post001.core.revisions."""

    @abc.abstractmethod
    def restore_revision(self, post_id: UUID, version: int) -> Post:
        """Bring back an earlier version's title, subtitle and content as a new version."""

    # --- shares --------------------------------------------------------------------------
    @abc.abstractmethod
    def set_collectives(self, post_id: UUID, slugs: Sequence[str]) -> Post:
        """Make the post's selection exactly `slugs`: adds and removes only the difference."""

    @abc.abstractmethod
    def add_share(self, post_id: UUID, slug: str) -> Post: ...

    @abc.abstractmethod
    def remove_share(self, post_id: UUID, slug: str) -> Post | None:
        """Returns the post when the caller can still read it."""

    # --- publishing ----------------------------------------------------------------------
    @abc.abstractmethod
    def preflight(self, post_id: UUID) -> Preflight: ...

    @abc.abstractmethod
    def publish(self, post_id: UUID, *, idempotency_key: str | None = None) -> PublishResult:
        """All or nothing. A future `publish_at` schedules instead."""

    @abc.abstractmethod
    def unpublish(self, post_id: UUID) -> Post: ...

    @abc.abstractmethod
    def publish_due(self, now: datetime | None = None) -> list[UUID]:
        """Publish every scheduled post whose time has come (any author). Returns their ids."""

    # --- reviews -------------------------------------------------------------------------
    @abc.abstractmethod
    def pending_reviews(self, slug: str | None = None) -> list[ReviewItem]: ...

    @abc.abstractmethod
    def approve(self, post_id: UUID, slug: str) -> Post: ...

    @abc.abstractmethod
    def reject(self, post_id: UUID, slug: str, reason: str) -> Post: ...

    @abc.abstractmethod
    def resubmit(self, post_id: UUID, slug: str) -> Post: ...

    # --- audit and search ----------------------------------------------------------------
    @abc.abstractmethod
    def audit(
        self,
        *,
        post_id: UUID | None = None,
        collective: str | None = None,
        actor: str | None = None,
        limit: int = 200,
    ) -> list[AuditEvent]: ...

    @abc.abstractmethod
    def search(self, query: str, *, limit: int = 50) -> list[PostSummary]:
        """Full-text search over the published posts this user may read."""

    # --- lifecycle -----------------------------------------------------------------------
    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
