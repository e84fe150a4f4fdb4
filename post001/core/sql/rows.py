"""Turning database rows into the domain's output models, in batches (no N+1 queries)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any
from uuid import UUID

import sqlalchemy as sa

from post001.core import permissions
from post001.core.models import (
    Post,
    PostStatus,
    PostSummary,
    Role,
    Share,
    ShareStatus,
    readable_metadata,
)
from post001.core.sql import tables as t

_sharer = t.users.alias("sharer")
_decider = t.users.alias("decider")
_mine = t.members.alias("mine")

POST_COLUMNS = [*t.posts.c, t.users.c.username.label("author")]


def post_select() -> sa.Select[Any]:
    return sa.select(*POST_COLUMNS).join(t.users, t.users.c.id == t.posts.c.author_id)


#: What a summary shows (and load_shares' read rules need): never the body.
SUMMARY_COLUMNS = [
    t.posts.c.id, t.posts.c.author_id, t.posts.c.title, t.posts.c.subtitle,
    t.posts.c.status, t.posts.c.is_public, t.posts.c.version, t.posts.c.updated_at,
    t.posts.c.published_at, t.posts.c.publish_at, t.posts.c.word_count,
    t.users.c.username.label("author"),
]


def summary_select() -> sa.Select[Any]:
    """Posts as listings show them, without reading content (stored word counts)."""
    return sa.select(*SUMMARY_COLUMNS).join(t.users, t.users.c.id == t.posts.c.author_id)


# Built once (aliases and joins cost more to construct than to run on SQLite).
_SHARES_OF_POSTS = (
    sa.select(
        t.shares,
        t.collectives.c.slug,
        t.collectives.c.name.label("collective_name"),
        _sharer.c.username.label("sharer"),
        _decider.c.username.label("decider"),
        _mine.c.role.label("my_role"),
    )
    .join(t.collectives, t.collectives.c.id == t.shares.c.collective_id)
    .outerjoin(_sharer, _sharer.c.id == t.shares.c.shared_by)
    .outerjoin(_decider, _decider.c.id == t.shares.c.decided_by)
    .outerjoin(_mine, sa.and_(_mine.c.collective_id == t.shares.c.collective_id,
                              _mine.c.member_id == sa.bindparam("viewer")))
    .where(t.shares.c.post_id.in_(sa.bindparam("post_ids", expanding=True)))
    .order_by(t.shares.c.post_id, t.shares.c.display_order, t.collectives.c.name)
)


def load_shares(
    conn: sa.Connection, post_rows: Sequence[Any], viewer: UUID
) -> dict[UUID, list[Share]]:
    """Every post's shares in one query, filtered to what `viewer` may see."""
    if not post_rows:
        return {}
    by_id = {row.id: row for row in post_rows}
    rows = conn.execute(_SHARES_OF_POSTS, {"post_ids": list(by_id), "viewer": viewer}).all()
    out: dict[UUID, list[Share]] = {pid: [] for pid in by_id}
    member_where_published = {
        r.post_id for r in rows if r.my_role is not None and r.status == ShareStatus.PUBLISHED
    }
    moderator_where_pending = {
        r.post_id for r in rows
        if r.my_role is not None and Role(r.my_role) in permissions.MODERATORS
        and r.status in (ShareStatus.PENDING_APPROVAL, ShareStatus.REJECTED)
    }
    for r in rows:
        post = by_id[r.post_id]
        is_author = post.author_id == viewer
        readable = permissions.can_read_post(
            is_author=is_author,
            status=PostStatus(post.status),
            is_public=bool(post.is_public),
            member_where_published=r.post_id in member_where_published,
            moderator_where_pending=r.post_id in moderator_where_pending,
        )
        if not permissions.can_read_share(
            is_author=is_author,
            status=ShareStatus(r.status),
            role=Role(r.my_role) if r.my_role else None,
            post_readable=readable,
        ):
            continue
        out[r.post_id].append(
            Share(
                collective_id=r.collective_id,
                collective=r.slug,
                collective_name=r.collective_name,
                status=ShareStatus(r.status),
                shared_by=r.sharer,
                shared_at=r.shared_at,
                display_order=r.display_order,
                decided_by=r.decider,
                decided_at=r.decided_at,
                rejection_reason=r.rejection_reason,
            )
        )
    return out


def to_post(row: Any, shares: list[Share]) -> Post:
    return Post(
        id=row.id,
        author=row.author,
        title=row.title or "",
        subtitle=row.subtitle or "",
        byline=row.byline or "",
        content=row.content or "",
        post_type=row.post_type,
        is_public=bool(row.is_public),
        seo_title=row.seo_title or "",
        meta_description=row.meta_description or "",
        thumbnail_url=row.thumbnail_url,
        metadata=readable_metadata(row.metadata),
        slug=row.slug or "",
        status=PostStatus(row.status),
        publish_at=row.publish_at,
        published_at=row.published_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
        version=row.version,
        collective_id=row.collective_id,
        shares=shares,
    )


def to_summary(row: Any, shares: list[Share]) -> PostSummary:
    return PostSummary(
        id=row.id,
        author=row.author,
        title=row.title or "",
        subtitle=row.subtitle or "",
        status=PostStatus(row.status),
        version=row.version,
        updated_at=row.updated_at,
        published_at=row.published_at,
        publish_at=row.publish_at,
        word_count=row.word_count,
        shares=shares,
    )


def summaries(conn: sa.Connection, rows: Iterable[Any], viewer: UUID) -> list[PostSummary]:
    rows = list(rows)
    shares = load_shares(conn, rows, viewer)
    return [to_summary(r, shares[r.id]) for r in rows]
