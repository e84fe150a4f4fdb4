"""client-made ids and save ids: retries after lost responses are harmless

A client that never heard the answer to a write retries it. Creating a post is made
idempotent by client-made post ids (no schema change: the id is the primary key). A
save is recognised by the id the client gave it: `posts.last_save_id` is the save that
last wrote the post's text and `posts.last_save_version` the version that save made, so
a retry of that save answers with that version instead of reporting a conflict with
itself. Both are written by the same UPDATE that bumps the version (no extra statement
on the auto-save path). Both columns are nullable: saves without an id store NULL.

Plain ADD/DROP COLUMN (not a batch rebuild): on SQLite a rebuild of `posts` would drop
its search and revision triggers.

Revision ID: 0009_client_writes
Revises: 0008_listing
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_client_writes"
down_revision = "0008_listing"
branch_labels = None
depends_on = None

COLUMNS = ("last_save_id", "last_save_version")


def upgrade() -> None:
    op.add_column("posts", sa.Column("last_save_id", sa.Uuid(), nullable=True))
    op.add_column("posts", sa.Column("last_save_version", sa.Integer(), nullable=True))


def downgrade() -> None:
    bind = op.get_bind()
    for column in reversed(COLUMNS):
        # SQLite 3.35+ drops a column in place, keeping the table's triggers.
        bind.execute(sa.text(f"ALTER TABLE posts DROP COLUMN {column}"))


def downgrade_would_lose(conn: sa.Connection) -> list[str]:
    """What downgrade() would drop, in words (empty: nothing). See docs/operations.md."""
    columns = {c["name"] for c in sa.inspect(conn).get_columns("posts")}
    if "last_save_id" not in columns:
        return []
    count = conn.execute(sa.text(
        "SELECT count(*) FROM posts WHERE last_save_id IS NOT NULL")).scalar_one()
    if not count:
        return []
    return [f"the save ids of {count} post(s): a client retrying a save it made before the "
            "downgrade would be told of a conflict with its own text"]
