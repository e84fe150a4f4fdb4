"""legacy shares: every post's single collective_id becomes a share, audited

A post with a collective_id gets a share there: `published` with shared_at = the
post's published_at when the post is published, `draft` otherwise; shared_by is the
author, display_order 0. One audit event ('share.legacy_migrated', crediting the
author) per share created. Idempotent: posts that already have that share are
skipped, so running this again (or after the new code created the share) adds nothing.

UUIDs are made in Python (candidates fetched, then bulk inserted) so the same code
runs on SQLite and PostgreSQL.

Revision ID: 0003_legacy_shares
Revises: 0002_redesign
Create Date: 2026-01-05 09:00:02
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from post001.core.sql.schema import count_losses
from post001.core.sql.tables import UTCDateTime

revision = "0003_legacy_shares"
down_revision = "0002_redesign"
branch_labels = None
depends_on = None

ACTION = "share.legacy_migrated"

JSONType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

posts = sa.table(
    "posts",
    sa.column("id", sa.Uuid()),
    sa.column("author_id", sa.Uuid()),
    sa.column("collective_id", sa.Uuid()),
    sa.column("status", sa.Text()),
    sa.column("published_at", UTCDateTime()),
    sa.column("created_at", UTCDateTime()),
)
shares = sa.table(
    "post_collectives",
    sa.column("id", sa.Uuid()),
    sa.column("post_id", sa.Uuid()),
    sa.column("collective_id", sa.Uuid()),
    sa.column("status", sa.Text()),
    sa.column("shared_by", sa.Uuid()),
    sa.column("shared_at", UTCDateTime()),
    sa.column("display_order", sa.Integer()),
)
audit = sa.table(
    "audit_events",
    sa.column("id", sa.Uuid()),
    sa.column("at", UTCDateTime()),
    sa.column("actor_id", sa.Uuid()),
    sa.column("action", sa.Text()),
    sa.column("post_id", sa.Uuid()),
    sa.column("collective_id", sa.Uuid()),
    sa.column("new_values", JSONType),
    sa.column("request_id", sa.Text()),
)


def migrate_legacy_shares(conn: sa.Connection, now: datetime | None = None) -> int:
    """Create the missing legacy shares and their audit events; return how many."""
    now = now or datetime.now(UTC)
    has_share = (
        sa.select(shares.c.id)
        .where(shares.c.post_id == posts.c.id, shares.c.collective_id == posts.c.collective_id)
        .exists()
    )
    candidates = conn.execute(
        sa.select(posts.c.id, posts.c.author_id, posts.c.collective_id, posts.c.status,
                  posts.c.published_at)
        .where(posts.c.collective_id.is_not(None), ~has_share)
        .order_by(posts.c.created_at, posts.c.id)
    ).all()
    if not candidates:
        return 0
    share_rows, audit_rows = [], []
    for post_id, author_id, collective_id, status, published_at in candidates:
        published = status == "published"
        share_status = "published" if published else "draft"
        share_rows.append({
            "id": uuid.uuid4(), "post_id": post_id, "collective_id": collective_id,
            "status": share_status, "shared_by": author_id,
            "shared_at": published_at if published else None, "display_order": 0,
        })
        audit_rows.append({
            "id": uuid.uuid4(), "at": now, "actor_id": author_id, "action": ACTION,
            "post_id": post_id, "collective_id": collective_id,
            "new_values": {"status": share_status}, "request_id": revision,
        })
    conn.execute(shares.insert(), share_rows)
    conn.execute(audit.insert(), audit_rows)
    return len(share_rows)


def upgrade() -> None:
    migrate_legacy_shares(op.get_bind())


def downgrade() -> None:
    """Remove the shares this revision created (those it audited), and its audit events."""
    migrated = (
        sa.select(audit.c.id)
        .where(audit.c.action == ACTION, audit.c.post_id == shares.c.post_id,
               audit.c.collective_id == shares.c.collective_id)
        .exists()
    )
    op.execute(shares.delete().where(migrated))
    op.execute(audit.delete().where(audit.c.action == ACTION))


def downgrade_would_lose(conn: sa.Connection) -> list[str]:
    """The shares this revision made are dropped; the legacy column still names each
    post's collective, so only a share it no longer matches, and the events, are lost."""
    return count_losses(conn, [
        ("SELECT count(*) FROM post_collectives s JOIN posts p ON p.id = s.post_id "
         f"WHERE EXISTS (SELECT 1 FROM audit_events a WHERE a.action = '{ACTION}' "
         "AND a.post_id = s.post_id AND a.collective_id = s.collective_id) "
         "AND (p.collective_id IS NULL OR p.collective_id <> s.collective_id "
         "OR s.status IN ('pending_approval', 'rejected'))",
         "{n} migrated share{s} that changed since (another collective, or a review)"),
        (f"SELECT count(*) FROM audit_events WHERE action = '{ACTION}'",
         "{n} 'legacy share migrated' audit event{s}"),
    ])
