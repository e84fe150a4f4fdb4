"""legacy schema of the platform post001 replaces

Exactly the four tables the old platform had: posts carry a single nullable
`collective_id`, statuses are draft/active/removed, roles stop at `author`.
Every constraint has a name (PostgreSQL's own default names for foreign keys and
single-column uniques, so a database created here looks like one created by
`metadata.create_all`), because SQLite's batch mode can only drop what it can name.

Revision ID: 0001_legacy
Revises:
Create Date: 2026-01-05 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from post001.core.sql.schema import count_losses

revision = "0001_legacy"
down_revision = None
branch_labels = None
depends_on = None


def _timestamp(name: str, *, nullable: bool = False) -> sa.Column[object]:
    # timestamptz on PostgreSQL, DATETIME (UTC text) on SQLite: what tables.UTCDateTime emits.
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("username", sa.Text(), nullable=False),
        sa.Column("display_name", sa.Text()),
        _timestamp("created_at"),
        sa.UniqueConstraint("username", name="users_username_key"),
    )
    op.create_table(
        "collectives",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("slug", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text()),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        _timestamp("created_at"),
        sa.UniqueConstraint("slug", name="collectives_slug_key"),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], name="collectives_owner_id_fkey"),
    )
    op.create_table(
        "collective_members",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("collective_id", sa.Uuid(), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        _timestamp("created_at"),
        sa.ForeignKeyConstraint(
            ["collective_id"], ["collectives.id"], name="collective_members_collective_id_fkey"
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["users.id"], name="collective_members_member_id_fkey"
        ),
        sa.CheckConstraint(
            "role IN ('owner', 'admin', 'editor', 'author')", name="ck_collective_members_role"
        ),
        sa.UniqueConstraint("collective_id", "member_id", name="uq_collective_members"),
    )
    op.create_table(
        "posts",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("author_id", sa.Uuid(), nullable=False),
        sa.Column("collective_id", sa.Uuid(), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("subtitle", sa.Text()),
        sa.Column("content", sa.Text()),
        sa.Column("status", sa.Text(), nullable=False, server_default="draft"),
        sa.Column("is_public", sa.Boolean(), nullable=False, server_default=sa.true()),
        _timestamp("published_at", nullable=True),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], name="posts_author_id_fkey"),
        sa.ForeignKeyConstraint(
            ["collective_id"], ["collectives.id"], name="posts_collective_id_fkey"
        ),
        sa.CheckConstraint("status IN ('draft', 'active', 'removed')", name="ck_posts_status"),
    )


def downgrade() -> None:
    op.drop_table("posts")
    op.drop_table("collective_members")
    op.drop_table("collectives")
    op.drop_table("users")


def downgrade_would_lose(conn: sa.Connection) -> list[str]:
    """Going below the first revision drops every table, so every row."""
    return count_losses(conn, [
        ("SELECT count(*) FROM users", "{n} user{s}"),
        ("SELECT count(*) FROM collectives", "{n} collective{s}"),
        ("SELECT count(*) FROM collective_members", "{n} membership{s}"),
        ("SELECT count(*) FROM posts", "{n} post{s} (every word written)"),
    ])
