"""The database schema, as SQLAlchemy Core tables (Alembic's autogenerate target).

The store talks to these through SQLAlchemy Core statements, not the ORM session:
every use case is a handful of set-based statements in one transaction, which keeps
publishing to N collectives at a fixed number of round trips.

Why plain `sa.Table`s and not SQLModel `table=True` classes (as before): nothing used the
classes, only their `__table__`; the shapes callers see are the pydantic models in
post001/core/models.py. Declaring the tables through SQLModel cost every database
command about 0.2 s of start-up (importing sqlmodel and SQLAlchemy's ORM, building nine
pydantic models and nine ORM mappers), which put `post001 post list --json` far above its
0.3 s target (issue 10; benchmarks/bench_cli.py). The tables, columns, constraints and
index names are exactly those SQLModel declared: tests/test_migrations.py compares them
with the migrations on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

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


class JSONDocument(sa.types.TypeDecorator[Any]):
    """JSON; JSONB on PostgreSQL.

    Not `sa.JSON().with_variant(postgresql.JSONB(), ...)`: that imports SQLAlchemy's
    whole PostgreSQL dialect (with asyncio) when this module loads, ~25 ms of every
    SQLite command's start-up. Here JSONB is looked up when a PostgreSQL connection
    first needs the type, by which time that dialect is loaded anyway.
    """

    impl = sa.JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: sa.Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import JSONB

            return dialect.type_descriptor(JSONB())
        return dialect.type_descriptor(sa.JSON())


JSONType = JSONDocument()

ROLES = ("owner", "admin", "editor", "author", "contributor", "member")
POST_STATUSES = ("draft", "scheduled", "published", "archived")
SHARE_STATUSES = ("draft", "pending_approval", "published", "rejected")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _ts(name: str, nullable: bool = False) -> sa.Column[datetime]:
    return sa.Column(name, UTCDateTime(), nullable=nullable)


def _id() -> sa.Column[Any]:
    return sa.Column("id", sa.Uuid, primary_key=True)


metadata = sa.MetaData()

users = sa.Table(
    "users", metadata,
    _id(),
    sa.Column("username", sa.Text, unique=True, nullable=False),
    sa.Column("display_name", sa.Text),
    _ts("created_at"),
)

collectives = sa.Table(
    "collectives", metadata,
    _id(),
    sa.Column("slug", sa.Text, unique=True, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("description", sa.Text),
    sa.Column("owner_id", sa.Uuid, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("require_approval", sa.Boolean, nullable=False, server_default=sa.false()),
    _ts("created_at"),
    _ts("updated_at"),
)

_OWNER_ONLY = "role = 'owner'"

members = sa.Table(
    "collective_members", metadata,
    _id(),
    sa.Column("collective_id", sa.Uuid, sa.ForeignKey("collectives.id", ondelete="CASCADE"),
              nullable=False),
    sa.Column("member_id", sa.Uuid, sa.ForeignKey("users.id", ondelete="CASCADE"),
              nullable=False),
    sa.Column("role", sa.Text, nullable=False),
    _ts("created_at"),
    sa.UniqueConstraint("collective_id", "member_id", name="uq_collective_members"),
    sa.CheckConstraint(_in("role", ROLES), name="ck_collective_members_role"),
    sa.Index("ix_collective_members_member", "member_id"),
    # Exactly one owner per collective (migration 0007); PostgreSQL's `where` is added
    # by with_postgresql_options() below.
    sa.Index("uq_collective_members_one_owner", "collective_id", unique=True,
             sqlite_where=sa.text(_OWNER_ONLY)),
)

posts = sa.Table(
    "posts", metadata,
    _id(),
    sa.Column("author_id", sa.Uuid, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("collective_id", sa.Uuid, sa.ForeignKey("collectives.id")),
    sa.Column("title", sa.Text, nullable=False, server_default=""),
    sa.Column("subtitle", sa.Text),
    sa.Column("byline", sa.Text),
    sa.Column("content", sa.Text),
    sa.Column("post_type", sa.Text, nullable=False, server_default="text"),
    sa.Column("is_public", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("seo_title", sa.Text),
    sa.Column("meta_description", sa.Text),
    sa.Column("thumbnail_url", sa.Text),
    sa.Column("metadata", JSONType),
    sa.Column("slug", sa.Text, unique=True),
    sa.Column("status", sa.Text, nullable=False, server_default="draft"),
    _ts("publish_at", nullable=True),
    _ts("published_at", nullable=True),
    _ts("created_at"),
    _ts("updated_at"),
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    # The client's id for the save that last wrote the text, and the version it made
    # (migration 0009): a retried save is recognised instead of conflicting with itself.
    sa.Column("last_save_id", sa.Uuid),
    sa.Column("last_save_version", sa.Integer),
    # Words in `content`, kept by every save (migration 0012): listings never read bodies.
    sa.Column("word_count", sa.Integer, nullable=False, server_default="0"),
    sa.CheckConstraint(_in("status", POST_STATUSES), name="ck_posts_status"),
    sa.CheckConstraint("post_type IN ('text', 'video')", name="ck_posts_post_type"),
    # The writer's listing, newest change first, paged by (updated_at, id) (0012).
    sa.Index("ix_posts_author_listing", "author_id", "updated_at", "id"),
    sa.Index("ix_posts_due", "status", "publish_at"),
)

shares = sa.Table(
    "post_collectives", metadata,
    _id(),
    sa.Column("post_id", sa.Uuid, sa.ForeignKey("posts.id", ondelete="CASCADE"),
              nullable=False),
    sa.Column("collective_id", sa.Uuid, sa.ForeignKey("collectives.id", ondelete="CASCADE"),
              nullable=False),
    sa.Column("status", sa.Text, nullable=False, server_default="draft"),
    sa.Column("shared_by", sa.Uuid, sa.ForeignKey("users.id")),
    _ts("shared_at", nullable=True),
    sa.Column("display_order", sa.Integer, nullable=False, server_default="0"),
    sa.Column("metadata", JSONType),
    sa.Column("decided_by", sa.Uuid, sa.ForeignKey("users.id")),
    _ts("decided_at", nullable=True),
    sa.Column("rejection_reason", sa.Text),
    sa.UniqueConstraint("post_id", "collective_id", name="uq_post_collectives"),
    sa.CheckConstraint(_in("status", SHARE_STATUSES), name="ck_post_collectives_status"),
    # "A collective's published feed": filter by collective and status, newest first.
    sa.Index("ix_post_collectives_feed", "collective_id", "status", "shared_at"),
)

revisions = sa.Table(
    "post_revisions", metadata,
    _id(),
    sa.Column("post_id", sa.Uuid, sa.ForeignKey("posts.id", ondelete="CASCADE"),
              nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("title", sa.Text, nullable=False, server_default=""),
    sa.Column("subtitle", sa.Text, nullable=False, server_default=""),
    sa.Column("content", sa.Text, nullable=False, server_default=""),
    _ts("saved_at"),
    sa.UniqueConstraint("post_id", "version", name="uq_post_revisions"),
)

# Append-only. No foreign keys on purpose: the record outlives what it describes.
audit = sa.Table(
    "audit_events", metadata,
    _id(),
    _ts("at"),
    sa.Column("actor_id", sa.Uuid),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("post_id", sa.Uuid),
    sa.Column("collective_id", sa.Uuid),
    sa.Column("old_values", JSONType),
    sa.Column("new_values", JSONType),
    sa.Column("request_id", sa.Text),
    sa.Index("ix_audit_events_post", "post_id", "at"),
    sa.Index("ix_audit_events_collective", "collective_id", "at"),
    sa.Index("ix_audit_events_actor", "actor_id", "at"),
)

idempotency = sa.Table(
    "idempotency_keys", metadata,
    sa.Column("user_id", sa.Uuid, primary_key=True),
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("post_id", sa.Uuid, nullable=False),
    sa.Column("response", JSONType, nullable=False),
    _ts("created_at"),
)

# Saves per writer and UTC day: successful ones counted by a trigger, conflicts and
# refusals by the store (migration 0011).
save_counts = sa.Table(
    "save_counts", metadata,
    sa.Column("day", sa.Date, nullable=False),
    sa.Column("user_id", sa.Uuid, nullable=False),
    sa.Column("saves", sa.Integer, nullable=False, server_default="0"),
    sa.Column("conflicts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("refused", sa.Integer, nullable=False, server_default="0"),
    sa.PrimaryKeyConstraint("day", "user_id", name="pk_save_counts"),
)


def with_postgresql_options() -> sa.MetaData:
    """`metadata` with the options only PostgreSQL reads: the owner index's `where`.

    Naming `postgresql_where` in the declaration above would make SQLAlchemy import its
    whole PostgreSQL dialect (with asyncio) when this module loads, as JSONDocument
    explains: ~0.1 s of every SQLite command's start-up. Nothing but the schema
    comparisons reads index options (the migrations create the schema), so those ask
    for them here: migrations/env.py and tests/test_migrations.py.
    """
    index = next(i for i in members.indexes if i.name == "uq_collective_members_one_owner")
    if index.dialect_kwargs.get("postgresql_where") is None:
        index.dialect_kwargs["postgresql_where"] = sa.text(_OWNER_ONLY)
    return metadata
