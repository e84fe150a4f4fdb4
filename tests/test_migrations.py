"""Alembic migrations: a populated legacy database upgrades with nothing lost, on SQLite
and PostgreSQL; the migrated schema is exactly tables.metadata; search indexes only
published posts.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from post001.core.sql import tables
from post001.core.sql.engine import make_engine
from post001.core.sql.schema import (
    HEAD_REVISION,
    alembic_config,
    current_revision,
    ensure_schema,
    history,
    include_name,
    upgrade,
)
from post001.core.text import post_slug

REVISIONS = [
    "0001_legacy", "0002_redesign", "0003_legacy_shares", "0004_search",
    "0005_revision_snapshots", "0006_auth_rls", "0007_one_owner", "0008_listing",
    "0009_client_writes", "0010_server_hardening", "0011_save_counts",
    "0012_listing_counts", "0013_server_defence",
]
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(params=BACKENDS)
def empty_url(request: pytest.FixtureRequest) -> str:
    """An empty database of each backend."""
    fixture = "sqlite_empty_url" if request.param == "sqlite" else "pg_empty_url"
    return str(request.getfixturevalue(fixture))


@pytest.fixture
def engine(empty_url: str) -> Iterator[sa.Engine]:
    engine = make_engine(empty_url)
    yield engine
    engine.dispose()


def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())  # type: ignore[arg-type]


def _alembic(engine: sa.Engine, action: Callable[..., None], revision: str) -> None:
    """Run an Alembic command on this engine the way schema.upgrade does."""
    cfg = alembic_config()
    with engine.connect() as conn:
        sqlite = engine.dialect.name == "sqlite"
        if sqlite:  # batch rebuilds must not cascade into child tables
            conn.connection.dbapi_connection.execute("PRAGMA foreign_keys = OFF")  # type: ignore[union-attr]
        try:
            with conn.begin():
                cfg.attributes["connection"] = conn  # type: ignore[attr-defined]
                action(cfg, revision)
        finally:
            if sqlite:
                conn.connection.dbapi_connection.execute("PRAGMA foreign_keys = ON")  # type: ignore[union-attr]


# --- the legacy platform's data --------------------------------------------------------

def _legacy_tables() -> dict[str, sa.TableClause]:
    ts = tables.UTCDateTime
    return {
        "users": sa.table("users", sa.column("id", sa.Uuid()), sa.column("username"),
                          sa.column("display_name"), sa.column("created_at", ts())),
        "collectives": sa.table("collectives", sa.column("id", sa.Uuid()), sa.column("slug"),
                                sa.column("name"), sa.column("description"),
                                sa.column("owner_id", sa.Uuid()),
                                sa.column("created_at", ts())),
        "collective_members": sa.table(
            "collective_members", sa.column("id", sa.Uuid()),
            sa.column("collective_id", sa.Uuid()), sa.column("member_id", sa.Uuid()),
            sa.column("role"), sa.column("created_at", ts())),
        "posts": sa.table("posts", sa.column("id", sa.Uuid()), sa.column("author_id", sa.Uuid()),
                          sa.column("collective_id", sa.Uuid()), sa.column("title"),
                          sa.column("subtitle"), sa.column("content"), sa.column("status"),
                          sa.column("is_public", sa.Boolean()),
                          sa.column("published_at", ts()), sa.column("created_at", ts()),
                          sa.column("updated_at", ts())),
    }


class Legacy:
    """What was written into the legacy database, to compare the upgrade against."""

    def __init__(self) -> None:
        ids = {name: uuid.uuid4() for name in ("alice", "bob", "carol", "essays", "poems")}
        self.ids = ids
        self.users = [
            {"id": ids[n], "username": n, "display_name": n.title(),
             "created_at": T0 + timedelta(minutes=i)}
            for i, n in enumerate(("alice", "bob", "carol"))
        ]
        self.collectives = [
            {"id": ids["essays"], "slug": "essays", "name": "Essays", "description": "Long",
             "owner_id": ids["alice"], "created_at": T0 + timedelta(hours=1)},
            {"id": ids["poems"], "slug": "poems", "name": "Poems", "description": None,
             "owner_id": ids["bob"], "created_at": T0 + timedelta(hours=2)},
        ]
        self.members = [
            {"id": uuid.uuid4(), "collective_id": ids[c], "member_id": ids[u], "role": role,
             "created_at": T0 + timedelta(hours=3)}
            for c, u, role in (("essays", "alice", "owner"), ("essays", "bob", "admin"),
                               ("essays", "carol", "author"), ("poems", "bob", "owner"),
                               ("poems", "alice", "editor"))
        ]
        # (author, collective, legacy status, published_at, title)
        specs: list[tuple[str, str | None, str, datetime | None, str]] = [
            ("alice", "essays", "active", T0 + timedelta(days=1), "On Walking"),
            ("alice", None, "active", T0 + timedelta(days=2), "Solo Piece"),
            ("alice", "poems", "draft", None, "Unfinished Ode"),
            ("bob", None, "draft", None, "Notes"),
            ("carol", "essays", "removed", T0 + timedelta(days=3), "Retracted"),
            ("bob", None, "removed", None, "Gone"),
            ("bob", "poems", "active", None, "Same Title"),  # published, no published_at
            ("carol", "essays", "draft", None, "Same Title"),
        ]
        self.posts = [
            {"id": uuid.uuid4(), "author_id": ids[a], "collective_id": ids[c] if c else None,
             "title": title, "subtitle": f"sub {i}", "content": f"# {title}\n\nbody {i} ünïcode",
             "status": status, "is_public": i % 2 == 0, "published_at": published,
             "created_at": T0 + timedelta(days=i, hours=5),
             "updated_at": T0 + timedelta(days=i, hours=6)}
            for i, (a, c, status, published, title) in enumerate(specs)
        ]

    def insert(self, conn: sa.Connection) -> None:
        t = _legacy_tables()
        conn.execute(t["users"].insert(), self.users)
        conn.execute(t["collectives"].insert(), self.collectives)
        conn.execute(t["collective_members"].insert(), self.members)
        conn.execute(t["posts"].insert(), self.posts)

    def expected_shares(self) -> set[tuple[Any, ...]]:
        shares = set()
        for p in self.posts:
            if p["collective_id"] is None:
                continue
            published = p["status"] == "active"
            shared_at = (p["published_at"] or p["created_at"]) if published else None
            shares.add((p["id"], p["collective_id"], "published" if published else "draft",
                        p["author_id"], shared_at, 0))
        return shares


@pytest.fixture
def legacy(engine: sa.Engine) -> Legacy:
    """A populated database at 0001_legacy."""
    upgrade(engine, "0001_legacy")
    assert current_revision(engine) == "0001_legacy"
    data = Legacy()
    with engine.begin() as conn:
        data.insert(conn)
    return data


def _count(conn: sa.Connection, table: str) -> int:
    return int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


def _shares(conn: sa.Connection) -> set[tuple[Any, ...]]:
    s = tables.shares
    rows = conn.execute(sa.select(s.c.post_id, s.c.collective_id, s.c.status, s.c.shared_by,
                                  s.c.shared_at, s.c.display_order))
    return {tuple(r) for r in rows}


def _legacy_audit(conn: sa.Connection) -> list[sa.Row[Any]]:
    a = tables.audit
    return list(conn.execute(
        sa.select(a.c.actor_id, a.c.post_id, a.c.collective_id, a.c.new_values, a.c.at)
        .where(a.c.action == "share.legacy_migrated")
    ))


# --- upgrading a populated legacy database ---------------------------------------------

def test_legacy_database_upgrades_with_nothing_lost(engine: sa.Engine, legacy: Legacy) -> None:
    before = datetime.now(UTC)
    upgrade(engine)
    assert current_revision(engine) == HEAD_REVISION

    with engine.connect() as conn:
        assert _count(conn, "users") == len(legacy.users)
        assert _count(conn, "collectives") == len(legacy.collectives)
        assert _count(conn, "collective_members") == len(legacy.members)
        assert _count(conn, "posts") == len(legacy.posts)

        users = {r.id: r for r in conn.execute(sa.select(tables.users))}
        for u in legacy.users:
            assert (users[u["id"]].username, users[u["id"]].display_name,
                    users[u["id"]].created_at) == (u["username"], u["display_name"],
                                                   u["created_at"])

        collectives = {r.id: r for r in conn.execute(sa.select(tables.collectives))}
        for c in legacy.collectives:
            row = collectives[c["id"]]
            assert (row.slug, row.name, row.description, row.owner_id) == (
                c["slug"], c["name"], c["description"], c["owner_id"])
            assert row.updated_at == row.created_at == c["created_at"]
            assert row.require_approval is False

        members = {(r.collective_id, r.member_id, r.role)
                   for r in conn.execute(sa.select(tables.members))}
        assert members == {(m["collective_id"], m["member_id"], m["role"])
                           for m in legacy.members}

        posts = {r.id: r for r in conn.execute(sa.select(tables.posts))}
        mapping = {"active": "published", "removed": "archived", "draft": "draft"}
        for p in legacy.posts:
            row = posts[p["id"]]
            for field in ("author_id", "collective_id", "title", "subtitle", "content",
                          "is_public", "created_at", "updated_at"):
                assert getattr(row, field) == p[field], field
            assert row.status == mapping[p["status"]]
            expected_published_at = p["published_at"]
            if p["status"] == "active" and expected_published_at is None:
                expected_published_at = p["created_at"]
            assert row.published_at == expected_published_at
            assert row.slug == post_slug(p["title"], p["id"])
            assert (row.version, row.post_type, row.publish_at) == (1, "text", None)
        assert len({r.slug for r in posts.values()}) == len(posts)

        assert _shares(conn) == legacy.expected_shares()

        events = _legacy_audit(conn)
        authors = {p["id"]: p["author_id"] for p in legacy.posts}
        share_status = {(s[0], s[1]): s[2] for s in legacy.expected_shares()}
        assert len(events) == len(share_status)
        for actor_id, post_id, collective_id, new_values, at in events:
            assert actor_id == authors[post_id]  # the author, never "whoever migrated"
            assert new_values == {"status": share_status[(post_id, collective_id)]}
            assert at >= before - timedelta(seconds=5)


def test_legacy_share_migration_is_idempotent(engine: sa.Engine, legacy: Legacy) -> None:
    upgrade(engine)
    with engine.connect() as conn:
        shares, events = _shares(conn), _legacy_audit(conn)
    assert shares == legacy.expected_shares()

    # Re-run the revision for real: stamp back to 0002, upgrade through 0003 again.
    _alembic(engine, command.stamp, "0002_redesign")
    upgrade(engine, "0003_legacy_shares")
    _alembic(engine, command.stamp, HEAD_REVISION)
    # And its function directly, a third time.
    migrate = _scripts().get_revision("0003_legacy_shares").module.migrate_legacy_shares
    with engine.begin() as conn:
        assert migrate(conn) == 0

    with engine.connect() as conn:
        assert _count(conn, "post_collectives") == len(shares)
        assert _shares(conn) == shares
        assert len(_legacy_audit(conn)) == len(events)


def test_existing_share_is_kept_and_not_duplicated(engine: sa.Engine, legacy: Legacy) -> None:
    """A post whose share already exists (made by the new code) gets nothing twice."""
    upgrade(engine, "0002_redesign")
    post = next(p for p in legacy.posts if p["status"] == "active" and p["collective_id"])
    with engine.begin() as conn:
        conn.execute(tables.shares.insert().values(
            id=uuid.uuid4(), post_id=post["id"], collective_id=post["collective_id"],
            status="pending_approval", shared_by=post["author_id"], display_order=3))
    upgrade(engine)

    with engine.connect() as conn:
        shares = _shares(conn)
        events = _legacy_audit(conn)
    kept = (post["id"], post["collective_id"], "pending_approval", post["author_id"], None, 3)
    expected = {s for s in legacy.expected_shares() if s[0] != post["id"]} | {kept}
    assert shares == expected
    assert post["id"] not in {e.post_id for e in events}
    assert len(events) == len(expected) - 1


def test_downgrade_to_legacy_and_back(engine: sa.Engine, legacy: Legacy) -> None:
    upgrade(engine)
    _alembic(engine, command.downgrade, "0001_legacy")
    assert current_revision(engine) == "0001_legacy"
    with engine.connect() as conn:
        statuses = dict(conn.execute(sa.text("SELECT title, status FROM posts")).all())
        assert _count(conn, "posts") == len(legacy.posts)
        insp = sa.inspect(conn)
        assert "post_collectives" not in insp.get_table_names()
        assert "slug" not in {c["name"] for c in insp.get_columns("posts")}
    assert statuses["On Walking"] == "active"
    assert statuses["Retracted"] == "removed"
    assert statuses["Notes"] == "draft"

    upgrade(engine)
    with engine.connect() as conn:
        assert _shares(conn) == legacy.expected_shares()
        assert len(_legacy_audit(conn)) == len(legacy.expected_shares())
    _alembic(engine, command.downgrade, "base")
    with engine.connect() as conn:
        assert set(sa.inspect(conn).get_table_names()) <= {"alembic_version"}


# --- the schema is exactly tables.metadata ---------------------------------------------

def test_head_revision_is_alembic_head() -> None:
    assert _scripts().get_current_head() == HEAD_REVISION


def test_history_lists_every_revision_in_order() -> None:
    entries = history()
    assert [rev for rev, _, _ in entries] == list(reversed(REVISIONS))
    assert [down for _, down, _ in entries] == [*reversed(REVISIONS[:-1]), None]
    assert all(message for _, _, message in entries)


def test_migrated_schema_matches_metadata(engine: sa.Engine) -> None:
    ensure_schema(engine)
    assert current_revision(engine) == HEAD_REVISION
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_name": include_name}
        )
        assert compare_metadata(context, tables.with_postgresql_options()) == []

        # Autogenerate ignores CHECK constraints and may ignore ON DELETE: compare them too.
        insp = sa.inspect(conn)
        for table in tables.metadata.sorted_tables:
            checks = {c.name for c in table.constraints if isinstance(c, sa.CheckConstraint)}
            assert {c["name"] for c in insp.get_check_constraints(table.name)} == checks
            fks = {(fk.parent.name, fk.column.table.name, fk.ondelete)
                   for fk in table.foreign_keys}
            reflected = {(fk["constrained_columns"][0], fk["referred_table"],
                          fk.get("options", {}).get("ondelete"))
                         for fk in insp.get_foreign_keys(table.name)}
            assert reflected == fks, table.name


def test_ensure_schema_is_a_no_op_at_head(engine: sa.Engine) -> None:
    ensure_schema(engine)
    ensure_schema(engine)
    assert current_revision(engine) == HEAD_REVISION


# --- full-text search ------------------------------------------------------------------

def _new_post(conn: sa.Connection, author: uuid.UUID, title: str, status: str,
              content: str = "") -> uuid.UUID:
    post_id = uuid.uuid4()
    conn.execute(tables.posts.insert().values(
        id=post_id, author_id=author, title=title, subtitle="", content=content,
        status=status, slug=post_slug(title, post_id), created_at=T0, updated_at=T0))
    return post_id


def _search_setup(engine: sa.Engine) -> tuple[uuid.UUID, uuid.UUID]:
    ensure_schema(engine)
    author = uuid.uuid4()
    with engine.begin() as conn:
        conn.execute(tables.users.insert().values(id=author, username="writer", created_at=T0))
        published = _new_post(conn, author, "Zebra crossings", "published",
                              "Crème brûlée at dawn")
        draft = _new_post(conn, author, "Zebra sketches", "draft", "half-written")
    return published, draft


def test_sqlite_search_indexes_only_published_posts(sqlite_empty_url: str) -> None:
    engine = make_engine(sqlite_empty_url)
    published, draft = _search_setup(engine)

    def found(word: str) -> set[uuid.UUID]:
        with engine.connect() as conn:
            rowids = conn.execute(
                sa.text("SELECT rowid FROM posts_fts WHERE posts_fts MATCH :q"), {"q": word}
            ).scalars().all()
            if not rowids:
                return set()
            return set(conn.execute(
                sa.select(tables.posts.c.id).where(sa.column("rowid").in_(rowids))
            ).scalars())

    posts = tables.posts
    assert found("zebra") == {published}
    assert found("creme") == {published}  # diacritics removed
    assert found("sketches") == set()

    with engine.begin() as conn:  # publishing the draft indexes it
        conn.execute(posts.update().where(posts.c.id == draft).values(status="published"))
    assert found("zebra") == {published, draft}

    with engine.begin() as conn:  # editing a published post reindexes it
        conn.execute(posts.update().where(posts.c.id == published).values(title="Okapi"))
    assert found("okapi") == {published}
    assert found("zebra") == {draft}

    with engine.begin() as conn:  # unpublishing and deleting drop it
        conn.execute(posts.update().where(posts.c.id == published).values(status="draft"))
        conn.execute(posts.delete().where(posts.c.id == draft))
    assert found("okapi") == found("zebra") == set()
    with engine.connect() as conn:
        assert _count(conn, "posts_fts") == 0
    engine.dispose()


def test_sqlite_search_backfills_published_legacy_posts(sqlite_empty_url: str) -> None:
    engine = make_engine(sqlite_empty_url)
    upgrade(engine, "0001_legacy")
    data = Legacy()
    with engine.begin() as conn:
        data.insert(conn)
    upgrade(engine)
    with engine.connect() as conn:
        titles = set(conn.execute(sa.text(
            "SELECT p.title FROM posts_fts JOIN posts p ON p.rowid = posts_fts.rowid"
        )).scalars())
    assert titles == {p["title"] for p in data.posts if p["status"] == "active"}
    engine.dispose()


@pytest.mark.postgres
def test_postgres_search_vector_only_for_published_posts(pg_empty_url: str) -> None:
    engine = make_engine(pg_empty_url)
    published, draft = _search_setup(engine)
    posts = tables.posts

    def vectors() -> dict[uuid.UUID, str | None]:
        with engine.connect() as conn:
            return dict(conn.execute(  # type: ignore[arg-type]
                sa.text("SELECT id, search_vector::text FROM posts")).all())

    def found(word: str) -> set[uuid.UUID]:
        with engine.connect() as conn:
            return set(conn.execute(sa.text(
                "SELECT id FROM posts WHERE search_vector @@ plainto_tsquery('english', :q)"
            ), {"q": word}).scalars())

    v = vectors()
    assert v[published] is not None and v[draft] is None
    assert "'zebra':1A" in str(v[published])  # title weighs A
    assert found("zebra") == {published}

    with engine.begin() as conn:
        conn.execute(posts.update().where(posts.c.id == draft).values(status="published"))
        conn.execute(posts.update().where(posts.c.id == published).values(status="archived"))
    v = vectors()
    assert v[draft] is not None and v[published] is None
    assert found("sketches") == {draft}
    assert found("crossings") == set()

    with engine.begin() as conn:  # editing a published post recomputes its vector
        conn.execute(posts.update().where(posts.c.id == draft).values(content="giraffes"))
    assert found("giraffe") == {draft}
    engine.dispose()


def test_legacy_owners_become_exactly_one_owner_row(engine: sa.Engine) -> None:
    """The original stored owners as admins, or not at all, and allowed two owners."""
    upgrade(engine, "0001_legacy")
    ids = {n: uuid.uuid4() for n in ("alice", "bob", "carol", "a", "b", "c")}
    lt = _legacy_tables()
    with engine.begin() as conn:
        conn.execute(lt["users"].insert(), [
            {"id": ids[n], "username": n, "display_name": n, "created_at": T0}
            for n in ("alice", "bob", "carol")])
        conn.execute(lt["collectives"].insert(), [
            {"id": ids[c], "slug": c, "name": c, "description": None, "owner_id": ids[o],
             "created_at": T0} for c, o in (("a", "alice"), ("b", "bob"), ("c", "carol"))])
        conn.execute(lt["collective_members"].insert(), [
            {"id": uuid.uuid4(), "collective_id": ids[c], "member_id": ids[u], "role": r,
             "created_at": T0}
            for c, u, r in (("a", "alice", "admin"),  # owner stored as admin
                            ("a", "bob", "admin"),
                            ("b", "alice", "owner"),  # someone else holds "owner"
                            ("c", "carol", "owner"))]  # already right
        )
    upgrade(engine)
    m = tables.members
    with engine.connect() as conn:
        roles = {(r.collective_id, r.member_id): r.role
                 for r in conn.execute(sa.select(m.c.collective_id, m.c.member_id, m.c.role))}
        events = conn.execute(sa.select(tables.audit.c.action, tables.audit.c.collective_id)
                              .where(tables.audit.c.request_id == "0007_one_owner")).all()
    assert roles == {
        (ids["a"], ids["alice"]): "owner", (ids["a"], ids["bob"]): "admin",
        (ids["b"], ids["alice"]): "admin", (ids["b"], ids["bob"]): "owner",
        (ids["c"], ids["carol"]): "owner",
    }
    assert sorted((a, c) for a, c in events) == sorted([
        ("member.role_changed", ids["a"]), ("member.role_changed", ids["b"]),
        ("member.added", ids["b"])])
    with engine.begin() as conn, pytest.raises(sa.exc.IntegrityError):
        conn.execute(m.update().where(m.c.collective_id == ids["a"],
                                      m.c.member_id == ids["bob"]).values(role="owner"))
