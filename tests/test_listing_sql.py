"""The SQL side of the listing: ties on updated_at, no bodies read, the 0012 backfill."""

from __future__ import annotations

import sqlite3
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

import post001
from post001 import PostCreate
from post001.core.errors import DatabaseError
from post001.core.sql import tables as t
from post001.core.sql.engine import make_engine
from post001.core.sql.schema import HEAD_REVISION, current_revision, upgrade
from post001.core.sql.store import open_sql_store
from post001.core.text import post_slug, word_count

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def test_ties_on_updated_at_are_settled_by_id(db_url: str) -> None:
    store = post001.connect(db_url, user="alice")
    try:
        ids = [store.create_post(PostCreate(title=f"p{i}")).id for i in range(5)]
        same = datetime(2026, 2, 1, 12, 0, tzinfo=UTC)
        engine = make_engine(db_url)
        with engine.begin() as conn:
            conn.execute(t.posts.update().values(updated_at=same))
        engine.dispose()
        seen: list[uuid.UUID] = []
        cursor = None
        while True:
            page = store.posts_page(2, cursor)
            seen += [p.id for p in page.items]
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        assert seen == sorted(ids, reverse=True)
    finally:
        store.close()


def test_the_listing_never_reads_bodies(sqlite_url: str) -> None:
    """SQLite's authorizer refuses any statement that reads posts.content."""
    with post001.connect(sqlite_url, user="alice") as writer:
        writer.create_post(PostCreate(title="t", content="a body that stays on disk"))

    def no_bodies(action: int, table: str | None, column: str | None, *_: Any) -> int:
        if action == sqlite3.SQLITE_READ and (table, column) == ("posts", "content"):
            return sqlite3.SQLITE_DENY
        return sqlite3.SQLITE_OK

    engine = make_engine(sqlite_url)
    sa.event.listen(engine, "connect",
                    lambda dbapi_conn, _record: dbapi_conn.set_authorizer(no_bodies))
    store = open_sql_store(sqlite_url, "alice", engine=engine, migrate=False)
    try:
        [summary] = store.posts_page().items
        assert summary.word_count == 6
        assert [p.id for p in store.list_posts()] == [summary.id]
        with pytest.raises(DatabaseError):  # the guard is real: reading a post needs it
            store.get_post(summary.id)
    finally:
        store.close()
        engine.dispose()


@pytest.fixture(params=BACKENDS)
def empty_url(request: pytest.FixtureRequest) -> str:
    fixture = "sqlite_empty_url" if request.param == "sqlite" else "pg_empty_url"
    return str(request.getfixturevalue(fixture))


def test_upgrade_counts_the_words_of_existing_posts(empty_url: str) -> None:
    engine = make_engine(empty_url)
    try:
        upgrade(engine, "0011_save_counts")
        author = uuid.uuid4()
        now = datetime(2025, 3, 1, tzinfo=UTC)
        bodies = ["", "one", "Crème brûlée  at\n\ndawn", "x " * 1200]
        posts = sa.table("posts", *(sa.column(c, t.posts.c[c].type) for c in (
            "id", "author_id", "title", "content", "status", "slug", "created_at",
            "updated_at", "version")))
        ids = [uuid.uuid4() for _ in bodies]
        with engine.begin() as conn:
            conn.execute(t.users.insert().values(id=author, username="writer", created_at=now))
            for pid, body in zip(ids, bodies, strict=True):
                conn.execute(posts.insert().values(
                    id=pid, author_id=author, title="t", content=body, status="draft",
                    slug=post_slug("t", pid), created_at=now, updated_at=now, version=1))
        upgrade(engine, HEAD_REVISION)
        assert current_revision(engine) == HEAD_REVISION
        with engine.connect() as conn:
            counts = dict(conn.execute(sa.select(t.posts.c.id, t.posts.c.word_count)).all())
            versions = set(conn.execute(sa.select(t.posts.c.version)).scalars())
        assert counts == {pid: word_count(body) for pid, body in zip(ids, bodies, strict=True)}
        assert counts[ids[3]] == 1200
        assert versions == {1}  # counting is not a save
    finally:
        engine.dispose()
