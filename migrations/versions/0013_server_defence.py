"""sign-in throttling in the database; no settable "system" flag; narrower grants

Both backends get `signin_throttle`: one row per throttled key (a client address, a
username, or the pair), counting failed sign-ins in a window and holding the time until
which the key must wait. Every worker and every server on the database shares it; rows
expire (post001/server/throttle.py). It holds no user data: the server's role may read
and write it (RLS forced, one permissive policy for that role).

PostgreSQL only, defence in depth (docs/server.md):
- `post001_is_system()` no longer reads the session setting `post001.system` (any
  session could set it to see every row); it is false. The scheduler finds due posts
  through the SECURITY DEFINER function `post001_due_posts(now)` and publishes each as
  its author, under the same policies as the author's own requests.
- The guard triggers no longer compare `current_user` with the literal 'post001_app' (a
  role with another name, or one granted post001_app, skipped them): they spare only
  roles that bypass row-level security anyway (superusers, BYPASSRLS: migrations and
  `post001 server ...` administration), `post001_is_privileged()`.
- Every post001 SECURITY DEFINER function (password and token lookups among them) is
  executable by the app role only, not by PUBLIC.

Revision ID: 0013_server_defence
Revises: 0012_listing_counts
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from post001.core.sql.schema import count_losses

revision = "0013_server_defence"
down_revision = "0012_listing_counts"
branch_labels = None
depends_on = None

APP_ROLE = "post001_app"
GUARDS = ("post001_posts_guard", "post001_shares_guard", "post001_collectives_guard")
OLD_TEST = "current_user = 'post001_app'"
NEW_TEST = "NOT public.post001_is_privileged()"

#: Also run as plain SQL on SQLite by post001/server/routers/health.py.
ADOPTION_SQL = """
    SELECT (SELECT count(*) FROM public.posts) AS posts,
           (SELECT count(*) FROM public.post_collectives) AS shares,
           (SELECT count(*) FROM (SELECT post_id FROM public.post_collectives
                                  GROUP BY post_id HAVING count(*) >= 2) m) AS multi,
           (SELECT count(*) FROM public.posts
            WHERE status = 'published' OR published_at IS NOT NULL) AS published
"""

PG_UP = [
    """
    CREATE OR REPLACE FUNCTION post001_is_privileged() RETURNS boolean
    LANGUAGE sql STABLE SET search_path = pg_catalog AS
    $$ SELECT coalesce((SELECT rolsuper OR rolbypassrls FROM pg_roles
                        WHERE rolname = current_user), false) $$
    """,
    """
    CREATE OR REPLACE FUNCTION post001_is_system() RETURNS boolean
    LANGUAGE sql STABLE AS $$ SELECT false $$
    """,
    """
    CREATE OR REPLACE FUNCTION post001_due_posts(p_now timestamptz)
    RETURNS TABLE(id uuid, author_id uuid, publish_at timestamptz)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS
    $$ SELECT p.id, p.author_id, p.publish_at FROM public.posts p
       WHERE p.status = 'scheduled' AND p.publish_at <= p_now
       ORDER BY p.publish_at $$
    """,
    # A user's own password change (POST /api/v1/auth/password, after the server checked
    # the current one): the new hash, and every other token of theirs revoked, together.
    """
    CREATE OR REPLACE FUNCTION post001_change_password(p_hash text, p_keep uuid,
                                                       p_now timestamptz)
    RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    DECLARE
        revoked integer;
    BEGIN
        UPDATE public.user_passwords SET password_hash = p_hash, updated_at = p_now
        WHERE user_id = public.post001_uid();
        IF NOT FOUND THEN
            RAISE EXCEPTION 'no password to change for this user'
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        UPDATE public.api_tokens SET revoked_at = p_now
        WHERE user_id = public.post001_uid() AND revoked_at IS NULL
          AND id IS DISTINCT FROM p_keep;
        GET DIAGNOSTICS revoked = ROW_COUNT;
        RETURN revoked;
    END
    $$
    """,
    # The health report's server-wide adoption figures (counts only, no rows), shown to
    # the server's administrators and the metrics token's holder (docs/server.md).
    f"""
    CREATE OR REPLACE FUNCTION post001_adoption_counts()
    RETURNS TABLE(posts bigint, shares bigint, multi bigint, published bigint)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS
    $$ {ADOPTION_SQL} $$
    """,
    # A collective's managers read its audit trail, except other authors' draft
    # selections (post001.core.permissions.can_read_audit is the same rule).
    "DROP POLICY IF EXISTS audit_read ON audit_events",
    f"CREATE POLICY audit_read ON audit_events FOR SELECT TO {APP_ROLE} USING ("
    "actor_id = post001_uid() OR post001_is_author(post_id) "
    "OR (post001_role_in(collective_id) IN ('owner', 'admin') AND NOT ("
    "(action = 'share.added' AND new_values->>'status' = 'draft') "
    "OR (action = 'share.removed' AND old_values->>'status' = 'draft'))))",
    f"GRANT SELECT, INSERT, UPDATE, DELETE ON signin_throttle TO {APP_ROLE}",
    "ALTER TABLE signin_throttle ENABLE ROW LEVEL SECURITY",
    "ALTER TABLE signin_throttle FORCE ROW LEVEL SECURITY",
    f"CREATE POLICY signin_throttle_server ON signin_throttle FOR ALL TO {APP_ROLE} "
    "USING (true) WITH CHECK (true)",
]

PG_DOWN = [
    "DROP POLICY IF EXISTS signin_throttle_server ON signin_throttle",
    "DROP POLICY IF EXISTS audit_read ON audit_events",
    f"CREATE POLICY audit_read ON audit_events FOR SELECT TO {APP_ROLE} USING ("
    "post001_is_system() OR actor_id = post001_uid() OR post001_is_author(post_id) "
    "OR post001_role_in(collective_id) IN ('owner', 'admin'))",
    "DROP FUNCTION IF EXISTS post001_due_posts(timestamptz)",
    "DROP FUNCTION IF EXISTS post001_change_password(text, uuid, timestamptz)",
    "DROP FUNCTION IF EXISTS post001_adoption_counts()",
    """
    CREATE OR REPLACE FUNCTION post001_is_system() RETURNS boolean
    LANGUAGE sql STABLE AS
    $$ SELECT coalesce(current_setting('post001.system', true), '') = 'on' $$
    """,
]

_DEFINERS = sa.text(
    "SELECT p.oid::regprocedure::text FROM pg_proc p "
    "JOIN pg_namespace n ON n.oid = p.pronamespace "
    "WHERE n.nspname = 'public' AND p.proname LIKE 'post001\\_%' AND p.prosecdef")


def _rewrite_guards(conn: sa.Connection, old: str, new: str) -> None:
    """Recreate each guard with `old` replaced by `new` (its body is otherwise 0006's)."""
    for name in GUARDS:
        body = conn.execute(sa.text(
            "SELECT pg_get_functiondef(p.oid) FROM pg_proc p "
            "JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = 'public' AND p.proname = :name"), {"name": name}).scalar()
        if body is None or old not in body:
            continue
        op.execute(body.replace(old, new))


def _create_table() -> None:
    op.create_table(
        "signin_throttle",
        sa.Column("key", sa.Text(), primary_key=True),
        sa.Column("failures", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("blocked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_signin_throttle_updated", "signin_throttle", ["updated_at"])


def upgrade() -> None:
    _create_table()
    conn = op.get_bind()
    if conn.dialect.name != "postgresql":
        return
    for statement in PG_UP:
        op.execute(statement)
    _rewrite_guards(conn, OLD_TEST, NEW_TEST)
    for signature in conn.execute(_DEFINERS).scalars().all():
        op.execute(f"REVOKE EXECUTE ON FUNCTION {signature} FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION {signature} TO {APP_ROLE}")


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        for signature in conn.execute(_DEFINERS).scalars().all():
            op.execute(f"GRANT EXECUTE ON FUNCTION {signature} TO PUBLIC")
        _rewrite_guards(conn, NEW_TEST, OLD_TEST)
        for statement in PG_DOWN:
            op.execute(statement)
        op.execute("DROP FUNCTION IF EXISTS post001_is_privileged()")
    op.drop_index("ix_signin_throttle_updated", table_name="signin_throttle")
    op.drop_table("signin_throttle")


def downgrade_would_lose(conn: sa.Connection) -> list[str]:
    """Only throttling state: clients waiting out a back-off may try again at once."""
    return count_losses(conn, [
        ("SELECT count(*) FROM signin_throttle WHERE failures > 0",
         "{n} sign-in throttling record{s} (back-offs in force are forgotten)"),
    ])
