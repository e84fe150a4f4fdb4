"""`post001 db backup` and `db restore` on real SQLite files and a real PostgreSQL."""

from __future__ import annotations

import json
import os
import stat
import threading
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

import post001
from post001.cli.main import cli
from post001.core import backup
from post001.core.errors import DatabaseError, ValidationError
from post001.core.models import CollectiveCreate, PostCreate, PostUpdate
from post001.core.sql.engine import make_engine
from post001.core.sql.schema import HEAD_REVISION


def run(*args: str, code: int = 0) -> Any:
    result = CliRunner().invoke(cli, [*args, "--json"], catch_exceptions=False)
    assert result.exit_code == code, (result.output, result.stderr)
    return json.loads(result.stdout if code == 0 else result.stderr)


def populate(url: str, posts: int = 5) -> None:
    with post001.connect(url, user="alice") as alice:
        alice.create_collective(CollectiveCreate(slug="essays", name="Essays"))
        for i in range(posts):
            post = alice.create_post(PostCreate(title=f"Post {i}", content=f"words {i}",
                                                collectives=["essays"]))
            alice.save_draft(post.id, PostUpdate(content=f"more words {i}"),
                             expected_version=post.version)


def counts(url: str) -> dict[str, int]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            names = [n for n in sa.inspect(conn).get_table_names()
                     if n != "alembic_version" and not n.startswith("posts_fts")]
            return {n: int(conn.execute(sa.text(f'SELECT count(*) FROM "{n}"')).scalar_one())
                    for n in names}
    finally:
        engine.dispose()


def private(path: Path) -> bool:
    return stat.S_IMODE(path.stat().st_mode) == 0o600


# --- SQLite -------------------------------------------------------------------------------


def test_sqlite_backup_while_the_app_writes_is_consistent(sqlite_url: str, tmp_path: Path
                                                          ) -> None:
    """A writer commits posts in a loop during the backup: the copy holds a consistent
    prefix of them, and its manifest counts exactly what the copy holds."""
    populate(sqlite_url, posts=3)
    started, stop = threading.Event(), threading.Event()
    written: list[int] = []
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            with post001.connect(sqlite_url, user="bob") as bob:
                i = 0
                while not stop.is_set() or i < 20:
                    bob.create_post(PostCreate(title=f"live {i}", content="x" * 2000))
                    i += 1
                    written.append(i)
                    if i == 10:
                        started.set()
        except BaseException as exc:  # surfaced below
            errors.append(exc)
            started.set()

    thread = threading.Thread(target=writer)
    thread.start()
    assert started.wait(30)
    out = tmp_path / "live.db"
    result = run("--db", sqlite_url, "db", "backup", "--out", str(out))
    stop.set()
    thread.join(60)
    assert not errors and len(written) >= 20

    manifest = json.loads(backup.manifest_path(out).read_text())
    assert manifest["revision"] == HEAD_REVISION == result["revision"]
    assert manifest["sha256"] == backup._sha256(out)
    reader = backup._sqlite_connect(out, read_only=True)  # opening it with post001 would write
    try:
        copy = backup._sqlite_facts(reader)[1]
    finally:
        reader.close()
    assert copy == manifest["tables"] == result["tables"]
    # Each post is one transaction (post, revision, audit): the copy never splits one.
    assert copy["posts"] == copy["post_revisions"] >= 3 + 10
    assert private(out) and private(backup.manifest_path(out))

    # Restored elsewhere, it is what the manifest says, and the live file moved on.
    target = f"sqlite:///{tmp_path / 'restored.db'}"
    restored = run("--db", target, "db", "restore", str(out))
    assert restored["verified"] is True and restored["tables"] == manifest["tables"]
    assert counts(sqlite_url)["posts"] == 3 + len(written) >= copy["posts"]
    with post001.connect(target, user="alice") as alice:
        assert {p.title for p in alice.list_posts()} == {f"Post {i}" for i in range(3)}


def test_restore_refuses_a_database_holding_data_unless_forced(sqlite_url: str,
                                                                tmp_path: Path) -> None:
    populate(sqlite_url, posts=2)
    out = tmp_path / "b.db"
    run("--db", sqlite_url, "db", "backup", "--out", str(out))
    other = tmp_path / "other.db"
    populate(f"sqlite:///{other}", posts=7)

    error = run("--db", f"sqlite:///{other}", "db", "restore", str(out), code=1)["error"]
    assert error["field"] == "force" and "holds data" in error["message"]
    assert error["details"]["tables"]["posts"] == 7
    assert counts(f"sqlite:///{other}")["posts"] == 7  # untouched

    forced = run("--db", f"sqlite:///{other}", "db", "restore", str(out), "--force")
    assert forced["tables"]["posts"] == 2 == counts(f"sqlite:///{other}")["posts"]


def test_backup_never_overwrites_and_restore_checks_the_file(sqlite_url: str,
                                                              tmp_path: Path) -> None:
    populate(sqlite_url, posts=1)
    out = tmp_path / "c.db"
    run("--db", sqlite_url, "db", "backup", "--out", str(out))
    again = run("--db", sqlite_url, "db", "backup", "--out", str(out), code=1)["error"]
    assert again["field"] == "out" and "already exists" in again["message"]
    run("--db", sqlite_url, "db", "backup", "--out", str(out), "--force")

    target = f"sqlite:///{tmp_path / 't.db'}"
    missing = run("--db", target, "db", "restore", str(tmp_path / "nope.db"), code=1)["error"]
    assert missing["field"] == "file"

    # A changed dump no longer matches its manifest.
    with out.open("r+b") as fh:
        fh.seek(200)
        fh.write(b"\x00garbage\x00")
    tampered = run("--db", target, "db", "restore", str(out), code=1)["error"]
    assert "SHA-256" in tampered["message"]

    # A backup from a newer post001 (a revision this one does not know) is refused.
    run("--db", sqlite_url, "db", "backup", "--out", str(out), "--force")
    manifest_file = backup.manifest_path(out)
    manifest = json.loads(manifest_file.read_text())
    manifest["revision"] = "0099_future"
    manifest_file.write_text(json.dumps(manifest))
    future = run("--db", target, "db", "restore", str(out), code=1)["error"]
    assert "0099_future" in future["message"]

    os.remove(manifest_file)
    orphan = run("--db", target, "db", "restore", str(out), code=1)["error"]
    assert "manifest" in orphan["message"]


def test_restore_verifies_the_counts(sqlite_url: str, tmp_path: Path) -> None:
    populate(sqlite_url, posts=2)
    out = tmp_path / "d.db"
    backup.backup(sqlite_url, out)
    manifest_file = backup.manifest_path(out)
    manifest = json.loads(manifest_file.read_text())
    manifest["tables"]["posts"] = 3  # what the dump does not hold
    manifest_file.write_text(json.dumps(manifest))
    with pytest.raises(DatabaseError) as caught:
        backup.restore(f"sqlite:///{tmp_path / 'e.db'}", out)
    assert caught.value.details["tables"] == {"posts": {"expected": 3, "found": 2}}


def test_backup_of_a_missing_database_or_a_server_is_refused(tmp_path: Path) -> None:
    error = run("--db", f"sqlite:///{tmp_path / 'none.db'}", "db", "backup", "--out",
                str(tmp_path / "x.db"), code=1)["error"]
    assert "no database" in error["message"]
    server = run("--db", "http://127.0.0.1:9", "db", "backup", "--out",
                 str(tmp_path / "x.db"), code=1)["error"]
    assert server["field"] == "db"
    assert not (tmp_path / "x.db").exists()


# --- PostgreSQL ---------------------------------------------------------------------------


@pytest.mark.postgres
def test_postgres_backup_and_restore(pg_url: str, pg_empty_url: str, tmp_path: Path) -> None:
    populate(pg_url, posts=4)
    out = tmp_path / "pg.dump"
    made = run("--db", pg_url, "db", "backup", "--out", str(out))
    assert made["backend"] == "postgresql" and made["revision"] == HEAD_REVISION
    assert made["tables"] == counts(pg_url) and made["tables"]["posts"] == 4
    assert made["tools"]["pg_dump"].split(".")[0] == made["tools"]["server"].split(".")[0]
    assert private(out) and private(backup.manifest_path(out))
    assert out.read_bytes()[:5] == b"PGDMP"  # custom format

    restored = run("--db", pg_empty_url, "db", "restore", str(out))
    assert restored["tables"] == made["tables"]
    # Row-level security and the server's role came back with the tables.
    engine = make_engine(pg_empty_url)
    try:
        with engine.connect() as conn:
            forced = conn.execute(sa.text(
                "SELECT relforcerowsecurity FROM pg_class WHERE relname = 'posts'")).scalar()
            grants = conn.execute(sa.text(
                "SELECT count(*) FROM information_schema.role_table_grants "
                "WHERE grantee = 'post001_app' AND table_name = 'posts'")).scalar()
    finally:
        engine.dispose()
    assert forced is True and grants
    with post001.connect(pg_empty_url, user="alice") as alice:
        assert len(alice.list_posts()) == 4

    # Holding data now: refused, then replaced with --force (one transaction).
    with post001.connect(pg_empty_url, user="alice") as alice:
        alice.create_post(PostCreate(title="extra"))
    refused = run("--db", pg_empty_url, "db", "restore", str(out), code=1)["error"]
    assert refused["details"]["tables"]["posts"] == 5
    again = run("--db", pg_empty_url, "db", "restore", str(out), "--force")
    assert again["tables"]["posts"] == 4 == counts(pg_empty_url)["posts"]


@pytest.mark.postgres
def test_pg_dump_older_than_the_server_is_refused_up_front(pg_url: str, tmp_path: Path
                                                           ) -> None:
    """pg_dump cannot read a newer server; the error names both versions. (A stand-in
    pg_dump reporting an old version: the machine has only one PostgreSQL.)"""
    fake = tmp_path / "bin"
    fake.mkdir()
    for tool in ("pg_dump", "pg_restore"):
        script = fake / tool
        script.write_text("#!/bin/sh\necho 'pg_dump (PostgreSQL) 9.6.24'\n")
        script.chmod(0o755)
    out = tmp_path / "old.dump"
    error = run("--db", pg_url, "db", "backup", "--out", str(out), "--pg-bin", str(fake),
                code=1)["error"]
    assert "PostgreSQL 9" in error["message"] and "server is PostgreSQL" in error["message"]
    assert error["details"]["pg_dump_major"] == 9
    assert not out.exists() and not list(tmp_path.glob(".old.dump*"))


def test_version_rule() -> None:
    backup.check_dump_version(16, 15, "pg_dump")  # newer reads older: fine
    backup.check_dump_version(15, 15, "pg_dump")
    with pytest.raises(DatabaseError):
        backup.check_dump_version(14, 15, "pg_dump")
    with pytest.raises(ValidationError):
        backup.find_tool("pg_dump", 15, "/nonexistent")
