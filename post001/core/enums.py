"""The domain's enums, with no imports of their own.

post001.core.models declares the shapes that use them and re-exports them; they live
apart so that the permission rules (post001/core/permissions.py) and the CLI's lean
listing (post001/core/sql/quick_listing.py) can use them without loading pydantic.
"""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    EDITOR = "editor"
    AUTHOR = "author"
    CONTRIBUTOR = "contributor"
    MEMBER = "member"


ROLE_ORDER: tuple[Role, ...] = tuple(Role)  # owner first: also the default sort order


class PostStatus(enum.StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    PUBLISHED = "published"
    ARCHIVED = "archived"


class ShareStatus(enum.StrEnum):
    DRAFT = "draft"
    PENDING_APPROVAL = "pending_approval"
    PUBLISHED = "published"
    REJECTED = "rejected"


class PostType(enum.StrEnum):
    TEXT = "text"
    VIDEO = "video"


class Outcome(enum.StrEnum):
    """What publishing will do in one collective."""

    PUBLISH = "publish"
    REVIEW = "review"
    NOT_ALLOWED = "not_allowed"
