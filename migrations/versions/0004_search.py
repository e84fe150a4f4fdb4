"""full-text search over published posts

Only published posts are indexed, so a draft's auto-saves never pay for indexing.

SQLite: an FTS5 table `posts_fts(title, subtitle, content)` whose rowid is the post's
rowid, kept current by triggers on posts. Caveats for later revisions: a batch
rebuild of `posts` drops these triggers and renumbers rowids, and VACUUM may
renumber the rowids of a table without an INTEGER PRIMARY KEY; after either, recreate
the triggers and rebuild the index (SQLITE_BACKFILL).

PostgreSQL: a `search_vector tsvector` column (title A, subtitle B, content C,
'english'), set by a BEFORE trigger only when the row is or was published (NULL
otherwise), with the GIN index `ix_posts_search`.

Revision ID: 0004_search
Revises: 0003_legacy_shares
Create Date: 2026-01-05 09:00:03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_search"
down_revision = "0003_legacy_shares"
branch_labels = None
depends_on = None

SQLITE_UP = [
    "CREATE VIRTUAL TABLE posts_fts USING fts5("
    "title, subtitle, content, tokenize='unicode61 remove_diacritics 2')",
    """
    CREATE TRIGGER posts_fts_insert AFTER INSERT ON posts
    WHEN new.status = 'published'
    BEGIN
        INSERT INTO posts_fts (rowid, title, subtitle, content)
        VALUES (new.rowid, new.title, new.subtitle, new.content);
    END
    """,
    # Only the indexed columns and status matter: a version bump alone reindexes nothing.
    """
    CREATE TRIGGER posts_fts_update AFTER UPDATE OF title, subtitle, content, status ON posts
    WHEN old.status = 'published' OR new.status = 'published'
    BEGIN
        DELETE FROM posts_fts WHERE rowid = old.rowid;
        INSERT INTO posts_fts (rowid, title, subtitle, content)
        SELECT new.rowid, new.title, new.subtitle, new.content WHERE new.status = 'published';
    END
    """,
    """
    CREATE TRIGGER posts_fts_delete AFTER DELETE ON posts
    WHEN old.status = 'published'
    BEGIN
        DELETE FROM posts_fts WHERE rowid = old.rowid;
    END
    """,
]

SQLITE_BACKFILL = [
    "DELETE FROM posts_fts",
    "INSERT INTO posts_fts (rowid, title, subtitle, content) "
    "SELECT rowid, title, subtitle, content FROM posts WHERE status = 'published'",
]

SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS posts_fts_delete",
    "DROP TRIGGER IF EXISTS posts_fts_update",
    "DROP TRIGGER IF EXISTS posts_fts_insert",
    "DROP TABLE IF EXISTS posts_fts",
]

PG_UP = [
    "ALTER TABLE posts ADD COLUMN search_vector tsvector",
    """
    CREATE FUNCTION posts_search_vector_update() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF NEW.status = 'published' THEN
            NEW.search_vector :=
                setweight(to_tsvector('english', coalesce(NEW.title, '')), 'A') ||
                setweight(to_tsvector('english', coalesce(NEW.subtitle, '')), 'B') ||
                setweight(to_tsvector('english', coalesce(NEW.content, '')), 'C');
        ELSE
            NEW.search_vector := NULL;
        END IF;
        RETURN NEW;
    END
    $$
    """,
    # Two triggers because an INSERT trigger's WHEN cannot see OLD. Drafts being
    # auto-saved match neither WHEN clause, so they never run the function.
    """
    CREATE TRIGGER posts_search_vector_insert BEFORE INSERT ON posts
    FOR EACH ROW WHEN (NEW.status = 'published')
    EXECUTE FUNCTION posts_search_vector_update()
    """,
    """
    CREATE TRIGGER posts_search_vector_update
    BEFORE UPDATE OF title, subtitle, content, status ON posts
    FOR EACH ROW WHEN (OLD.status = 'published' OR NEW.status = 'published')
    EXECUTE FUNCTION posts_search_vector_update()
    """,
    "CREATE INDEX ix_posts_search ON posts USING gin (search_vector)",
]

# Touching status fires the update trigger for exactly the published rows.
PG_BACKFILL = ["UPDATE posts SET status = status WHERE status = 'published'"]

PG_DOWN = [
    "DROP INDEX IF EXISTS ix_posts_search",
    "DROP TRIGGER IF EXISTS posts_search_vector_update ON posts",
    "DROP TRIGGER IF EXISTS posts_search_vector_insert ON posts",
    "DROP FUNCTION IF EXISTS posts_search_vector_update()",
    "ALTER TABLE posts DROP COLUMN IF EXISTS search_vector",
]


def _statements(sqlite: list[str], postgresql: list[str]) -> list[str]:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        return sqlite
    if dialect == "postgresql":
        return postgresql
    raise NotImplementedError(f"post001 search supports SQLite and PostgreSQL, not {dialect}")


def upgrade() -> None:
    for statement in _statements(SQLITE_UP + SQLITE_BACKFILL, PG_UP + PG_BACKFILL):
        op.execute(statement)


def downgrade() -> None:
    for statement in _statements(SQLITE_DOWN, PG_DOWN):
        op.execute(statement)


def downgrade_would_lose(conn: sa.Connection) -> list[str]:
    """The search index is rebuilt from the posts: nothing is lost."""
    return []
