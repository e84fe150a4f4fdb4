"""revision snapshots taken by the database, at most one a minute

Auto-save writes a post every second or so. Instead of copying the whole text into the
history on every save, a BEFORE UPDATE trigger keeps the state being *replaced* when
the newest snapshot of that post is over a minute old (or the replaced version has no
snapshot yet and none is recent). So continuous typing leaves one snapshot a minute,
the end of every writing session is kept (it is replaced by the next session's first
save), and the save itself stays a single UPDATE. The current text always lives in
`posts`; `post_revisions` holds what came before.

Revision ID: 0005_revision_snapshots
Revises: 0004_search
Create Date: 2026-01-05 09:00:04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_revision_snapshots"
down_revision = "0004_search"
branch_labels = None
depends_on = None

SNAPSHOT_SECONDS = 60

# SQLAlchemy stores SQLite datetimes as 'YYYY-MM-DD HH:MM:SS.ffffff' text, which sorts
# like time, so comparing with strftime's output is a time comparison.
SQLITE_UP = f"""
CREATE TRIGGER posts_revision_snapshot BEFORE UPDATE OF title, subtitle, content ON posts
WHEN (new.title IS NOT old.title OR new.subtitle IS NOT old.subtitle
      OR new.content IS NOT old.content)
  AND NOT EXISTS (
      SELECT 1 FROM post_revisions r
      WHERE r.post_id = old.id
        AND (r.version >= old.version
             OR r.saved_at > strftime('%Y-%m-%d %H:%M:%f', new.updated_at,
                                      '-{SNAPSHOT_SECONDS} seconds')))
BEGIN
    INSERT INTO post_revisions (id, post_id, version, title, subtitle, content, saved_at)
    VALUES (lower(hex(randomblob(16))), old.id, old.version, old.title,
            coalesce(old.subtitle, ''), coalesce(old.content, ''), old.updated_at);
END
"""

PG_UP = [
    f"""
    CREATE OR REPLACE FUNCTION post001_snapshot_revision() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF (NEW.title IS DISTINCT FROM OLD.title OR NEW.subtitle IS DISTINCT FROM OLD.subtitle
            OR NEW.content IS DISTINCT FROM OLD.content)
           AND NOT EXISTS (
               SELECT 1 FROM post_revisions r
               WHERE r.post_id = OLD.id
                 AND (r.version >= OLD.version
                      OR r.saved_at > NEW.updated_at - interval '{SNAPSHOT_SECONDS} seconds'))
        THEN
            INSERT INTO post_revisions (id, post_id, version, title, subtitle, content, saved_at)
            VALUES (gen_random_uuid(), OLD.id, OLD.version, OLD.title,
                    coalesce(OLD.subtitle, ''), coalesce(OLD.content, ''), OLD.updated_at);
        END IF;
        RETURN NEW;
    END
    $$
    """,
    """
    CREATE TRIGGER posts_revision_snapshot BEFORE UPDATE OF title, subtitle, content
    ON posts FOR EACH ROW EXECUTE FUNCTION post001_snapshot_revision()
    """,
]


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(SQLITE_UP)
    else:
        for statement in PG_UP:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS posts_revision_snapshot")
    else:
        op.execute("DROP TRIGGER IF EXISTS posts_revision_snapshot ON posts")
        op.execute("DROP FUNCTION IF EXISTS post001_snapshot_revision()")


def downgrade_would_lose(conn: sa.Connection) -> list[str]:
    """Only a trigger goes; the snapshots stay (0002 owns the table)."""
    return []
