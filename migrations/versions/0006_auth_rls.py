"""server accounts (password hashes, API token hashes) and PostgreSQL row-level security

Both backends get `user_passwords` (an argon2 hash per user) and `api_tokens` (only the
SHA-256 of each token; revocable, optional expiry). These belong to the team server and
are not part of `tables.metadata`; `post001.server.auth` declares them.

PostgreSQL only, a second wall behind the server's own permission checks:
- the role `post001_app` (NOLOGIN, NOBYPASSRLS, owns nothing). The server sets it on
  each of its connections (or logs in as a LOGIN role that was granted it) and acts as
  the user named by `current_setting('post001.user_id', true)`, which every store
  transaction sets transaction-locally.
- grants: the data tables to read and write; `audit_events` to SELECT and INSERT only;
  `user_passwords` not at all (reached only through a SECURITY DEFINER function).
- RLS enabled and forced on every table holding user data, with policies following
  the read and write rules of docs/product.md. The audit table has no UPDATE or DELETE policy and
  no such grant: nobody changes history.
- `post001.system = 'on'` (set only on the server's scheduler connection) lets the
  scheduler find due posts of every author; publishing itself then runs as the author.
- helper functions that must read across the policies (a role in a collective, "am I the
  author") are SECURITY DEFINER, owned by the migrating role, which must be a superuser
  or have BYPASSRLS; that also keeps the policies free of recursion.
The role is cluster-wide; downgrade revokes its grants but leaves it for other databases.

Revision ID: 0006_auth_rls
Revises: 0005_revision_snapshots
Create Date: 2026-01-05 09:00:05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from post001.core.sql.schema import count_losses

revision = "0006_auth_rls"
down_revision = "0005_revision_snapshots"
branch_labels = None
depends_on = None

APP_ROLE = "post001_app"

#: Tables whose rows belong to users: RLS enabled and forced on each.
RLS_TABLES = (
    "users",
    "collectives",
    "collective_members",
    "posts",
    "post_collectives",
    "post_revisions",
    "audit_events",
    "idempotency_keys",
    "user_passwords",
    "api_tokens",
)
READ_WRITE = (
    "users",
    "collectives",
    "collective_members",
    "posts",
    "post_collectives",
    "post_revisions",
    "idempotency_keys",
    "api_tokens",
)

MODERATORS = "('owner', 'admin', 'editor')"
MANAGERS = "('owner', 'admin')"
SHARERS = "('owner', 'admin', 'editor', 'author', 'contributor')"


def _timestamp(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _definer(name: str, args: str, returns: str, body: str) -> str:
    return f"""
    CREATE OR REPLACE FUNCTION {name}({args}) RETURNS {returns}
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public
    AS $$ {body} $$
    """


FUNCTIONS = [
    """
    CREATE OR REPLACE FUNCTION post001_uid() RETURNS uuid
    LANGUAGE sql STABLE AS
    $$ SELECT NULLIF(current_setting('post001.user_id', true), '')::uuid $$
    """,
    """
    CREATE OR REPLACE FUNCTION post001_is_system() RETURNS boolean
    LANGUAGE sql STABLE AS
    $$ SELECT coalesce(current_setting('post001.system', true), '') = 'on' $$
    """,
    _definer(
        "post001_role_in", "cid uuid", "text",
        "SELECT role FROM public.collective_members "
        "WHERE collective_id = cid AND member_id = public.post001_uid()",
    ),
    _definer(
        "post001_owns_collective", "cid uuid", "boolean",
        "SELECT EXISTS (SELECT 1 FROM public.collectives "
        "WHERE id = cid AND owner_id = public.post001_uid())",
    ),
    # Acting as the owner: holding the role, or (mid-transfer) collectives.owner_id.
    _definer(
        "post001_acts_as_owner", "cid uuid", "boolean",
        "SELECT public.post001_role_in(cid) = 'owner' OR public.post001_owns_collective(cid)",
    ),
    # The share statuses the acting author may give a share in `cid` (docs/product.md's
    # permission table; post001.core.permissions.share_status_on_publish is the same rule
    # in Python).
    _definer(
        "post001_share_status_allowed", "cid uuid, new_status text", "boolean",
        "SELECT CASE new_status "
        "WHEN 'draft' THEN r.role IS NOT NULL "
        f"WHEN 'pending_approval' THEN r.role IN {SHARERS} "
        f"WHEN 'published' THEN r.role IN {MODERATORS} "
        "OR (r.role = 'author' AND NOT c.require_approval) "
        "ELSE false END "
        "FROM (SELECT public.post001_role_in(cid) AS role) r "
        "JOIN public.collectives c ON c.id = cid",
    ),
    _definer(
        "post001_is_author", "pid uuid", "boolean",
        "SELECT EXISTS (SELECT 1 FROM public.posts "
        "WHERE id = pid AND author_id = public.post001_uid())",
    ),
    # Readers other than the author: members where the share is published (while the post
    # is), and moderators of a collective where it waits for review or was rejected.
    _definer(
        "post001_post_reachable", "pid uuid, pstatus text", "boolean",
        "SELECT EXISTS (SELECT 1 FROM public.post_collectives s "
        "JOIN public.collective_members m ON m.collective_id = s.collective_id "
        "AND m.member_id = public.post001_uid() "
        "WHERE s.post_id = pid AND ("
        "pstatus = 'published' AND (s.status = 'published' OR "
        f"(s.status IN ('pending_approval', 'rejected') AND m.role IN {MODERATORS}))))",
    ),
    _definer(
        "post001_moderates_post", "pid uuid", "boolean",
        "SELECT EXISTS (SELECT 1 FROM public.post_collectives s "
        "JOIN public.collective_members m ON m.collective_id = s.collective_id "
        "AND m.member_id = public.post001_uid() "
        f"WHERE s.post_id = pid AND m.role IN {MODERATORS})",
    ),
    # Authentication runs before anyone is "the user": these two are the only ways the
    # app role reaches password hashes and other users' token rows.
    _definer(
        "post001_token_lookup", "p_hash text",
        "TABLE(token_id uuid, user_id uuid, username text, expires_at timestamptz, "
        "revoked_at timestamptz, last_used_at timestamptz)",
        "SELECT t.id, t.user_id, u.username, t.expires_at, t.revoked_at, t.last_used_at "
        "FROM public.api_tokens t JOIN public.users u ON u.id = t.user_id "
        "WHERE t.token_hash = p_hash",
    ),
    _definer(
        "post001_password_lookup", "p_username text",
        "TABLE(user_id uuid, password_hash text)",
        "SELECT u.id, p.password_hash FROM public.users u "
        "JOIN public.user_passwords p ON p.user_id = u.id WHERE u.username = p_username",
    ),
    # Share status changes follow the rules whatever the policies let through: an author
    # gives only the statuses their role allows (draft always, to unpublish), a moderator
    # only decides pending shares. A policy cannot see the old row; a trigger can.
    f"""
    CREATE OR REPLACE FUNCTION post001_shares_guard() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF current_user = 'post001_app' AND NOT public.post001_is_system()
           AND NEW.status IS DISTINCT FROM OLD.status
           AND NOT (OLD.status = 'pending_approval'
                    AND NEW.status IN ('published', 'rejected')
                    AND public.post001_role_in(NEW.collective_id) IN {MODERATORS})
           AND NOT (public.post001_is_author(NEW.post_id)
                    AND (NEW.status = 'draft'
                         OR public.post001_share_status_allowed(NEW.collective_id,
                                                               NEW.status)))
        THEN
            RAISE EXCEPTION 'share status % is not yours to give', NEW.status
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        RETURN NEW;
    END
    $$
    """,
    # Only the owner hands the collective over.
    """
    CREATE OR REPLACE FUNCTION post001_collectives_guard() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF current_user = 'post001_app' AND NOT public.post001_is_system()
           AND NEW.owner_id IS DISTINCT FROM OLD.owner_id
           AND OLD.owner_id IS DISTINCT FROM public.post001_uid()
        THEN
            RAISE EXCEPTION 'only the owner can transfer collective %', OLD.id
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        RETURN NEW;
    END
    $$
    """,
    # A moderator may lock a post (removing a share) and clear the legacy collective_id
    # of the share they remove; every other change to a post is its author's alone.
    """
    CREATE OR REPLACE FUNCTION post001_posts_guard() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF current_user = 'post001_app' AND NOT public.post001_is_system()
           AND OLD.author_id IS DISTINCT FROM public.post001_uid()
           AND (NEW.collective_id IS NOT NULL
                OR (to_jsonb(NEW) - 'collective_id') <> (to_jsonb(OLD) - 'collective_id'))
        THEN
            RAISE EXCEPTION 'only the author can change post %', OLD.id
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        RETURN NEW;
    END
    $$
    """,
]

# (table, name, command, using, with_check)
POLICIES: list[tuple[str, str, str, str | None, str | None]] = [
    # users: names are public within the server; a user edits only their own row.
    # Creating users is gated by the server (admin command or its configuration).
    ("users", "users_read", "SELECT", "true", None),
    ("users", "users_insert", "INSERT", None, "true"),
    ("users", "users_update_self", "UPDATE", "id = post001_uid()", "id = post001_uid()"),
    # collectives: readable (the API answers non-members with 404 itself); changed by
    # the owner and admins, created by their owner, deleted by the owner.
    ("collectives", "collectives_read", "SELECT", "true", None),
    ("collectives", "collectives_create", "INSERT", None, "owner_id = post001_uid()"),
    ("collectives", "collectives_manage", "UPDATE",
     f"post001_role_in(id) IN {MANAGERS}", f"post001_role_in(id) IN {MANAGERS}"),
    ("collectives", "collectives_delete", "DELETE", "owner_id = post001_uid()", None),
    # memberships: visible to fellow members; managed by owner and admins; anyone may
    # leave; nobody removes the owner's row; the creator adds themself as owner.
    ("collective_members", "members_read", "SELECT",
     "post001_is_system() OR member_id = post001_uid() "
     "OR post001_role_in(collective_id) IS NOT NULL", None),
    # Admins manage the roles below admin; only the owner makes or unmakes admins and
    # hands over ownership; the one owner row is the creator's own.
    ("collective_members", "members_add", "INSERT", None,
     "(role = 'owner' AND member_id = post001_uid() "
     "AND post001_owns_collective(collective_id)) "
     "OR (role = 'admin' AND post001_role_in(collective_id) = 'owner') "
     "OR (role NOT IN ('owner', 'admin') "
     f"AND post001_role_in(collective_id) IN {MANAGERS})"),
    ("collective_members", "members_change", "UPDATE",
     "post001_acts_as_owner(collective_id) OR (post001_role_in(collective_id) = 'admin' "
     "AND role NOT IN ('owner', 'admin'))",
     "post001_acts_as_owner(collective_id) OR (post001_role_in(collective_id) = 'admin' "
     "AND role NOT IN ('owner', 'admin'))"),
    ("collective_members", "members_remove", "DELETE",
     "role <> 'owner' AND (member_id = post001_uid() "
     "OR post001_role_in(collective_id) = 'owner' "
     "OR (post001_role_in(collective_id) = 'admin' AND role <> 'admin'))", None),
    # posts: the read rules of docs/product.md; writes are the author's (see post001_posts_guard).
    ("posts", "posts_read", "SELECT",
     "author_id = post001_uid() OR post001_is_system() "
     "OR (status = 'published' AND is_public) OR post001_post_reachable(id, status)", None),
    ("posts", "posts_create", "INSERT", None, "author_id = post001_uid()"),
    ("posts", "posts_update", "UPDATE",
     "author_id = post001_uid() OR post001_is_system() OR post001_moderates_post(id)",
     "author_id = post001_uid() OR post001_is_system() OR post001_moderates_post(id)"),
    ("posts", "posts_delete", "DELETE", "author_id = post001_uid()", None),
    # shares: the author's, pending/rejected ones also to the collective's moderators,
    # published ones to whoever may read the post (the subquery runs under posts_read).
    ("post_collectives", "shares_read", "SELECT",
     "post001_is_system() OR post001_is_author(post_id) "
     f"OR (status IN ('pending_approval', 'rejected') "
     f"AND post001_role_in(collective_id) IN {MODERATORS}) "
     "OR (status = 'published' AND post001_role_in(collective_id) IS NOT NULL AND EXISTS "
     "(SELECT 1 FROM posts p WHERE p.id = post_collectives.post_id))", None),
    # Only the author shares, only where they belong; anything beyond a draft selection
    # (which may name a collective where they cannot post, for the preflight to explain)
    # needs a role that may post there.
    ("post_collectives", "shares_add", "INSERT", None,
     "post001_is_system() OR (post001_is_author(post_id) "
     "AND post001_share_status_allowed(collective_id, status))"),
    # Moderators act on shares that reached their collective, never on draft selections;
    # which status changes are allowed is post001_shares_guard's business.
    ("post_collectives", "shares_change", "UPDATE",
     "post001_is_system() OR post001_is_author(post_id) "
     f"OR (post001_role_in(collective_id) IN {MODERATORS} AND status <> 'draft')",
     "post001_is_system() OR post001_is_author(post_id) "
     f"OR (post001_role_in(collective_id) IN {MODERATORS} AND status <> 'draft')"),
    ("post_collectives", "shares_remove", "DELETE",
     "post001_is_author(post_id) "
     f"OR (post001_role_in(collective_id) IN {MODERATORS} AND status <> 'draft')", None),
    # revisions: the author's alone.
    ("post_revisions", "revisions_own", "ALL",
     "post001_is_system() OR post001_is_author(post_id)",
     "post001_is_system() OR post001_is_author(post_id)"),
    # audit: append-only; read by the actor, the post's author, the collective's managers.
    ("audit_events", "audit_read", "SELECT",
     "post001_is_system() OR actor_id = post001_uid() OR post001_is_author(post_id) "
     f"OR post001_role_in(collective_id) IN {MANAGERS}", None),
    ("audit_events", "audit_append", "INSERT", None,
     "post001_is_system() OR actor_id = post001_uid()"),
    # idempotency records and tokens: their user's own.
    ("idempotency_keys", "idempotency_own", "ALL",
     "user_id = post001_uid()", "user_id = post001_uid()"),
    ("api_tokens", "tokens_own", "ALL", "user_id = post001_uid()", "user_id = post001_uid()"),
]


def _create_tables() -> None:
    op.create_table(
        "user_passwords",
        sa.Column("user_id", sa.Uuid(), primary_key=True),
        sa.Column("password_hash", sa.Text(), nullable=False),
        _timestamp("updated_at"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE",
                                name="user_passwords_user_id_fkey"),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False, server_default=""),
        _timestamp("created_at"),
        _timestamp("expires_at", nullable=True),
        _timestamp("last_used_at", nullable=True),
        _timestamp("revoked_at", nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE",
                                name="api_tokens_user_id_fkey"),
        sa.UniqueConstraint("token_hash", name="uq_api_tokens_hash"),
    )
    op.create_index("ix_api_tokens_user", "api_tokens", ["user_id"])


def _postgres_up() -> None:
    # Roles are per cluster: another database (or a parallel test run) may have made it.
    op.execute(f"""
    DO $$
    BEGIN
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
            CREATE ROLE {APP_ROLE} NOLOGIN NOBYPASSRLS NOSUPERUSER;
        END IF;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
    END
    $$
    """)
    for statement in FUNCTIONS:
        op.execute(statement)
    op.execute("""
    CREATE TRIGGER posts_author_guard BEFORE UPDATE ON posts
    FOR EACH ROW EXECUTE FUNCTION post001_posts_guard()
    """)
    op.execute("""
    CREATE TRIGGER post_collectives_status_guard BEFORE UPDATE ON post_collectives
    FOR EACH ROW EXECUTE FUNCTION post001_shares_guard()
    """)
    op.execute("""
    CREATE TRIGGER collectives_owner_guard BEFORE UPDATE ON collectives
    FOR EACH ROW EXECUTE FUNCTION post001_collectives_guard()
    """)
    op.execute(f"GRANT USAGE ON SCHEMA public TO {APP_ROLE}")
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {', '.join(READ_WRITE)} TO {APP_ROLE}")
    op.execute(f"GRANT SELECT, INSERT ON audit_events TO {APP_ROLE}")
    op.execute(f"GRANT SELECT ON alembic_version TO {APP_ROLE}")
    op.execute(f"REVOKE ALL ON user_passwords FROM {APP_ROLE}")
    for table in RLS_TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    for table, name, command, using, check in POLICIES:
        sql = f"CREATE POLICY {name} ON {table} FOR {command} TO {APP_ROLE}"
        if using is not None:
            sql += f" USING ({using})"
        if check is not None:
            sql += f" WITH CHECK ({check})"
        op.execute(sql)


def _postgres_down() -> None:
    for table, name, _, _, _ in POLICIES:
        op.execute(f"DROP POLICY IF EXISTS {name} ON {table}")
    for table in RLS_TABLES:
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    op.execute("DROP TRIGGER IF EXISTS posts_author_guard ON posts")
    op.execute("DROP TRIGGER IF EXISTS post_collectives_status_guard ON post_collectives")
    op.execute("DROP TRIGGER IF EXISTS collectives_owner_guard ON collectives")
    for name, args in [
        ("post001_posts_guard", ""), ("post001_shares_guard", ""),
        ("post001_collectives_guard", ""), ("post001_share_status_allowed", "uuid, text"),
        ("post001_acts_as_owner", "uuid"), ("post001_password_lookup", "text"),
        ("post001_token_lookup", "text"), ("post001_moderates_post", "uuid"),
        ("post001_post_reachable", "uuid, text"), ("post001_is_author", "uuid"),
        ("post001_owns_collective", "uuid"), ("post001_role_in", "uuid"),
        ("post001_is_system", ""), ("post001_uid", ""),
    ]:
        op.execute(f"DROP FUNCTION IF EXISTS {name}({args})")
    tables = ", ".join(t for t in (*READ_WRITE, "audit_events", "alembic_version")
                       if t != "api_tokens")
    op.execute(f"REVOKE ALL ON {tables} FROM {APP_ROLE}")
    op.execute(f"REVOKE USAGE ON SCHEMA public FROM {APP_ROLE}")


def upgrade() -> None:
    _create_tables()
    if op.get_bind().dialect.name == "postgresql":
        _postgres_up()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _postgres_down()
    op.drop_index("ix_api_tokens_user", table_name="api_tokens")
    op.drop_table("api_tokens")
    op.drop_table("user_passwords")


def downgrade_would_lose(conn: sa.Connection) -> list[str]:
    """The server's accounts go: nobody can sign in afterwards."""
    return count_losses(conn, [
        ("SELECT count(*) FROM user_passwords", "{n} password{s} (those users cannot sign in)"),
        ("SELECT count(*) FROM api_tokens WHERE revoked_at IS NULL",
         "{n} API token{s} in use (every signed-in client is signed out)"),
    ])
