"""Row-level security in plain SQL: role x table x operation against an allow/deny table.

Each check runs in its own transaction as the application role (`SET LOCAL ROLE
post001_app`) acting as one user (`post001.user_id`), exactly as the server's
connections do, and is rolled back. SELECT is allowed when the row is visible;
INSERT when it succeeds; UPDATE and DELETE when they touch the row.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

pytestmark = pytest.mark.postgres

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
ALLOW, DENY = "allow", "deny"


@dataclass
class World:
    ids: dict[str, uuid.UUID]


def _u() -> uuid.UUID:
    return uuid.uuid4()


@pytest.fixture
def world(admin: sa.Engine) -> Iterator[World]:
    """alice owns collective C; bob is its editor, carol a contributor, frank an admin,
    dave a member; erin is an outsider. alice has a draft D (its draft selection: C), a
    public published P, a private published Q (both shared published to C), and R,
    published with a share pending review in C. carol has S, published and pending in
    C, and a draft T shared nowhere yet."""
    ids = {name: _u() for name in (
        "alice", "bob", "carol", "dave", "erin", "frank", "C", "D", "P", "Q", "R", "S",
        "T", "audit_c", "audit_d", "share_D", "share_P", "share_Q", "share_R", "share_S",
        "rev_D", "tok_alice")}
    with admin.begin() as conn:
        for name in ("alice", "bob", "carol", "dave", "erin", "frank"):
            conn.execute(sa.text("INSERT INTO users (id, username, created_at) "
                                 "VALUES (:id, :n, :t)"), {"id": ids[name], "n": name, "t": T0})
        conn.execute(sa.text(
            "INSERT INTO collectives (id, slug, name, owner_id, require_approval, created_at,"
            " updated_at) VALUES (:id, 'c', 'C', :o, false, :t, :t)"),
            {"id": ids["C"], "o": ids["alice"], "t": T0})
        for name, role in (("alice", "owner"), ("bob", "editor"), ("dave", "member"),
                           ("carol", "contributor"), ("frank", "admin")):
            conn.execute(sa.text(
                "INSERT INTO collective_members (id, collective_id, member_id, role, created_at)"
                " VALUES (:id, :c, :m, :r, :t)"),
                {"id": _u(), "c": ids["C"], "m": ids[name], "r": role, "t": T0})
        for name, status, public, author in (
                ("D", "draft", True, "alice"), ("P", "published", True, "alice"),
                ("Q", "published", False, "alice"), ("R", "published", False, "alice"),
                ("S", "published", True, "carol"), ("T", "draft", True, "carol")):
            conn.execute(sa.text(
                "INSERT INTO posts (id, author_id, title, status, is_public, slug, created_at,"
                " updated_at, version) VALUES (:id, :a, :title, :s, :p, :slug, :t, :t, 1)"),
                {"id": ids[name], "a": ids[author], "title": name, "s": status, "p": public,
                 "slug": f"post-{ids[name]}", "t": T0})
        for post, status, author in (("P", "published", "alice"), ("Q", "published", "alice"),
                                     ("R", "pending_approval", "alice"),
                                     ("D", "draft", "alice"),
                                     ("S", "pending_approval", "carol")):
            conn.execute(sa.text(
                "INSERT INTO post_collectives (id, post_id, collective_id, status, shared_by,"
                " shared_at, display_order) VALUES (:id, :p, :c, :s, :a, :t, 0)"),
                {"id": ids[f"share_{post}"], "p": ids[post], "c": ids["C"], "s": status,
                 "a": ids[author], "t": T0})
        conn.execute(sa.text(
            "INSERT INTO post_revisions (id, post_id, version, title, subtitle, content,"
            " saved_at) VALUES (:id, :p, 1, 'D', '', '', :t)"),
            {"id": ids["rev_D"], "p": ids["D"], "t": T0})
        for key, post, coll in (("audit_c", None, "C"), ("audit_d", "D", None)):
            conn.execute(sa.text(
                "INSERT INTO audit_events (id, at, actor_id, action, post_id, collective_id)"
                " VALUES (:id, :t, :a, 'x', :p, :c)"),
                {"id": ids[key], "t": T0, "a": ids["alice"],
                 "p": ids[post] if post else None, "c": ids[coll] if coll else None})
        conn.execute(sa.text(
            "INSERT INTO idempotency_keys (user_id, key, post_id, response, created_at)"
            " VALUES (:u, 'k', :p, '{}'::jsonb, :t)"),
            {"u": ids["alice"], "p": ids["P"], "t": T0})
        conn.execute(sa.text(
            "INSERT INTO api_tokens (id, user_id, token_hash, name, created_at)"
            " VALUES (:id, :u, 'h', '', :t)"), {"id": ids["tok_alice"], "u": ids["alice"], "t": T0})
        conn.execute(sa.text(
            "INSERT INTO user_passwords (user_id, password_hash, updated_at)"
            " VALUES (:u, 'x', :t)"), {"u": ids["alice"], "t": T0})
    yield World(ids)


def _attempt(admin: sa.Engine, world: World, actor: str | None, sql: str,
             system: bool = False) -> str:
    params = {k: str(v) for k, v in world.ids.items()}
    with admin.connect() as conn:
        tx = conn.begin()
        try:
            conn.execute(sa.text("SET LOCAL ROLE post001_app"))
            if actor is not None:
                conn.execute(sa.text("SELECT set_config('post001.user_id', :u, true)"),
                             {"u": str(world.ids[actor])})
            if system:
                conn.execute(sa.text("SELECT set_config('post001.system', 'on', true)"))
            result = conn.execute(sa.text(sql), params)
            if sql.lstrip().upper().startswith("SELECT"):
                return ALLOW if result.first() is not None else DENY
            if sql.lstrip().upper().startswith("INSERT"):
                return ALLOW
            return ALLOW if result.rowcount > 0 else DENY
        except (sa_exc.ProgrammingError, sa_exc.InternalError, sa_exc.DBAPIError):
            return DENY
        finally:
            tx.rollback()


NEW = "gen_random_uuid()"
NOW = "now()"
# (case, actor, sql, expected)
MATRIX: list[tuple[str, str | None, str, str]] = [
    # posts: read rules
    ("draft visible to its author", "alice", "SELECT 1 FROM posts WHERE id = :D", ALLOW),
    ("draft invisible to the editor", "bob", "SELECT 1 FROM posts WHERE id = :D", DENY),
    ("draft invisible to a member", "dave", "SELECT 1 FROM posts WHERE id = :D", DENY),
    ("draft invisible to an outsider", "erin", "SELECT 1 FROM posts WHERE id = :D", DENY),
    ("draft invisible to nobody-in-particular", None, "SELECT 1 FROM posts WHERE id = :D", DENY),
    ("public post visible to outsider", "erin", "SELECT 1 FROM posts WHERE id = :P", ALLOW),
    ("public post visible without a user", None, "SELECT 1 FROM posts WHERE id = :P", ALLOW),
    ("private post visible to member where published", "dave",
     "SELECT 1 FROM posts WHERE id = :Q", ALLOW),
    ("private post invisible to outsider", "erin", "SELECT 1 FROM posts WHERE id = :Q", DENY),
    ("pending post visible to the moderator", "bob", "SELECT 1 FROM posts WHERE id = :R", ALLOW),
    ("pending post invisible to a member", "dave", "SELECT 1 FROM posts WHERE id = :R", DENY),
    # posts: writes
    ("author edits own draft", "alice", "UPDATE posts SET title = 'x' WHERE id = :D", ALLOW),
    ("editor cannot edit someone's draft", "bob",
     "UPDATE posts SET title = 'x' WHERE id = :D", DENY),
    ("editor cannot edit a post shared to their collective", "bob",
     "UPDATE posts SET title = 'x' WHERE id = :Q", DENY),
    ("member cannot edit a readable post", "dave",
     "UPDATE posts SET title = 'x' WHERE id = :Q", DENY),
    ("outsider cannot publish a draft", "erin",
     "UPDATE posts SET status = 'published' WHERE id = :D", DENY),
    ("nobody reassigns authorship", "alice",
     "UPDATE posts SET author_id = :bob WHERE id = :D", DENY),
    ("author deletes own draft", "alice", "DELETE FROM posts WHERE id = :D", ALLOW),
    ("others cannot delete it", "bob", "DELETE FROM posts WHERE id = :Q", DENY),
    ("write a post as yourself", "erin",
     f"INSERT INTO posts (id, author_id, title, status, is_public, created_at, updated_at,"
     f" version) VALUES ({NEW}, :erin, 't', 'draft', true, {NOW}, {NOW}, 1)", ALLOW),
    ("write a post as someone else", "erin",
     f"INSERT INTO posts (id, author_id, title, status, is_public, created_at, updated_at,"
     f" version) VALUES ({NEW}, :alice, 't', 'draft', true, {NOW}, {NOW}, 1)", DENY),
    # shares
    ("author shares own draft", "carol",
     "INSERT INTO post_collectives (id, post_id, collective_id, status, display_order)"
     f" VALUES ({NEW}, :T, :C, 'draft', 0)", ALLOW),
    ("a member cannot insert a share of another's post", "dave",
     "INSERT INTO post_collectives (id, post_id, collective_id, status, display_order)"
     f" VALUES ({NEW}, :D, :C, 'published', 0)", DENY),
    ("an outsider cannot share into a collective", "erin",
     "INSERT INTO post_collectives (id, post_id, collective_id, status, display_order)"
     f" VALUES ({NEW}, :D, :C, 'draft', 0)", DENY),
    ("pending share visible to the author", "alice",
     "SELECT 1 FROM post_collectives WHERE id = :share_R", ALLOW),
    ("pending share visible to the moderator", "bob",
     "SELECT 1 FROM post_collectives WHERE id = :share_R", ALLOW),
    ("pending share invisible to a member", "dave",
     "SELECT 1 FROM post_collectives WHERE id = :share_R", DENY),
    ("published share visible to a reader of its post", "dave",
     "SELECT 1 FROM post_collectives WHERE id = :share_Q", ALLOW),
    ("published private share invisible to outsider", "erin",
     "SELECT 1 FROM post_collectives WHERE id = :share_Q", DENY),
    # found in review: nobody skips moderation, no draft selection is touched
    ("a contributor cannot approve her own pending share", "carol",
     "UPDATE post_collectives SET status = 'published' WHERE id = :share_S", DENY),
    ("a contributor may resubmit (pending) but not publish directly", "carol",
     "INSERT INTO post_collectives (id, post_id, collective_id, status, display_order)"
     f" VALUES ({NEW}, :T, :C, 'published', 0)", DENY),
    ("a contributor's share may wait for review", "carol",
     "INSERT INTO post_collectives (id, post_id, collective_id, status, display_order)"
     f" VALUES ({NEW}, :T, :C, 'pending_approval', 0)", ALLOW),
    ("a moderator cannot publish a draft selection", "bob",
     "UPDATE post_collectives SET status = 'published' WHERE id = :share_D", DENY),
    ("an editor cannot delete someone's draft selection", "bob",
     "DELETE FROM post_collectives WHERE id = :share_D", DENY),
    ("an admin cannot delete someone's draft selection", "frank",
     "DELETE FROM post_collectives WHERE id = :share_D", DENY),
    ("the author deletes her own draft selection", "alice",
     "DELETE FROM post_collectives WHERE id = :share_D", ALLOW),
    ("a non-member does not see which collectives a public post is in", "erin",
     "SELECT 1 FROM post_collectives WHERE id = :share_P", DENY),
    ("an admin cannot add a second owner", "frank",
     "INSERT INTO collective_members (id, collective_id, member_id, role, created_at)"
     f" VALUES ({NEW}, :C, :erin, 'owner', {NOW})", DENY),
    ("the owner cannot add a second owner either", "alice",
     "INSERT INTO collective_members (id, collective_id, member_id, role, created_at)"
     f" VALUES ({NEW}, :C, :erin, 'owner', {NOW})", DENY),
    ("an admin cannot make admins", "frank",
     "UPDATE collective_members SET role = 'admin' WHERE member_id = :dave", DENY),
    ("an admin cannot add an admin", "frank",
     "INSERT INTO collective_members (id, collective_id, member_id, role, created_at)"
     f" VALUES ({NEW}, :C, :erin, 'admin', {NOW})", DENY),
    ("an admin adds an author", "frank",
     "INSERT INTO collective_members (id, collective_id, member_id, role, created_at)"
     f" VALUES ({NEW}, :C, :erin, 'author', {NOW})", ALLOW),
    ("an admin cannot demote the owner", "frank",
     "UPDATE collective_members SET role = 'admin' WHERE member_id = :alice", DENY),
    ("an admin cannot take the collective", "frank",
     "UPDATE collectives SET owner_id = :frank WHERE id = :C", DENY),
    ("the owner removes an admin", "alice",
     "DELETE FROM collective_members WHERE member_id = :frank", ALLOW),
    ("moderator approves", "bob",
     "UPDATE post_collectives SET status = 'published' WHERE id = :share_R", ALLOW),
    ("member cannot approve", "dave",
     "UPDATE post_collectives SET status = 'published' WHERE id = :share_R", DENY),
    ("moderator removes a share", "bob", "DELETE FROM post_collectives WHERE id = :share_Q",
     ALLOW),
    ("member cannot remove a share", "dave",
     "DELETE FROM post_collectives WHERE id = :share_Q", DENY),
    ("outsider cannot remove a share", "erin",
     "DELETE FROM post_collectives WHERE id = :share_P", DENY),
    # memberships
    ("member sees fellow members", "dave",
     "SELECT 1 FROM collective_members WHERE collective_id = :C AND member_id = :bob", ALLOW),
    ("outsider sees no memberships", "erin",
     "SELECT 1 FROM collective_members WHERE collective_id = :C", DENY),
    ("member cannot add members", "dave",
     "INSERT INTO collective_members (id, collective_id, member_id, role, created_at)"
     f" VALUES ({NEW}, :C, :erin, 'member', {NOW})", DENY),
    ("outsider cannot join by themself", "erin",
     "INSERT INTO collective_members (id, collective_id, member_id, role, created_at)"
     f" VALUES ({NEW}, :C, :erin, 'admin', {NOW})", DENY),
    ("owner adds members", "alice",
     "INSERT INTO collective_members (id, collective_id, member_id, role, created_at)"
     f" VALUES ({NEW}, :C, :erin, 'member', {NOW})", ALLOW),
    ("editor cannot change roles", "bob",
     "UPDATE collective_members SET role = 'admin' WHERE member_id = :bob", DENY),
    ("owner changes roles", "alice",
     "UPDATE collective_members SET role = 'author' WHERE member_id = :dave", ALLOW),
    ("nobody removes the owner", "alice",
     "DELETE FROM collective_members WHERE member_id = :alice", DENY),
    ("a member may leave", "dave", "DELETE FROM collective_members WHERE member_id = :dave",
     ALLOW),
    ("a member cannot remove another", "dave",
     "DELETE FROM collective_members WHERE member_id = :bob", DENY),
    ("member cannot change settings", "dave",
     "UPDATE collectives SET require_approval = true WHERE id = :C", DENY),
    ("owner changes settings", "alice",
     "UPDATE collectives SET require_approval = true WHERE id = :C", ALLOW),
    # revisions
    ("author reads revisions", "alice", "SELECT 1 FROM post_revisions WHERE id = :rev_D", ALLOW),
    ("others cannot read revisions", "bob", "SELECT 1 FROM post_revisions WHERE id = :rev_D",
     DENY),
    ("others cannot write revisions", "bob",
     "INSERT INTO post_revisions (id, post_id, version, title, subtitle, content, saved_at)"
     f" VALUES ({NEW}, :D, 9, 'x', '', '', {NOW})", DENY),
    # audit: append-only
    ("actor reads own event", "alice", "SELECT 1 FROM audit_events WHERE id = :audit_c", ALLOW),
    ("member cannot read collective events", "dave",
     "SELECT 1 FROM audit_events WHERE id = :audit_c", DENY),
    ("outsider cannot read events", "erin", "SELECT 1 FROM audit_events WHERE id = :audit_d",
     DENY),
    ("append an event as yourself", "dave",
     f"INSERT INTO audit_events (id, at, actor_id, action) VALUES ({NEW}, {NOW}, :dave, 'x')",
     ALLOW),
    ("append an event crediting someone else", "dave",
     f"INSERT INTO audit_events (id, at, actor_id, action) VALUES ({NEW}, {NOW}, :alice, 'x')",
     DENY),
    ("the actor cannot update an event", "alice",
     "UPDATE audit_events SET action = 'y' WHERE id = :audit_c", DENY),
    ("the actor cannot delete an event", "alice",
     "DELETE FROM audit_events WHERE id = :audit_c", DENY),
    ("the post's author cannot delete an event", "alice",
     "DELETE FROM audit_events WHERE id = :audit_d", DENY),
    # server tables
    ("own idempotency record", "alice", "SELECT 1 FROM idempotency_keys WHERE key = 'k'", ALLOW),
    ("another's idempotency record", "bob", "SELECT 1 FROM idempotency_keys WHERE key = 'k'",
     DENY),
    ("own token rows", "alice", "SELECT 1 FROM api_tokens WHERE id = :tok_alice", ALLOW),
    ("another's token rows", "bob", "SELECT 1 FROM api_tokens WHERE id = :tok_alice", DENY),
    ("revoke another's token", "bob",
     "UPDATE api_tokens SET revoked_at = now() WHERE id = :tok_alice", DENY),
    ("password hashes, even one's own", "alice", "SELECT 1 FROM user_passwords", DENY),
    ("user names are shared", "erin", "SELECT 1 FROM users WHERE id = :alice", ALLOW),
    ("nobody edits another's profile", "erin",
     "UPDATE users SET display_name = 'x' WHERE id = :alice", DENY),
]

SYSTEM_MATRIX: list[tuple[str, str, str]] = [
    # 0013_server_defence: the old settable flag grants nothing any more.
    ("post001.system = on shows no author's drafts", "SELECT 1 FROM posts WHERE id = :D",
     DENY),
    ("post001.system = on changes no draft",
     "UPDATE posts SET title = 'x' WHERE id = :D", DENY),
    ("post001.system = on cannot rewrite history",
     "UPDATE audit_events SET action = 'y' WHERE id = :audit_c", DENY),
    ("post001.system = on cannot delete history",
     "DELETE FROM audit_events WHERE id = :audit_c", DENY),
    ("post001.system = on cannot read password hashes", "SELECT 1 FROM user_passwords",
     DENY),
]


def test_rls_matrix(admin: sa.Engine, world: World) -> None:
    actual = {case: _attempt(admin, world, actor, sql) for case, actor, sql, _ in MATRIX}
    expected = {case: want for case, _, _, want in MATRIX}
    wrong = {case: (actual[case], expected[case]) for case in expected
             if actual[case] != expected[case]}
    assert wrong == {}, "\n".join(f"{c}: got {a}, expected {e}" for c, (a, e) in wrong.items())


def test_system_setting_matrix(admin: sa.Engine, world: World) -> None:
    actual = {case: _attempt(admin, world, None, sql, system=True)
              for case, sql, _ in SYSTEM_MATRIX}
    assert actual == {case: want for case, _, want in SYSTEM_MATRIX}


def test_every_user_table_forces_rls_and_the_app_role_bypasses_nothing(admin: sa.Engine
                                                                        ) -> None:
    with admin.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class "
            "WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace")).all()
        role = conn.execute(sa.text(
            "SELECT rolsuper, rolbypassrls, rolcanlogin FROM pg_roles "
            "WHERE rolname = 'post001_app'")).one()
        owned = conn.execute(sa.text(
            "SELECT count(*) FROM pg_tables WHERE tableowner = 'post001_app'")).scalar()
        audit_grants = {r[0] for r in conn.execute(sa.text(
            "SELECT privilege_type FROM information_schema.role_table_grants "
            "WHERE grantee = 'post001_app' AND table_name = 'audit_events'"))}
    flags = {r.relname: (r.relrowsecurity, r.relforcerowsecurity) for r in rows}
    for table in ("users", "collectives", "collective_members", "posts", "post_collectives",
                  "post_revisions", "audit_events", "idempotency_keys", "user_passwords",
                  "api_tokens"):
        assert flags[table] == (True, True), table
    assert (role.rolsuper, role.rolbypassrls, role.rolcanlogin) == (False, False, False)
    assert owned == 0
    assert audit_grants == {"SELECT", "INSERT"}


# --- 0013_server_defence ------------------------------------------------------------------


@contextlib.contextmanager
def _scratch_role(admin: sa.Engine, member_of: str | None = None) -> Iterator[str]:
    """A throwaway NOLOGIN role (roles are cluster-wide: a unique name, dropped after)."""
    name = f"post001_t_{uuid.uuid4().hex[:10]}"
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE ROLE {name} NOLOGIN NOBYPASSRLS"))
        if member_of:
            conn.execute(sa.text(f"GRANT {member_of} TO {name}"))
    try:
        yield name
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f"DROP OWNED BY {name}"))
            conn.execute(sa.text(f"DROP ROLE {name}"))


def _as_role(admin: sa.Engine, role: str, user: uuid.UUID | None, sql: str,
             params: dict[str, object]) -> str:
    with admin.connect() as conn, conn.begin() as tx:
        try:
            conn.execute(sa.text(f"SET LOCAL ROLE {role}"))
            if user is not None:
                conn.execute(sa.text("SELECT set_config('post001.user_id', :u, true)"),
                             {"u": str(user)})
            result = conn.execute(sa.text(sql), params)
            if sql.lstrip().upper().startswith("SELECT"):
                return ALLOW if result.first() is not None else DENY
            return ALLOW if result.rowcount > 0 else DENY
        except sa_exc.DBAPIError:
            return DENY
        finally:
            tx.rollback()


def test_credential_lookups_are_for_the_app_role_only(admin: sa.Engine, world: World) -> None:
    lookup = "SELECT * FROM post001_password_lookup('alice')"
    assert _as_role(admin, "post001_app", None, lookup, {}) == ALLOW
    with _scratch_role(admin) as stranger:
        assert _as_role(admin, stranger, None, lookup, {}) == DENY
        assert _as_role(admin, stranger, None, "SELECT * FROM post001_token_lookup('h')",
                        {}) == DENY
    with admin.connect() as conn:
        public = conn.execute(sa.text(
            "SELECT p.proname FROM pg_proc p WHERE p.proname LIKE 'post001%' "
            "AND p.prosecdef AND has_function_privilege('public', p.oid, 'EXECUTE')")).all()
    assert public == []


def test_guards_hold_for_a_role_with_another_name(admin: sa.Engine, world: World) -> None:
    """bob edits C, where alice's P is published: RLS lets a moderator touch the row (to
    remove a share), the guard refuses any other change, whatever the role is called."""
    change = "UPDATE posts SET title = 'defaced' WHERE id = :P"
    params = {"P": str(world.ids["P"])}
    assert _as_role(admin, "post001_app", world.ids["bob"], change, params) == DENY
    with _scratch_role(admin, member_of="post001_app") as renamed:
        assert _as_role(admin, renamed, world.ids["bob"], change, params) == DENY
        own = "UPDATE posts SET title = 'mine' WHERE id = :P"
        assert _as_role(admin, renamed, world.ids["alice"], own, params) == ALLOW


def test_managers_do_not_read_other_authors_draft_selections(admin: sa.Engine,
                                                             world: World) -> None:
    ids = world.ids
    events = {"draft_added": ("share.added", "D", {"new_values": '{"status": "draft"}'}),
              "draft_removed": ("share.removed", "D", {"old_values": '{"status": "draft"}'}),
              "published_added": ("share.added", "P",
                                  {"new_values": '{"status": "published"}'})}
    with admin.begin() as conn:
        for key, (action, post, values) in events.items():
            ids[key] = uuid.uuid4()
            conn.execute(sa.text(
                "INSERT INTO audit_events (id, at, actor_id, action, post_id, collective_id,"
                " old_values, new_values) VALUES (:id, :t, :a, :action, :p, :c,"
                " CAST(:old AS jsonb), CAST(:new AS jsonb))"),
                {"id": ids[key], "t": T0, "a": ids["alice"], "action": action,
                 "p": ids[post], "c": ids["C"], "old": values.get("old_values"),
                 "new": values.get("new_values")})
    read = "SELECT 1 FROM audit_events WHERE id = :e"
    seen = {key: _as_role(admin, "post001_app", ids["frank"], read, {"e": str(ids[key])})
            for key in events}
    assert seen == {"draft_added": DENY, "draft_removed": DENY, "published_added": ALLOW}
    assert _as_role(admin, "post001_app", ids["alice"], read,
                    {"e": str(ids["draft_added"])}) == ALLOW
