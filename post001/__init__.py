"""post001: write one post, publish it to many collectives.

The public Python API lives here; everything else is an implementation detail.

    >>> import post001
    >>> s = post001.connect("sqlite:///my.db", user="alice")
"""

from post001.core.api import connect
from post001.core.errors import (
    ConflictError,
    DatabaseError,
    NetworkError,
    NotFoundError,
    PermissionDenied,
    Post001Error,
    ValidationError,
)
from post001.core.models import (
    AuditEvent,
    Collective,
    CollectiveCreate,
    CollectiveUpdate,
    Member,
    Membership,
    Post,
    PostCreate,
    PostStatus,
    PostSummary,
    PostType,
    PostUpdate,
    Preflight,
    PublishResult,
    Revision,
    ReviewItem,
    Role,
    Share,
    ShareStatus,
    User,
)
from post001.core.store import Store

__all__ = [
    "AuditEvent",
    "Collective",
    "CollectiveCreate",
    "CollectiveUpdate",
    "ConflictError",
    "DatabaseError",
    "Member",
    "Membership",
    "NetworkError",
    "NotFoundError",
    "PermissionDenied",
    "Post",
    "Post001Error",
    "PostCreate",
    "PostStatus",
    "PostSummary",
    "PostType",
    "PostUpdate",
    "Preflight",
    "PublishResult",
    "ReviewItem",
    "Revision",
    "Role",
    "Share",
    "ShareStatus",
    "Store",
    "User",
    "ValidationError",
    "connect",
]
