"""successful saves counted per writer and day, by the database, for the auto-save rate

`post001 stats` reports the auto-save success rate. Failed saves are rare and each is
worth an audit event (`post.save_failed`, written by the store); successful ones happen
every second while someone types, so they are only counted: an AFTER UPDATE trigger
adds one to (day, author) whenever a post's version goes up without its status
changing (a save, not a publish, unpublish or archive). The save itself stays one
statement and pays nothing in Python; keying by author keeps concurrent writers off
each other's counter row.

PostgreSQL: the trigger function is SECURITY DEFINER (owned by the migrating role), so
the server's role needs no grant on the table, which is RLS-forced like every table
holding user data.

Revision ID: 0011_save_counts
Revises: 0010_server_hardening
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from post001.core.sql.schema import count_losses

revision = "0011_save_counts"
down_revision = "0010_server_hardening"
branch_labels = None
depends_on = None

SQLITE_TRIGGER = """
CREATE TRIGGER posts_count_saves AFTER UPDATE OF version ON posts
WHEN new.version > old.version AND new.status = old.status
BEGIN
    INSERT INTO save_counts (day, user_id, saves)
    VALUES (date(new.updated_at), new.author_id, 1)
    ON CONFLICT (day, user_id) DO UPDATE SET saves = saves + 1;
END
"""

PG_UP = [
    """
    CREATE OR REPLACE FUNCTION post001_count_save() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    BEGIN
        INSERT INTO save_counts (day, user_id, saves)
        VALUES ((NEW.updated_at AT TIME ZONE 'UTC')::date, NEW.author_id, 1)
        ON CONFLICT (day, user_id) DO UPDATE SET saves = save_counts.saves + 1;
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE TRIGGER posts_count_saves AFTER UPDATE OF version ON posts
    FOR EACH ROW WHEN (NEW.version > OLD.version AND NEW.status = OLD.status)
    EXECUTE FUNCTION post001_count_save()
    """,
    "ALTER TABLE save_counts ENABLE ROW LEVEL SECURITY",
    "ALTER TABLE save_counts FORCE ROW LEVEL SECURITY",
]


def upgrade() -> None:
    op.create_table(
        "save_counts",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("saves", sa.Integer(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("day", "user_id", name="pk_save_counts"),
    )
    if op.get_bind().dialect.name == "sqlite":
        op.execute(SQLITE_TRIGGER)
    else:
        for statement in PG_UP:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS posts_count_saves")
    else:
        op.execute("DROP TRIGGER IF EXISTS posts_count_saves ON posts")
        op.execute("DROP FUNCTION IF EXISTS post001_count_save()")
    op.drop_table("save_counts")


def downgrade_would_lose(conn: sa.Connection) -> list[str]:
    """The counts behind `post001 stats`' auto-save success rate."""
    return count_losses(conn, [
        ("SELECT count(*) FROM save_counts",
         "{n} daily save count{s} (the auto-save success rate loses its history)"),
    ])
