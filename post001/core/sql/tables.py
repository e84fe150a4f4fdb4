"""The database schema, as SQLModel tables (Alembic's autogenerate target).

The store talks to these through SQLAlchemy Core statements, not the ORM session:
every use case is a handful of set-based statements in one transaction, which keeps
publishing to N collectives at a fixed number of round trips.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlmodel import Field, SQLModel

from post001.core.clock import as_utc


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """timestamptz on PostgreSQL; on SQLite, UTC text read back as aware datetimes."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        value = as_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(
        self, value: datetime | None, dialect: sa.Dialect
    ) -> datetime | None:
        return None if value is None else as_utc(value)


JSONType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

ROLES = ("owner", "admin", "editor", "author", "contributor", "member")
POST_STATUSES = ("draft", "scheduled", "published", "archived")
SHARE_STATUSES = ("draft", "pending_approval", "published", "rejected")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _ts(nullable: bool = False, **kw: Any) -> Any:
    return Field(sa_column=sa.Column(UTCDateTime(), nullable=nullable, **kw))


class UserRow(SQLModel, table=True):
    __tablename__ = "users"
    id: UUID = Field(primary_key=True)
    username: str = Field(sa_column=sa.Column(sa.Text, unique=True, nullable=False))
    display_name: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    created_at: datetime = _ts()


class CollectiveRow(SQLModel, table=True):
    __tablename__ = "collectives"
    id: UUID = Field(primary_key=True)
    slug: str = Field(sa_column=sa.Column(sa.Text, unique=True, nullable=False))
    name: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    description: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    owner_id: UUID = Field(foreign_key="users.id", nullable=False)
    require_approval: bool = Field(
        default=False,
        sa_column=sa.Column(sa.Boolean, nullable=False, server_default=sa.false()),
    )
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class MemberRow(SQLModel, table=True):
    __tablename__ = "collective_members"
    __table_args__ = (
        sa.UniqueConstraint("collective_id", "member_id", name="uq_collective_members"),
        sa.CheckConstraint(_in("role", ROLES), name="ck_collective_members_role"),
        sa.Index("ix_collective_members_member", "member_id"),
        # Exactly one owner per collective (migration 0007).
        sa.Index("uq_collective_members_one_owner", "collective_id", unique=True,
                 sqlite_where=sa.text("role = 'owner'"),
                 postgresql_where=sa.text("role = 'owner'")),
    )
    id: UUID = Field(primary_key=True)
    collective_id: UUID = Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("collectives.id", ondelete="CASCADE"),
                            nullable=False)
    )
    member_id: UUID = Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("users.id", ondelete="CASCADE"),
                            nullable=False)
    )
    role: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    created_at: datetime = _ts()


class PostRow(SQLModel, table=True):
    __tablename__ = "posts"
    __table_args__ = (
        sa.CheckConstraint(_in("status", POST_STATUSES), name="ck_posts_status"),
        sa.CheckConstraint("post_type IN ('text', 'video')", name="ck_posts_post_type"),
        # The writer's listing, newest change first, paged by (updated_at, id) (0012).
        sa.Index("ix_posts_author_listing", "author_id", "updated_at", "id"),
        sa.Index("ix_posts_due", "status", "publish_at"),
    )
    id: UUID = Field(primary_key=True)
    author_id: UUID = Field(foreign_key="users.id", nullable=False)
    collective_id: UUID | None = Field(default=None, foreign_key="collectives.id")
    title: str = Field(sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    subtitle: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    byline: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    content: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    post_type: str = Field(
        default="text", sa_column=sa.Column(sa.Text, nullable=False, server_default="text")
    )
    is_public: bool = Field(
        default=True, sa_column=sa.Column(sa.Boolean, nullable=False, server_default=sa.true())
    )
    seo_title: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    meta_description: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    thumbnail_url: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    meta: dict[str, Any] | None = Field(default=None, sa_column=sa.Column("metadata", JSONType))
    slug: str | None = Field(default=None, sa_column=sa.Column(sa.Text, unique=True))
    status: str = Field(
        default="draft", sa_column=sa.Column(sa.Text, nullable=False, server_default="draft")
    )
    publish_at: datetime | None = _ts(nullable=True)
    published_at: datetime | None = _ts(nullable=True)
    created_at: datetime = _ts()
    updated_at: datetime = _ts()
    version: int = Field(
        default=1, sa_column=sa.Column(sa.Integer, nullable=False, server_default="1")
    )
    # The client's id for the save that last wrote the text, and the version it made
    # (migration 0009): a retried save is recognised instead of conflicting with itself.
    last_save_id: UUID | None = Field(default=None, sa_column=sa.Column(sa.Uuid))
    last_save_version: int | None = Field(default=None, sa_column=sa.Column(sa.Integer))
    # Words in `content`, kept by every save (migration 0012): listings never read bodies.
    word_count: int = Field(
        default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default="0")
    )


class ShareRow(SQLModel, table=True):
    __tablename__ = "post_collectives"
    __table_args__ = (
        sa.UniqueConstraint("post_id", "collective_id", name="uq_post_collectives"),
        sa.CheckConstraint(_in("status", SHARE_STATUSES), name="ck_post_collectives_status"),
        # "A collective's published feed": filter by collective and status, newest first.
        sa.Index("ix_post_collectives_feed", "collective_id", "status", "shared_at"),
    )
    id: UUID = Field(primary_key=True)
    post_id: UUID = Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("posts.id", ondelete="CASCADE"),
                            nullable=False)
    )
    collective_id: UUID = Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("collectives.id", ondelete="CASCADE"),
                            nullable=False)
    )
    status: str = Field(sa_column=sa.Column(sa.Text, nullable=False, server_default="draft"))
    shared_by: UUID | None = Field(default=None, foreign_key="users.id")
    shared_at: datetime | None = _ts(nullable=True)
    display_order: int = Field(
        default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default="0")
    )
    meta: dict[str, Any] | None = Field(default=None, sa_column=sa.Column("metadata", JSONType))
    decided_by: UUID | None = Field(default=None, foreign_key="users.id")
    decided_at: datetime | None = _ts(nullable=True)
    rejection_reason: str | None = Field(default=None, sa_column=sa.Column(sa.Text))


class RevisionRow(SQLModel, table=True):
    __tablename__ = "post_revisions"
    __table_args__ = (sa.UniqueConstraint("post_id", "version", name="uq_post_revisions"),)
    id: UUID = Field(primary_key=True)
    post_id: UUID = Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("posts.id", ondelete="CASCADE"),
                            nullable=False)
    )
    version: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    title: str = Field(sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    subtitle: str = Field(sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    content: str = Field(sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    saved_at: datetime = _ts()


class AuditRow(SQLModel, table=True):
    """Append-only. No foreign keys on purpose: the record outlives what it describes."""

    __tablename__ = "audit_events"
    __table_args__ = (
        sa.Index("ix_audit_events_post", "post_id", "at"),
        sa.Index("ix_audit_events_collective", "collective_id", "at"),
        sa.Index("ix_audit_events_actor", "actor_id", "at"),
    )
    id: UUID = Field(primary_key=True)
    at: datetime = _ts()
    actor_id: UUID | None = Field(default=None, sa_column=sa.Column(sa.Uuid))
    action: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    post_id: UUID | None = Field(default=None, sa_column=sa.Column(sa.Uuid))
    collective_id: UUID | None = Field(default=None, sa_column=sa.Column(sa.Uuid))
    old_values: dict[str, Any] | None = Field(default=None, sa_column=sa.Column(JSONType))
    new_values: dict[str, Any] | None = Field(default=None, sa_column=sa.Column(JSONType))
    request_id: str | None = Field(default=None, sa_column=sa.Column(sa.Text))


class IdempotencyRow(SQLModel, table=True):
    __tablename__ = "idempotency_keys"
    user_id: UUID = Field(primary_key=True)
    key: str = Field(sa_column=sa.Column(sa.Text, primary_key=True))
    post_id: UUID = Field(sa_column=sa.Column(sa.Uuid, nullable=False))
    response: dict[str, Any] = Field(sa_column=sa.Column(JSONType, nullable=False))
    created_at: datetime = _ts()


class SaveCountRow(SQLModel, table=True):
    """Saves per writer and UTC day: successful ones counted by a trigger, conflicts and
    refusals by the store (migration 0011)."""

    __tablename__ = "save_counts"
    __table_args__ = (sa.PrimaryKeyConstraint("day", "user_id", name="pk_save_counts"),)
    day: date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    user_id: UUID = Field(sa_column=sa.Column(sa.Uuid, nullable=False))
    saves: int = Field(
        default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default="0")
    )
    conflicts: int = Field(
        default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default="0")
    )
    refused: int = Field(
        default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default="0")
    )


users = UserRow.__table__  # type: ignore[attr-defined]
collectives = CollectiveRow.__table__  # type: ignore[attr-defined]
members = MemberRow.__table__  # type: ignore[attr-defined]
posts = PostRow.__table__  # type: ignore[attr-defined]
shares = ShareRow.__table__  # type: ignore[attr-defined]
revisions = RevisionRow.__table__  # type: ignore[attr-defined]
audit = AuditRow.__table__  # type: ignore[attr-defined]
idempotency = IdempotencyRow.__table__  # type: ignore[attr-defined]
save_counts = SaveCountRow.__table__  # type: ignore[attr-defined]

metadata = SQLModel.metadata
