"""post001: write one post, publish it to many collectives.

The public Python API lives here; everything else is an implementation detail.

    >>> import post001
    >>> s = post001.connect("sqlite:///my.db", user="alice")

Names are imported on first use (PEP 562), so `import post001.tui` or the CLI's
`--help` do not pay for pydantic, SQLAlchemy or the settings machinery up front.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

#: The package version (pyproject.toml reads it from here).
__version__ = "0.1.0"

if TYPE_CHECKING:
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
        ReviewItem,
        Revision,
        Role,
        Share,
        ShareStatus,
        User,
    )
    from post001.core.store import Store

_WHERE = {
    "connect": "post001.core.api",
    "Store": "post001.core.store",
    **dict.fromkeys(
        ("ConflictError", "DatabaseError", "NetworkError", "NotFoundError",
         "PermissionDenied", "Post001Error", "ValidationError"),
        "post001.core.errors",
    ),
    **dict.fromkeys(
        ("AuditEvent", "Collective", "CollectiveCreate", "CollectiveUpdate", "Member",
         "Membership", "Post", "PostCreate", "PostStatus", "PostSummary", "PostType",
         "PostUpdate", "Preflight", "PublishResult", "ReviewItem", "Revision", "Role",
         "Share", "ShareStatus", "User"),
        "post001.core.models",
    ),
}

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
assert set(__all__) == set(_WHERE)


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'post001' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
