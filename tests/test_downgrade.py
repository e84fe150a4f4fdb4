"""`post001 db downgrade`: every step says what it would drop; nothing runs without
--force when anything would be."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from click.testing import CliRunner

import post001
from post001.cli.main import cli
from post001.core.models import CollectiveCreate, PostCreate, PostUpdate, Role
from post001.core.sql.engine import make_engine
from post001.core.sql.schema import (
    HEAD_REVISION,
    alembic_config,
    current_revision,
    downgrade_plan,
    ensure_schema,
)


def run(url: str, *args: str, code: int = 0) -> Any:
    result = CliRunner().invoke(cli, ["--db", url, "db", "downgrade", *args, "--json"],
                                catch_exceptions=False)
    assert result.exit_code == code, (result.stdout, result.stderr)
    return json.loads(result.stdout if code == 0 else result.stderr)


def count(url: str, table: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())
    finally:
        engine.dispose()


def revision_of(url: str) -> str | None:
    engine = make_engine(url)
    try:
        return current_revision(engine)
    finally:
        engine.dispose()


def test_every_migration_says_what_its_downgrade_would_lose() -> None:
    scripts = ScriptDirectory.from_config(alembic_config())  # type: ignore[arg-type]
    lacking = [s.revision for s in scripts.walk_revisions()
               if not callable(getattr(s.module, "downgrade_would_lose", None))]
    assert lacking == []


def populate(url: str, clock: Any) -> None:
    """Data the redesign added: several shares, a review, a contributor, a schedule,
    SEO settings, revisions, save counts."""
    alice = post001.connect(url, user="alice", clock=clock)
    bob = post001.connect(url, user="bob", clock=clock)
    try:
        for slug in ("essays", "poems"):
            alice.create_collective(CollectiveCreate(slug=slug, name=slug.title(),
                                                     require_approval=slug == "poems"))
        alice.add_member("essays", "bob", Role.CONTRIBUTOR)
        post = alice.create_post(PostCreate(title="Two homes", content="body",
                                            collectives=["essays", "poems"]))
        alice.save_draft(post.id, PostUpdate(seo_title="SEO"), expected_version=post.version)
        alice.publish(post.id)
        later = alice.create_post(PostCreate(title="Later", content="soon",
                                             publish_at=clock.now + timedelta(days=2)))
        alice.publish(later.id)
        mine = bob.create_post(PostCreate(title="Bob's", content="mine", collectives=["essays"]))
        bob.publish(mine.id)  # a contributor's share waits for review
    finally:
        alice.close()
        bob.close()


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres",
                                                            marks=pytest.mark.postgres)])
def test_downgrade_refuses_naming_every_loss_then_forced(
        backend: str, request: pytest.FixtureRequest, clock: Any) -> None:
    url = str(request.getfixturevalue("sqlite_url" if backend == "sqlite" else "pg_url"))
    populate(url, clock)
    posts, users = count(url, "posts"), count(url, "users")

    error = run(url, "0001_legacy", code=1)["error"]
    steps = {s["revision"]: s["would_lose"] for s in error["details"]["steps"]}
    assert list(steps) == ["0013_server_defence", "0012_listing_counts", "0011_save_counts",
                           "0010_server_hardening", "0009_client_writes", "0008_listing",
                           "0007_one_owner", "0006_auth_rls",
                           "0005_revision_snapshots", "0004_search", "0003_legacy_shares",
                           "0002_redesign"]
    assert any("daily save count" in x for x in steps["0011_save_counts"])
    lost = " | ".join(steps["0002_redesign"])
    for words in ("1 membership with the contributor", "beyond the one collective",
                  "revision snapshot", "audit event", "1 scheduled post",
                  "settings the legacy schema lacks", "1 collective requiring approval",
                  "1 pending or rejected review"):
        assert words in lost, words
    assert steps["0004_search"] == steps["0007_one_owner"] == []
    for revision in ("0011_save_counts", "0002_redesign"):  # the message names each step
        assert revision in error["message"]
    assert revision_of(url) == HEAD_REVISION  # nothing ran
    assert count(url, "post_collectives") == 3

    done = run(url, "0001_legacy", "--force")
    assert (done["from"], done["to"], done["forced"]) == (HEAD_REVISION, "0001_legacy", True)
    assert revision_of(url) == "0001_legacy"
    assert (count(url, "posts"), count(url, "users")) == (posts, users)
    assert count(url, "collective_members WHERE role NOT IN "
                      "('owner', 'admin', 'editor', 'author')") == 0

    # And up again: the legacy column becomes shares once more.
    engine = make_engine(url)
    try:
        ensure_schema(engine)
    finally:
        engine.dispose()
    assert count(url, "posts") == posts


def test_a_downgrade_that_loses_nothing_needs_no_force(sqlite_url: str) -> None:
    plain = run(sqlite_url, "0007_one_owner")
    assert plain["to"] == "0007_one_owner" and plain["forced"] is False
    assert all(s["would_lose"] == [] for s in plain["steps"])
    again = run(sqlite_url, "0007_one_owner")
    assert again["steps"] == []


def test_downgrade_bad_input(sqlite_url: str, tmp_path: Any) -> None:
    unknown = run(sqlite_url, "0042_nope", code=1)["error"]
    assert unknown["field"] == "revision" and "0001_legacy" in unknown["message"]
    run(sqlite_url, "0007_one_owner")
    newer = run(sqlite_url, "0009_client_writes", code=1)["error"]
    assert "db upgrade" in newer["message"]
    missing = run(f"sqlite:///{tmp_path / 'none.db'}", "base", code=1)["error"]
    assert missing["field"] == "db"
    assert not (tmp_path / "none.db").exists()


def test_plan_counts_legacy_shares_that_changed(sqlite_empty_url: str) -> None:
    """0003 drops the shares it made from the legacy column: a loss only where the
    post's legacy column no longer names that collective."""
    import uuid

    from post001.core.sql.schema import upgrade

    engine = make_engine(sqlite_empty_url)
    try:
        upgrade(engine, "0001_legacy")
        user, coll, post = uuid.uuid4().hex, uuid.uuid4().hex, uuid.uuid4().hex
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO users VALUES (:u, 'ann', 'Ann', "
                                 "'2025-01-01 00:00:00')"), {"u": user})
            conn.execute(sa.text("INSERT INTO collectives VALUES (:c, 'club', 'Club', NULL, "
                                 ":u, '2025-01-01 00:00:00')"), {"c": coll, "u": user})
            conn.execute(sa.text(
                "INSERT INTO posts (id, author_id, collective_id, title, status, is_public, "
                "created_at, updated_at) VALUES (:p, :u, :c, 'Old', 'active', 1, "
                "'2025-01-01 00:00:00', '2025-01-01 00:00:00')"),
                {"p": post, "u": user, "c": coll})
        ensure_schema(engine)

        def losses() -> dict[str, list[str]]:
            return {s.revision: s.losses for s in downgrade_plan(engine, "0002_redesign")}

        assert losses()["0003_legacy_shares"] == ["1 'legacy share migrated' audit event"]
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE posts SET collective_id = NULL"))
        assert losses()["0003_legacy_shares"] == [
            "1 migrated share that changed since (another collective, or a review)",
            "1 'legacy share migrated' audit event"]
    finally:
        engine.dispose()
