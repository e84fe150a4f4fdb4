"""saves counted per writer and day, for the auto-save success rate

`post001 stats` reports the auto-save success rate without an audit row per keystroke:
saves are counted per (UTC day, writer).
- Successful saves: an AFTER UPDATE trigger adds one whenever a post's version goes up
  without its status changing (a save, not a publish, unpublish or archive), inside the
  save's own transaction. The save stays one statement and pays nothing in Python.
- Failed saves (a stale version: `conflicts`; a value over a limit: `refused`) roll
  their transaction back, so the store counts them in a short transaction of its own.
Keying by writer keeps concurrent writers off each other's counter row.

PostgreSQL: both paths go through SECURITY DEFINER functions (owned by the migrating
role), so the server's role has no grant on the table, which is RLS-forced like every
table holding user data; the failure counter takes the writer from `post001_uid()`.

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
    """
    CREATE OR REPLACE FUNCTION post001_count_failed_save(on_day date, kind text)
    RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    BEGIN
        IF kind NOT IN ('conflicts', 'refused') THEN
            RAISE EXCEPTION 'unknown kind of failed save: %', kind;
        END IF;
        INSERT INTO save_counts (day, user_id, conflicts, refused)
        VALUES (on_day, post001_uid(), (kind = 'conflicts')::int, (kind = 'refused')::int)
        ON CONFLICT (day, user_id) DO UPDATE
        SET conflicts = save_counts.conflicts + EXCLUDED.conflicts,
            refused = save_counts.refused + EXCLUDED.refused;
    END
    $$
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
        sa.Column("conflicts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("refused", sa.Integer(), nullable=False, server_default="0"),
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
        op.execute("DROP FUNCTION IF EXISTS post001_count_failed_save(date, text)")
    op.drop_table("save_counts")


def downgrade_would_lose(conn: sa.Connection) -> list[str]:
    """The counts behind `post001 stats`' auto-save success rate."""
    return count_losses(conn, [
        ("SELECT count(*) FROM save_counts",
         "{n} daily save count{s} (the auto-save success rate loses its history)"),
    ])
