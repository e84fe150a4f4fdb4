"""What only the SQL store promises: settings and flags it reads, round trips, durability
settings, the embedded default database and the composition root."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event

import post001
from post001 import (
    CollectiveCreate,
    ConflictError,
    NotFoundError,
    PostCreate,
    PostUpdate,
    Role,
    ShareStatus,
    ValidationError,
)
from post001.core.config import FeatureFlags, Settings, rollout_bucket
from post001.core.sql.store import SqlStore


def _team(url: str, clock: Any, *, collectives: int, **kwargs: Any) -> SqlStore:
    alice = post001.connect(url, user="alice", clock=clock, **kwargs)
    assert isinstance(alice, SqlStore)
    for i in range(collectives):
        alice.create_collective(CollectiveCreate(slug=f"c{i}", name=f"Collective {i}"))
    return alice


def test_limits_come_from_settings(db_url: str, clock: Any) -> None:
    settings = Settings(max_collectives_per_post=2, max_content_chars=10)
    alice = _team(db_url, clock, collectives=3, settings=settings)
    assert alice.limits() == (2, 10)
    with pytest.raises(ValidationError) as caught:
        alice.create_post(PostCreate(title="t", collectives=["c0", "c1", "c2"]))
    assert caught.value.field == "collectives" and "limit is 2" in caught.value.message
    post = alice.create_post(PostCreate(title="t", content="short", collectives=["c0", "c1"]))
    with pytest.raises(ValidationError) as caught:
        alice.add_share(post.id, "c2")
    assert caught.value.field == "collectives"
    with pytest.raises(ValidationError) as caught:
        alice.save_draft(post.id, PostUpdate(content="x" * 11), expected_version=1)
    assert caught.value.field == "content"
    assert "11" in caught.value.message and "10" in caught.value.message
    assert alice.get_post(post.id).content == "short"
    alice.close()


def test_legacy_mode_allows_one_collective_and_mirrors_it(db_url: str, clock: Any) -> None:
    flags = FeatureFlags(enable_multi_collective=False)
    alice = _team(db_url, clock, collectives=2, flags=flags)
    assert not alice.multi_collective()
    with pytest.raises(ValidationError) as caught:
        alice.create_post(PostCreate(title="t", collectives=["c0", "c1"]))
    assert caught.value.field == "collectives"
    post = alice.create_post(PostCreate(title="t", content="body", collectives=["c0"]))
    c0 = alice.get_collective("c0")
    assert post.collective_id == c0.id  # older readers still find it
    post = alice.set_collectives(post.id, ["c1"])
    assert post.collective_id == alice.get_collective("c1").id
    published = alice.publish(post.id).post
    assert [(s.collective, s.status) for s in published.shares] == [
        ("c1", ShareStatus.PUBLISHED)]
    alice.close()


def test_the_legacy_column_mirrors_a_share_in_the_multi_collective_flow_too(
        db_url: str, clock: Any) -> None:
    """So turning multi-collective off (or going back to the old platform) still finds
    every post in one of its collectives."""
    alice = _team(db_url, clock, collectives=3)
    ids = {f"c{i}": alice.get_collective(f"c{i}").id for i in range(3)}
    post = alice.create_post(PostCreate(title="t", content="b", collectives=["c0", "c1"]))
    assert post.collective_id == ids["c0"]
    assert alice.set_collectives(post.id, ["c1", "c2"]).collective_id == ids["c1"]
    assert alice.add_share(post.id, "c0").collective_id == ids["c1"]
    after = alice.remove_share(post.id, "c1")
    assert after is not None and after.collective_id in {ids["c2"], ids["c0"]}
    assert after.collective_id in {s.collective_id for s in after.shares}
    alice.close()


def test_removing_the_legacy_collective_clears_the_mirror_in_any_mode(
        db_url: str, clock: Any) -> None:
    legacy = _team(db_url, clock, collectives=1,
                   flags=FeatureFlags(enable_multi_collective=False))
    post = legacy.create_post(PostCreate(title="t", content="b", collectives=["c0"]))
    assert post.collective_id is not None
    modern = post001.connect(db_url, user="alice", clock=clock)
    cleared = modern.set_collectives(post.id, [])
    assert cleared.collective_id is None and cleared.shares == []
    for store in (legacy, modern):
        store.close()


def test_rollout_percentage_picks_the_legacy_flow_per_user(db_url: str, clock: Any) -> None:
    alice = _team(db_url, clock, collectives=0)
    bucket = rollout_bucket(alice.me().id)
    inside = post001.connect(db_url, user="alice", clock=clock,
                             flags=FeatureFlags(rollout_percentage=bucket + 1))
    outside = post001.connect(db_url, user="alice", clock=clock,
                              flags=FeatureFlags(rollout_percentage=bucket))
    assert inside.multi_collective() and not outside.multi_collective()
    for store in (alice, inside, outside):
        store.close()


def test_publish_statement_count_does_not_grow_with_collectives(
        db_url: str, clock: Any) -> None:
    alice = _team(db_url, clock, collectives=30,
                  settings=Settings(max_collectives_per_post=30))
    counts = []
    for size in (1, 30):
        post = alice.create_post(PostCreate(title=f"t{size}", content="body",
                                            collectives=[f"c{i}" for i in range(size)]))
        statements: list[str] = []

        def count(*args: Any, sink: list[str] = statements) -> None:
            sink.append(args[2])

        event.listen(alice._engine, "before_cursor_execute", count)
        try:
            alice.publish(post.id)
        finally:
            event.remove(alice._engine, "before_cursor_execute", count)
        counts.append(len(statements))
    assert counts[0] == counts[1], counts
    assert counts[0] <= 14  # idempotency, post, shares, updates, audit, read-back
    alice.close()


def test_concurrent_saves_from_threads_never_lose_or_duplicate(
        db_url: str, clock: Any) -> None:
    alice = _team(db_url, clock, collectives=0)
    post = alice.create_post(PostCreate(title="t"))
    wins: list[int] = []
    conflicts: list[int] = []

    def writer(n: int) -> None:
        try:
            wins.append(alice.save_draft(post.id, PostUpdate(content=f"writer {n}"),
                                         expected_version=1))
        except ConflictError as err:
            conflicts.append(err.current_version)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wins == [2] and conflicts == [2] * 7
    assert alice.get_post(post.id).content.startswith("writer ")
    alice.close()


def test_embedded_default_is_created_and_migrated_in_the_data_dir() -> None:
    import os

    store = post001.connect(user="alice")
    data = Path(store.location.removeprefix("sqlite:///"))
    assert data == Path(os.environ["POST001_DATA_DIR"]) / "post001.db" and data.exists()
    store.create_post(PostCreate(title="hello"))
    store.close()
    conn = sqlite3.connect(data)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("SELECT title FROM posts").fetchone()[0] == "hello"
    conn.close()


def test_sqlite_connections_are_durable_and_safe(sqlite_url: str, clock: Any) -> None:
    store = post001.connect(sqlite_url, user="alice", clock=clock)
    assert isinstance(store, SqlStore)
    with store._engine.connect() as conn:
        pragmas = {name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                   for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")}
    # synchronous=2 is FULL: every commit reaches the disk before the call returns.
    assert pragmas == {"journal_mode": "wal", "synchronous": 2, "foreign_keys": 1,
                       "busy_timeout": 10_000}
    store.close()


def test_connect_respects_environment_and_user_creation(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path}/env.db"
    monkeypatch.setenv("POST001_DATABASE_URL", url)
    monkeypatch.setenv("POST001_USER", "zoe")
    store = post001.connect()
    assert store.me().username == "zoe" and str(tmp_path) in store.location
    store.close()
    with pytest.raises(NotFoundError) as caught:
        post001.connect(url, user="nobody", create_user=False)
    assert caught.value.field == "username"
    with pytest.raises(ValidationError) as caught:
        post001.connect(url, user="Bad Name!")
    assert caught.value.field == "username"


def test_unreachable_database_is_a_database_error() -> None:
    with pytest.raises(post001.DatabaseError) as caught:
        post001.connect("postgresql://nobody@127.0.0.1:1/none", user="alice")
    assert "127.0.0.1" in caught.value.message or "database" in caught.value.message.lower()


def test_publish_due_skips_posts_taken_by_another_worker(db_url: str, clock: Any) -> None:
    """Two schedulers at once: each due post is published exactly once."""
    from datetime import timedelta

    alice = _team(db_url, clock, collectives=1)
    ids = []
    for i in range(6):
        post = alice.create_post(PostCreate(title=f"p{i}", content="body", collectives=["c0"],
                                            publish_at=clock() + timedelta(minutes=5)))
        alice.publish(post.id)
        ids.append(post.id)
    later = clock() + timedelta(minutes=10)
    workers = [post001.connect(db_url, user="alice", clock=clock) for _ in range(2)]
    results: list[list[Any]] = [[], []]

    def run(i: int) -> None:
        results[i] = workers[i].publish_due(later)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    published = results[0] + results[1]
    assert sorted(published) == sorted(ids)  # all of them, none twice
    events = [e for e in alice.audit(limit=1000) if e.action == "post.published"]
    assert len(events) == len(ids)
    for store in (alice, *workers):
        store.close()


def test_scheduled_post_that_became_forbidden_returns_to_draft(
        db_url: str, clock: Any) -> None:
    from datetime import timedelta

    alice = _team(db_url, clock, collectives=1)
    bob = post001.connect(db_url, user="bob", clock=clock)
    alice.add_member("c0", "bob", Role.AUTHOR)
    post = bob.create_post(PostCreate(title="t", content="b", collectives=["c0"],
                                      publish_at=clock() + timedelta(minutes=1)))
    bob.publish(post.id)
    alice.set_role("c0", "bob", Role.MEMBER)
    assert alice.publish_due(clock() + timedelta(minutes=2)) == []
    after = bob.get_post(post.id)
    assert after.status.value == "draft"
    failed = next(e for e in bob.audit(post_id=post.id) if e.action == "post.schedule_failed")
    assert failed.actor == "bob" and "c0" in failed.new["reason"]  # type: ignore[index]
    for store in (alice, bob):
        store.close()


def test_no_engine_or_connection_is_made_at_import() -> None:
    import subprocess
    import sys

    code = (
        "import post001, post001.core.sql.store, sys, gc\n"
        "import sqlalchemy as sa\n"
        "engines = [o for o in gc.get_objects() if isinstance(o, sa.Engine)]\n"
        "print(len(engines))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "0"


def test_engine_urls_accept_common_spellings() -> None:
    from post001.core.sql.engine import normalize_url

    assert normalize_url("postgres://u@h/d") == "postgresql+psycopg://u@h/d"
    assert normalize_url("postgresql://u@h/d") == "postgresql+psycopg://u@h/d"
    assert normalize_url("sqlite:///x.db") == "sqlite:///x.db"
    assert sa.engine.make_url(normalize_url("postgres://u@h/d")).drivername == \
        "postgresql+psycopg"


@pytest.mark.postgres
def test_dead_pooled_connections_are_replaced_without_an_error(
        pg_url: str, pg_admin: sa.Engine, clock: Any) -> None:
    """No pre-ping on PostgreSQL: after the server dropped every connection (a restart,
    an idle timeout), the next read or write finds its pooled connection dead on its
    first statement and retries it once on a new one."""
    alice = _team(pg_url, clock, collectives=1)
    assert not alice._engine.pool._pre_ping  # type: ignore[attr-defined]
    post = alice.create_post(PostCreate(title="t", content="body", collectives=["c0"]))
    held = [alice._engine.connect() for _ in range(3)]  # several pooled connections
    for conn in held:
        conn.close()
    database = sa.make_url(alice._engine.url).database

    def kill_all() -> int:
        with pg_admin.connect() as conn:
            return int(conn.execute(sa.text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = :db AND pid <> pg_backend_pid()"), {"db": database}
            ).scalar_one())

    assert kill_all() >= 1
    assert [p.id for p in alice.posts_page(50).items] == [post.id]
    assert kill_all() >= 1
    published = alice.publish(post.id)
    assert published.post.status == "published"
    assert kill_all() >= 1
    assert alice.get_post(post.id).version == published.post.version
    alice.close()


@pytest.mark.postgres
def test_a_failed_listing_page_leaves_its_connection_as_it_found_it(
        pg_url: str, clock: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The PostgreSQL page is one script with its own BEGIN and COMMIT, sent with the
    driver in autocommit: whether it succeeds or fails, the pooled connection goes back
    idle and out of autocommit, so the next transaction is a real one."""
    alice = post001.connect(pg_url, user="alice", clock=clock)
    post = alice.create_post(PostCreate(title="t", content="body"))
    engine = alice._engine  # type: ignore[attr-defined]
    listing = alice._listing  # type: ignore[attr-defined]

    def pooled_state() -> tuple[bool, str]:
        with engine.connect() as conn:
            driver = conn.connection.driver_connection
            return driver.autocommit, driver.info.transaction_status.name

    assert [p.id for p in alice.posts_page(10).items] == [post.id]
    assert pooled_state() == (False, "IDLE")
    real = listing._query
    monkeypatch.setattr(listing, "_query", lambda *a: ("SELECT 1 / 0", real(*a)[1]))
    with pytest.raises(post001.Post001Error):
        alice.posts_page(10)
    assert pooled_state() == (False, "IDLE")
    monkeypatch.setattr(listing, "_query", real)
    assert [p.id for p in alice.posts_page(10).items] == [post.id]
    alice.close()


def test_a_failed_sqlite_listing_page_is_a_database_error_and_the_store_goes_on(
        tmp_path: Path, clock: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The SQLite page is one statement outside a transaction, on the driver (and the
    whole listing one inside a transaction): a failure still reaches the caller as the
    store's DatabaseError."""
    alice = post001.connect(f"sqlite:///{tmp_path / 'a.db'}", user="alice", clock=clock)
    post = alice.create_post(PostCreate(title="t", content="body"))
    listing = alice._listing  # type: ignore[attr-defined]
    real = listing._query
    monkeypatch.setattr(listing, "_query", lambda *a: ("SELECT * FROM no_such_table", {}))
    with pytest.raises(post001.DatabaseError):
        alice.posts_page(10)
    with pytest.raises(post001.DatabaseError):  # inside a transaction, the same
        alice.list_posts()
    monkeypatch.setattr(listing, "_query", real)
    assert [p.id for p in alice.posts_page(10).items] == [post.id]
    alice.create_post(PostCreate(title="after", content="still writable"))
    alice.close()
