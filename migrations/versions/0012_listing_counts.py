"""stored word counts and keyset listing

A writer's list of posts shows each post's word count. Counting meant reading every
body on every listing (seconds for a large library), so the count is now a column kept
by every save, and existing rows are counted once here, in batches, with the same
function the store uses (post001.core.text.word_count), so both databases agree.

The listing pages by (updated_at, id), newest first, so its index gains `id`: a page is
one index range scan, whatever the ties on updated_at.

Revision ID: 0012_listing_counts
Revises: 0011_save_counts
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from post001.core.text import word_count

revision = "0012_listing_counts"
down_revision = "0011_save_counts"
branch_labels = None
depends_on = None

BATCH = 500


def upgrade() -> None:
    with op.batch_alter_table("posts") as batch:
        batch.add_column(sa.Column("word_count", sa.Integer(), nullable=False,
                                   server_default="0"))
    op.create_index("ix_posts_author_listing", "posts", ["author_id", "updated_at", "id"])
    op.drop_index("ix_posts_author_updated", table_name="posts")
    _backfill(op.get_bind())


def _backfill(conn: sa.Connection) -> None:
    """Count the words of every existing post, a batch of bodies at a time (keyset by id,
    so memory stays flat on a large library). The row's version is left alone: this is
    not a save, and the save counter's trigger (0011) fires only on a version change."""
    posts = sa.table("posts", sa.column("id", sa.Uuid()), sa.column("content", sa.Text()),
                     sa.column("word_count", sa.Integer()))
    update = (posts.update().where(posts.c.id == sa.bindparam("b_id"))
              .values(word_count=sa.bindparam("b_words")))
    last = None
    while True:
        q = sa.select(posts.c.id, posts.c.content).order_by(posts.c.id).limit(BATCH)
        if last is not None:
            q = q.where(posts.c.id > last)
        rows = conn.execute(q).all()
        if not rows:
            return
        counted = [{"b_id": r.id, "b_words": word_count(r.content or "")} for r in rows
                   if r.content]
        if counted:
            conn.execute(update, counted)
        last = rows[-1].id


def downgrade() -> None:
    op.create_index("ix_posts_author_updated", "posts", ["author_id", "updated_at"])
    op.drop_index("ix_posts_author_listing", table_name="posts")
    with op.batch_alter_table("posts") as batch:
        batch.drop_column("word_count")


def downgrade_would_lose(conn: sa.Connection) -> list[str]:
    """Nothing: the word counts are derived from the posts' text and are counted again
    on the next upgrade."""
    return []
