"""redesign: posts own their shares; scheduling, versions, revisions, audit, idempotency

Brings the legacy schema to exactly what post001/core/sql/tables.py declares (the
search objects come in 0004). Data: `active` posts become `published` (keeping or,
where missing, taking their created_at as published_at), `removed` become `archived`,
and every post gets a unique slug. Collectives get updated_at = created_at.

SQLite can only change constraints by rebuilding a table, which batch mode does; the
posts table is rebuilt twice because the old status check must be gone before the
statuses are rewritten and the new one can only be added after.

Revision ID: 0002_redesign
Revises: 0001_legacy
Create Date: 2026-01-05 09:00:01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from post001.core.sql.schema import count_losses, forced
from post001.core.text import post_slug, slugify

revision = "0002_redesign"
down_revision = "0001_legacy"
branch_labels = None
depends_on = None

JSONType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

LEGACY_ROLES = ("owner", "admin", "editor", "author")
ROLES = (*LEGACY_ROLES, "contributor", "member")
POST_STATUSES = ("draft", "scheduled", "published", "archived")
LEGACY_POST_STATUSES = ("draft", "active", "removed")
SHARE_STATUSES = ("draft", "pending_approval", "published", "rejected")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _timestamp(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    _upgrade_collectives()
    _upgrade_members()
    _upgrade_posts()
    _create_new_tables()


def _upgrade_collectives() -> None:
    with op.batch_alter_table("collectives") as batch:
        batch.add_column(
            sa.Column("require_approval", sa.Boolean(), nullable=False,
                      server_default=sa.false())
        )
        batch.add_column(_timestamp("updated_at", nullable=True))
    op.execute("UPDATE collectives SET updated_at = created_at")
    with op.batch_alter_table("collectives") as batch:
        batch.alter_column("updated_at", existing_type=sa.DateTime(timezone=True),
                           nullable=False)


def _upgrade_members() -> None:
    with op.batch_alter_table("collective_members") as batch:
        batch.drop_constraint("ck_collective_members_role", type_="check")
        batch.drop_constraint("collective_members_collective_id_fkey", type_="foreignkey")
        batch.drop_constraint("collective_members_member_id_fkey", type_="foreignkey")
        batch.create_check_constraint("ck_collective_members_role", _in("role", ROLES))
        batch.create_foreign_key("collective_members_collective_id_fkey", "collectives",
                                 ["collective_id"], ["id"], ondelete="CASCADE")
        batch.create_foreign_key("collective_members_member_id_fkey", "users",
                                 ["member_id"], ["id"], ondelete="CASCADE")
    op.create_index("ix_collective_members_member", "collective_members", ["member_id"])


def _upgrade_posts() -> None:
    with op.batch_alter_table("posts") as batch:
        batch.drop_constraint("ck_posts_status", type_="check")
        batch.add_column(sa.Column("byline", sa.Text()))
        batch.add_column(
            sa.Column("post_type", sa.Text(), nullable=False, server_default="text")
        )
        batch.add_column(sa.Column("seo_title", sa.Text()))
        batch.add_column(sa.Column("meta_description", sa.Text()))
        batch.add_column(sa.Column("thumbnail_url", sa.Text()))
        batch.add_column(sa.Column("metadata", JSONType))
        batch.add_column(sa.Column("slug", sa.Text()))
        batch.add_column(_timestamp("publish_at", nullable=True))
        batch.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))

    # A published post always has a publication time (feeds sort shares by it).
    op.execute(
        "UPDATE posts SET published_at = created_at "
        "WHERE status = 'active' AND published_at IS NULL"
    )
    op.execute("UPDATE posts SET status = 'published' WHERE status = 'active'")
    op.execute("UPDATE posts SET status = 'archived' WHERE status = 'removed'")
    _backfill_slugs(op.get_bind())

    with op.batch_alter_table("posts") as batch:
        batch.create_check_constraint("ck_posts_status", _in("status", POST_STATUSES))
        batch.create_check_constraint("ck_posts_post_type", "post_type IN ('text', 'video')")
        batch.create_unique_constraint("posts_slug_key", ["slug"])
        batch.alter_column("title", existing_type=sa.Text(), existing_nullable=False,
                           server_default="")
    op.create_index("ix_posts_author_updated", "posts", ["author_id", "updated_at"])
    op.create_index("ix_posts_due", "posts", ["status", "publish_at"])


def _backfill_slugs(bind: sa.Connection) -> None:
    """The same slug the store gives a new post: post_slug(title, id), computed here."""
    posts = sa.table(
        "posts", sa.column("id", sa.Uuid()), sa.column("title", sa.Text()),
        sa.column("slug", sa.Text()),
    )
    rows = bind.execute(sa.select(posts.c.id, posts.c.title).where(posts.c.slug.is_(None)))
    taken = set(bind.execute(sa.select(posts.c.slug).where(posts.c.slug.is_not(None))).scalars())
    updates = []
    for post_id, title in rows.all():
        slug = post_slug(title or "", post_id)
        if slug in taken:  # two ids sharing their first 8 hex digits and a title
            slug = f"{slugify(title or '') or 'untitled'}-{post_id.hex}"
        taken.add(slug)
        updates.append({"b_id": post_id, "b_slug": slug})
    if updates:
        bind.execute(
            sa.update(posts).where(posts.c.id == sa.bindparam("b_id"))
            .values(slug=sa.bindparam("b_slug")),
            updates,
        )


def _create_new_tables() -> None:
    op.create_table(
        "post_collectives",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("post_id", sa.Uuid(), nullable=False),
        sa.Column("collective_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False, server_default="draft"),
        sa.Column("shared_by", sa.Uuid()),
        _timestamp("shared_at", nullable=True),
        sa.Column("display_order", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("metadata", JSONType),
        sa.Column("decided_by", sa.Uuid()),
        _timestamp("decided_at", nullable=True),
        sa.Column("rejection_reason", sa.Text()),
        sa.ForeignKeyConstraint(["post_id"], ["posts.id"], ondelete="CASCADE",
                                name="post_collectives_post_id_fkey"),
        sa.ForeignKeyConstraint(["collective_id"], ["collectives.id"], ondelete="CASCADE",
                                name="post_collectives_collective_id_fkey"),
        sa.ForeignKeyConstraint(["shared_by"], ["users.id"],
                                name="post_collectives_shared_by_fkey"),
        sa.ForeignKeyConstraint(["decided_by"], ["users.id"],
                                name="post_collectives_decided_by_fkey"),
        sa.UniqueConstraint("post_id", "collective_id", name="uq_post_collectives"),
        sa.CheckConstraint(_in("status", SHARE_STATUSES), name="ck_post_collectives_status"),
    )
    # A collective's published feed; a post's shares use uq_post_collectives (post_id first).
    op.create_index("ix_post_collectives_feed", "post_collectives",
                    ["collective_id", "status", "shared_at"])

    op.create_table(
        "post_revisions",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("post_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False, server_default=""),
        sa.Column("subtitle", sa.Text(), nullable=False, server_default=""),
        sa.Column("content", sa.Text(), nullable=False, server_default=""),
        _timestamp("saved_at"),
        sa.ForeignKeyConstraint(["post_id"], ["posts.id"], ondelete="CASCADE",
                                name="post_revisions_post_id_fkey"),
        sa.UniqueConstraint("post_id", "version", name="uq_post_revisions"),
    )

    # Append-only, and no foreign keys: the record outlives what it describes.
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Uuid(), primary_key=True),
        _timestamp("at"),
        sa.Column("actor_id", sa.Uuid()),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("post_id", sa.Uuid()),
        sa.Column("collective_id", sa.Uuid()),
        sa.Column("old_values", JSONType),
        sa.Column("new_values", JSONType),
        sa.Column("request_id", sa.Text()),
    )
    op.create_index("ix_audit_events_post", "audit_events", ["post_id", "at"])
    op.create_index("ix_audit_events_collective", "audit_events", ["collective_id", "at"])
    op.create_index("ix_audit_events_actor", "audit_events", ["actor_id", "at"])

    op.create_table(
        "idempotency_keys",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("post_id", sa.Uuid(), nullable=False),
        sa.Column("response", JSONType, nullable=False),
        _timestamp("created_at"),
        sa.PrimaryKeyConstraint("user_id", "key"),
    )


NEW_ROLES_SQL = f"FROM collective_members WHERE NOT ({_in('role', LEGACY_ROLES)})"
#: A share made by 0003 from the legacy column (0003's downgrade removes those first).
_LEGACY_MIGRATED = (
    "EXISTS (SELECT 1 FROM audit_events a WHERE a.action = 'share.legacy_migrated' "
    "AND a.post_id = s.post_id AND a.collective_id = s.collective_id)"
)


def downgrade_would_lose(conn: sa.Connection) -> list[str]:
    """The legacy schema keeps one collective per post and four roles; everything the
    redesign added goes (0003's own shares and events are counted by 0003)."""
    return count_losses(conn, [
        (f"SELECT count(*) {NEW_ROLES_SQL}",
         "{n} membership{s} with the contributor or member role (the legacy schema has "
         "neither role: deleted)"),
        ("SELECT count(*) FROM post_collectives s JOIN posts p ON p.id = s.post_id "
         f"WHERE (p.collective_id IS NULL OR p.collective_id <> s.collective_id) "
         f"AND NOT {_LEGACY_MIGRATED}",
         "{n} share{s} beyond the one collective posts.collective_id keeps"),
        ("SELECT count(*) FROM post_collectives s "
         f"WHERE s.status IN ('pending_approval', 'rejected') AND NOT {_LEGACY_MIGRATED}",
         "{n} pending or rejected review{s} (and their reasons)"),
        ("SELECT count(*) FROM post_revisions", "{n} revision snapshot{s}"),
        ("SELECT count(*) FROM audit_events WHERE action <> 'share.legacy_migrated'",
         "{n} audit event{s}"),
        ("SELECT count(*) FROM posts WHERE status = 'scheduled'",
         "{n} scheduled post{s} (they become drafts; the publish time is lost)"),
        ("SELECT count(*) FROM posts WHERE coalesce(byline, '') <> '' "
         "OR coalesce(seo_title, '') <> '' OR coalesce(meta_description, '') <> '' "
         "OR coalesce(thumbnail_url, '') <> '' OR post_type <> 'text' "
         "OR coalesce(CAST(metadata AS TEXT), 'null') NOT IN ('null', '{}')",
         "{n} post{s} with settings the legacy schema lacks (byline, SEO title or "
         "description, thumbnail, metadata, video type)"),
        ("SELECT count(*) FROM collectives WHERE require_approval",
         "{n} collective{s} requiring approval (the setting is lost)"),
        ("SELECT count(*) FROM idempotency_keys",
         "{n} publish idempotency record{s} (a retried publish would run again)"),
    ])


def downgrade() -> None:
    bind = op.get_bind()
    new_roles = bind.execute(sa.text(f"SELECT count(*) {NEW_ROLES_SQL}")).scalar()
    if new_roles and not forced(op.get_context()):
        raise RuntimeError(
            f"cannot downgrade below 0002_redesign: {new_roles} memberships hold the "
            "contributor or member role, which the legacy schema cannot represent "
            "(`post001 db downgrade --force` deletes them)"
        )
    if new_roles:
        op.execute(f"DELETE {NEW_ROLES_SQL}")

    op.drop_table("idempotency_keys")
    op.drop_index("ix_audit_events_actor", table_name="audit_events")
    op.drop_index("ix_audit_events_collective", table_name="audit_events")
    op.drop_index("ix_audit_events_post", table_name="audit_events")
    op.drop_table("audit_events")
    op.drop_table("post_revisions")
    op.drop_index("ix_post_collectives_feed", table_name="post_collectives")
    op.drop_table("post_collectives")

    op.drop_index("ix_posts_due", table_name="posts")
    op.drop_index("ix_posts_author_updated", table_name="posts")
    with op.batch_alter_table("posts") as batch:
        batch.drop_constraint("ck_posts_status", type_="check")
        batch.drop_constraint("ck_posts_post_type", type_="check")
        batch.drop_constraint("posts_slug_key", type_="unique")
        batch.alter_column("title", existing_type=sa.Text(), existing_nullable=False,
                           server_default=None)
        for column in ("version", "publish_at", "slug", "metadata", "thumbnail_url",
                       "meta_description", "seo_title", "post_type", "byline"):
            batch.drop_column(column)
    op.execute("UPDATE posts SET status = 'active' WHERE status = 'published'")
    op.execute("UPDATE posts SET status = 'removed' WHERE status = 'archived'")
    op.execute("UPDATE posts SET status = 'draft' WHERE status = 'scheduled'")
    with op.batch_alter_table("posts") as batch:
        batch.create_check_constraint("ck_posts_status", _in("status", LEGACY_POST_STATUSES))

    op.drop_index("ix_collective_members_member", table_name="collective_members")
    with op.batch_alter_table("collective_members") as batch:
        batch.drop_constraint("ck_collective_members_role", type_="check")
        batch.drop_constraint("collective_members_collective_id_fkey", type_="foreignkey")
        batch.drop_constraint("collective_members_member_id_fkey", type_="foreignkey")
        batch.create_check_constraint("ck_collective_members_role", _in("role", LEGACY_ROLES))
        batch.create_foreign_key("collective_members_collective_id_fkey", "collectives",
                                 ["collective_id"], ["id"])
        batch.create_foreign_key("collective_members_member_id_fkey", "users",
                                 ["member_id"], ["id"])

    with op.batch_alter_table("collectives") as batch:
        batch.drop_column("updated_at")
        batch.drop_column("require_approval")
