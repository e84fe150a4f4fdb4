"""Domain shapes: enums, field limits (declared once, here) and the input/output models.

Inputs (`PostCreate`, `PostUpdate`, `CollectiveCreate`, ...) only carry what a caller may
set; author, status, version, role and timestamps exist only on the outputs, and inputs
forbid unknown fields, so nobody can mass-assign them.
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

# The enums import nothing and live in post001.core.enums (the permission rules use them
# without pydantic); re-exported.
from post001.core.enums import ROLE_ORDER as ROLE_ORDER
from post001.core.enums import Outcome as Outcome
from post001.core.enums import PostStatus as PostStatus
from post001.core.enums import PostType as PostType
from post001.core.enums import Role as Role
from post001.core.enums import ShareStatus as ShareStatus

# The defaults needed before pydantic loads live in post001.core.limits; re-exported.
from post001.core.limits import DEFAULT_CONTENT_MAX as DEFAULT_CONTENT_MAX
from post001.core.limits import DEFAULT_MAX_COLLECTIVES as DEFAULT_MAX_COLLECTIVES
from post001.core.limits import DEFAULT_PAGE_SIZE as DEFAULT_PAGE_SIZE
from post001.core.limits import MAX_PAGE_SIZE as MAX_PAGE_SIZE

# --- field limits: the one place they are declared ----------------------------------------

USERNAME_RE = r"^[a-z0-9_]{3,32}$"
SLUG_RE = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
TITLE_MAX = 200
SUBTITLE_MAX = 300
BYLINE_MAX = 100
SEO_TITLE_MAX = 60
META_DESCRIPTION_MAX = 160
THUMBNAIL_URL_MAX = 2048
METADATA_MAX_BYTES = 64 * 1024
#: How deep metadata objects and arrays may nest, and how many values it may hold in
#: all: beyond these, JSON serializers (pydantic's among them) refuse to write it back.
METADATA_MAX_DEPTH = 32
METADATA_MAX_NODES = 10_000
#: Where `readable_metadata` keeps stored metadata that breaks those limits.
UNREADABLE_METADATA_KEY = "post001_unreadable_metadata"
DISPLAY_NAME_MAX = 100
COLLECTIVE_NAME_MAX = 100
COLLECTIVE_DESCRIPTION_MAX = 2000
SLUG_MAX = 64
REJECTION_REASON_MAX = 1000
#: Half of a UTF-16 surrogate pair on its own: JSON can carry it, UTF-8 cannot.
_SURROGATE = re.compile("[\ud800-\udfff]")


def _check_url(value: str | None) -> str | None:
    if value in (None, ""):
        return None
    assert value is not None
    if not re.match(r"^https?://[^\s/$.?#][^\s]*$", value, re.IGNORECASE):
        raise ValueError("must be an http:// or https:// URL")
    return value


def _metadata_problem(value: Any) -> str | None:
    """Why `value` cannot be stored as post metadata, or None.

    Walked iteratively, so a hostile nesting depth costs no recursion; every level is
    checked (keys are strings, numbers finite, text encodable and free of NUL), because
    what is stored must read back through every serializer on every backend."""
    if not isinstance(value, dict):
        return "must be a JSON object"
    stack: list[tuple[Any, int, str]] = [(value, 1, "")]
    nodes = 0
    while stack:
        item, depth, where = stack.pop()
        nodes += 1
        if nodes > METADATA_MAX_NODES:
            return f"has more than {METADATA_MAX_NODES:,} values; the limit is that many"
        if isinstance(item, dict):
            if depth > METADATA_MAX_DEPTH:
                return (f"is nested more than {METADATA_MAX_DEPTH} levels deep (at "
                        f"{where or 'the top'}); the limit is {METADATA_MAX_DEPTH}")
            for key, child in item.items():
                if not isinstance(key, str):
                    return f"has a key that is not text at {where or 'the top'}"
                problem = text_problem(key)
                if problem:
                    return f"has a key that {problem}"
                stack.append((child, depth + 1, f"{where}.{key}"[:80].lstrip(".")))
        elif isinstance(item, list):
            if depth > METADATA_MAX_DEPTH:
                return (f"is nested more than {METADATA_MAX_DEPTH} levels deep (at "
                        f"{where or 'the top'}); the limit is {METADATA_MAX_DEPTH}")
            stack.extend((child, depth + 1, f"{where}[{i}]"[:80])
                         for i, child in enumerate(item))
        elif isinstance(item, str):
            problem = text_problem(item)
            if problem:
                return f"{problem} (at {where})"
        elif isinstance(item, float):
            if not math.isfinite(item):
                return f"holds {item!r} at {where}; JSON numbers must be finite"
        elif item is not None and not isinstance(item, (bool, int)):
            return f"holds a {type(item).__name__} at {where}; only JSON values are allowed"
    return None


def text_problem(value: str) -> str | None:
    if "\x00" in value:
        return "contains a NUL character (\\x00), which cannot be stored"
    if _SURROGATE.search(value):
        return "contains a lone surrogate (an unpaired \\ud800-\\udfff), which is not text"
    return None


def _check_metadata(value: dict[str, Any]) -> dict[str, Any]:
    problem = _metadata_problem(value)
    if problem:
        raise ValueError(problem)
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    size = len(text.encode())
    if size > METADATA_MAX_BYTES:
        raise ValueError(f"is {size} bytes of JSON; the limit is {METADATA_MAX_BYTES} bytes")
    return value


def readable_metadata(value: Any) -> dict[str, Any]:
    """Metadata as stored, or, for a row written before the limits above existed (e.g.
    nested too deep to serialize), the stored JSON as text under one key: the post can
    be read and saved again, and nothing stored is dropped."""
    if not value:
        return {}
    if _metadata_problem(value) is None:
        return dict(value)
    return {UNREADABLE_METADATA_KEY: json.dumps(value, ensure_ascii=True,
                                               separators=(",", ":"))}


def _check_publish_at(value: datetime | None) -> datetime | None:
    """A moment both databases can store, in UTC (a naive time is taken to be UTC)."""
    if value is None:
        return None
    try:
        utc = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is outside the dates post001 can store") from None
    if not 1970 <= utc.year <= 9000:
        raise ValueError("must be between the years 1970 and 9000")
    return utc


PublishAt = Annotated[datetime | None, AfterValidator(_check_publish_at)]

Username = Annotated[str, StringConstraints(pattern=USERNAME_RE, min_length=3, max_length=32)]
Slug = Annotated[str, StringConstraints(pattern=SLUG_RE, min_length=1, max_length=SLUG_MAX)]
Title = Annotated[str, StringConstraints(max_length=TITLE_MAX)]
Subtitle = Annotated[str, StringConstraints(max_length=SUBTITLE_MAX)]
Byline = Annotated[str, StringConstraints(max_length=BYLINE_MAX)]
SeoTitle = Annotated[str, StringConstraints(max_length=SEO_TITLE_MAX)]
MetaDescription = Annotated[str, StringConstraints(max_length=META_DESCRIPTION_MAX)]
ThumbnailUrl = Annotated[
    str | None, StringConstraints(max_length=THUMBNAIL_URL_MAX), AfterValidator(_check_url)
]
Metadata = Annotated[dict[str, Any], AfterValidator(_check_metadata)]
DisplayName = Annotated[str, StringConstraints(max_length=DISPLAY_NAME_MAX)]
CollectiveName = Annotated[
    str, StringConstraints(min_length=1, max_length=COLLECTIVE_NAME_MAX, strip_whitespace=True)
]
Description = Annotated[str, StringConstraints(max_length=COLLECTIVE_DESCRIPTION_MAX)]
RejectionReason = Annotated[
    str, StringConstraints(min_length=1, max_length=REJECTION_REASON_MAX, strip_whitespace=True)
]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        # PostgreSQL cannot store U+0000 in text; refuse it here, naming the field,
        # so every backend gives the same answer.
        if isinstance(value, str):
            problem = text_problem(value)
            if problem:
                raise ValueError(problem)
        return value


class _Output(BaseModel):
    # Built on first use, not at import (`defer_build`): a command that shows one kind of
    # result does not pay for building every other (about 15 ms of each CLI command's
    # start-up; benchmarks/bench_cli.py). Inputs stay eager: the server declares them
    # as `Annotated[PostCreate | None, Body()]`, where pydantic refuses a deferred model
    # with UnsupportedFieldAttributeWarning.
    model_config = ConfigDict(from_attributes=True, defer_build=True)


# --- users and collectives ----------------------------------------------------------------


class User(_Output):
    id: UUID
    username: str
    display_name: str = ""
    created_at: datetime


class UserCreate(_Input):
    username: Username
    display_name: DisplayName = ""


class CollectiveCreate(_Input):
    slug: Slug
    name: CollectiveName
    description: Description = ""
    require_approval: bool = False


class CollectiveUpdate(_Input):
    name: CollectiveName | None = None
    description: Description | None = None
    require_approval: bool | None = None


class Collective(_Output):
    id: UUID
    slug: str
    name: str
    description: str = ""
    owner: str  # username
    require_approval: bool
    member_count: int
    created_at: datetime
    updated_at: datetime


class Membership(_Output):
    """One of the acting user's collectives, as the picker and dashboard show it."""

    collective_id: UUID
    slug: str
    name: str
    role: Role
    member_count: int
    require_approval: bool
    can_post: bool
    reason: str | None = None  # why not, when can_post is False


class Member(_Output):
    username: str
    display_name: str = ""
    role: Role
    joined_at: datetime


# --- posts --------------------------------------------------------------------------------


class PostFields(_Input):
    """What a writer may set on a post; every field optional so drafts can be untitled."""

    title: Title = ""
    subtitle: Subtitle = ""
    byline: Byline = ""
    content: str = ""
    post_type: PostType = PostType.TEXT
    is_public: bool = True
    seo_title: SeoTitle = ""
    meta_description: MetaDescription = ""
    thumbnail_url: ThumbnailUrl = None
    metadata: Metadata = Field(default_factory=dict)
    publish_at: PublishAt = None


class PostCreate(PostFields):
    collectives: list[str] = Field(default_factory=list)  # slugs to share with
    #: A client-made id. Creating with an id that already names one of your posts
    #: returns that post instead of a second one, so a retry after a lost answer (or a
    #: post written offline and sent later) is created exactly once.
    id: UUID | None = None


class PostUpdate(_Input):
    """A partial update: only the fields that are set are written."""

    title: Title | None = None
    subtitle: Subtitle | None = None
    byline: Byline | None = None
    content: str | None = None
    post_type: PostType | None = None
    is_public: bool | None = None
    seo_title: SeoTitle | None = None
    meta_description: MetaDescription | None = None
    thumbnail_url: ThumbnailUrl = None
    metadata: Metadata | None = None
    publish_at: PublishAt = None


class Share(_Output):
    collective_id: UUID
    collective: str  # slug
    collective_name: str
    status: ShareStatus
    shared_by: str | None = None
    shared_at: datetime | None = None
    display_order: int = 0
    decided_by: str | None = None
    decided_at: datetime | None = None
    rejection_reason: str | None = None


class Post(_Output):
    id: UUID
    author: str  # username
    title: str
    subtitle: str
    byline: str
    content: str
    post_type: PostType
    is_public: bool
    seo_title: str
    meta_description: str
    thumbnail_url: str | None
    metadata: dict[str, Any]
    slug: str
    status: PostStatus
    publish_at: datetime | None
    published_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int
    collective_id: UUID | None = None  # legacy single collective
    shares: list[Share] = Field(default_factory=list)

    def fields(self) -> PostFields:
        """The writer-settable part, e.g. to copy a post into a new draft."""
        return PostFields.model_validate(
            self.model_dump(include=set(PostFields.model_fields))
        )


class PostSummary(_Output):
    id: UUID
    author: str
    title: str
    subtitle: str
    status: PostStatus
    version: int
    updated_at: datetime
    published_at: datetime | None
    publish_at: datetime | None = None
    word_count: int = 0
    shares: list[Share] = Field(default_factory=list)


class PostPage(_Output):
    """One page of the writer's posts, newest change first.

    `next_cursor` is opaque: pass it back to get the page after this one; None when
    this page is the last."""

    items: list[PostSummary]
    next_cursor: str | None = None


class Revision(_Output):
    post_id: UUID
    version: int
    title: str
    subtitle: str
    content: str
    saved_at: datetime


# --- publishing ---------------------------------------------------------------------------


class CollectivePlan(_Output):
    collective: str  # slug
    collective_name: str
    outcome: Outcome
    reason: str | None = None
    role: Role | None = None
    member_count: int = 0


class Problem(_Output):
    code: str
    message: str
    field: str | None = None
    collective: str | None = None


class Preflight(_Output):
    can_publish: bool
    errors: list[Problem]
    warnings: list[Problem]
    #: The people it reaches: distinct members of the collectives it would go to, the
    #: author aside (the store counts them; post001.core.publishing.preflight alone can
    #: only add member counts up, an upper bound for previews).
    reach: int
    collectives: list[CollectivePlan]


class ShareOutcome(_Output):
    collective: str
    collective_name: str
    status: ShareStatus
    rejection_reason: str | None = None


class PublishResult(_Output):
    post: Post
    scheduled: bool
    outcomes: list[ShareOutcome]
    replayed: bool = False  # True when an idempotency key returned an earlier result
    #: False when the post was already out as asked (live, or scheduled for the same
    #: time) and no share was waiting: nothing was written, the version is unchanged.
    changed: bool = True


class ReviewItem(_Output):
    post_id: UUID
    title: str
    author: str
    collective: str
    collective_name: str
    shared_at: datetime | None
    excerpt: str


class AuditEvent(_Output):
    id: UUID
    at: datetime
    actor: str | None  # username
    action: str
    post_id: UUID | None = None
    collective: str | None = None
    old: dict[str, Any] | None = None
    new: dict[str, Any] | None = None
    request_id: str | None = None
