"""The `post001` command line, end to end.

Two layers: a set of real subprocesses (`python -m post001.cli.main`, the way users and
scripts run it) against a SQLite file and a PostgreSQL database, and in-process
`CliRunner` runs for the many smaller cases (same code path from the click group
down, much faster). Both check exit codes, JSON shapes and that no traceback leaks.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any
from uuid import UUID, uuid4

import pytest
from click.testing import CliRunner, Result

from post001.cli.main import cli as post001_cli

POST_KEYS = {"id", "title", "status", "version", "author", "shares"}
WRITABLE = ("title", "subtitle", "byline", "content", "post_type", "is_public", "seo_title",
            "meta_description", "thumbnail_url", "metadata", "publish_at")


# --- real subprocesses ----------------------------------------------------------------------


def run(
    env: dict[str, str], *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "post001.cli.main", *args],
        env=env, input=stdin, capture_output=True, text=True, timeout=60,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def ok_json(env: dict[str, str], *args: str, stdin: str | None = None) -> Any:
    proc = run(env, *args, "--json", stdin=stdin)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def error_json(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(proc.stderr)["error"]
    return body


def subprocess_env(url: str) -> dict[str, str]:
    """The test's isolated POST001_DATA_DIR/POST001_CONFIG (see conftest) plus the database."""
    env = dict(os.environ)
    env["POST001_DATABASE_URL"] = url
    env.pop("POST001_USER", None)
    env.pop("POST001_DEBUG", None)
    return env


FRONT_MATTER_POST = """\
---
title: Sourdough at home
subtitle: Flour, water, patience
byline: The kitchen team
public: false
seo_title: Sourdough guide
meta_description: How to keep a starter alive.
thumbnail_url: https://example.com/bread.png
collectives: [kitchen]
---
# Starter

Feed it **every day**.
"""


@pytest.mark.slow
def test_end_to_end_in_subprocesses(tmp_path: Path) -> None:
    from post001.core.api import default_username
    from post001.core.sql.schema import history

    head = history()[0][0]
    env = subprocess_env(f"sqlite:///{tmp_path / 'cli.db'}")

    # A brand-new database: upgrade builds it, history marks the head.
    upgraded = ok_json(env, "db", "upgrade")
    assert upgraded["from"] is None and upgraded["to"] == head
    revisions = ok_json(env, "db", "history")
    assert revisions["current"] == head
    assert [r["revision"] for r in revisions["revisions"] if r["current"]] == [head]
    assert revisions["revisions"][-1]["down_revision"] is None

    # The first run creates a profile named after the OS user, who acts by default.
    assert ok_json(env, "user", "add", "bob", "--display-name", "Bob")["username"] == "bob"
    me = default_username()
    assert {u["username"] for u in ok_json(env, "user", "list")} == {me, "bob"}

    kitchen = ok_json(env, "collective", "create", "kitchen", "--name", "Kitchen")
    assert (kitchen["slug"], kitchen["owner"], kitchen["member_count"]) == ("kitchen", me, 1)

    # Scheduled an hour ahead, run once before it is due.
    due = datetime.now(UTC) + timedelta(hours=1)
    scheduled = ok_json(env, "post", "new", "--title", "Later", "--file", "-", "--to", "kitchen",
                        "--publish", "--publish-at", due.isoformat(),
                        stdin="Body of a later post\n")
    assert scheduled["status"] == "scheduled" and scheduled["publish"]["scheduled"] is True
    early = ok_json(env, "scheduler", "run-once")
    assert early["published"] == []

    # A post from Markdown with front matter, published in one go.
    source = tmp_path / "sourdough.md"
    source.write_text(FRONT_MATTER_POST, encoding="utf-8")
    post = ok_json(env, "post", "new", "--file", str(source), "--publish")
    assert post.keys() >= POST_KEYS
    assert (post["title"], post["status"]) == ("Sourdough at home", "published")
    assert post["author"] == me
    assert post["is_public"] is False and post["byline"] == "The kitchen team"
    assert post["content"] == "# Starter\n\nFeed it **every day**.\n"
    assert [(s["collective"], s["status"]) for s in post["shares"]] == [("kitchen", "published")]
    assert post["publish"]["outcomes"][0]["collective"] == "kitchen"
    assert post["publish"]["scheduled"] is False

    # Export, then read back as a new post: equal in every writable field and share.
    exported = tmp_path / "exported.md"
    assert run(env, "post", "export", post["id"][:8], "--out", str(exported)).returncode == 0
    copy = ok_json(env, "post", "new", "--file", str(exported))
    assert copy["id"] != post["id"]
    assert {k: copy[k] for k in WRITABLE} == {k: post[k] for k in WRITABLE}
    assert [s["collective"] for s in copy["shares"]] == ["kitchen"]

    # A user error: exit 1, a JSON body naming the field and the limit, no traceback.
    too_long = run(env, "post", "new", "--title", "x" * 201, "--json")
    assert too_long.returncode == 1
    error = error_json(too_long)
    assert error["category"] == "validation" and error["field"] == "title"
    assert "200" in error["message"] and "201" in error["message"]
    assert too_long.stdout == ""

    # Bad usage: exit 2 (as JSON when asked for).
    assert run(env, "post", "new", "--no-such-option").returncode == 2
    usage = run(env, "--json", "post", "publish")
    assert usage.returncode == 2
    assert error_json(usage)["category"] == "usage"
    assert "Missing argument" in error_json(usage)["message"]

    # The scheduler really publishes the post when its time comes. Its hour passes in the
    # database (the subprocess reads the real clock), so no test waits on wall-clock time.
    with sqlite3.connect(tmp_path / "cli.db") as db:
        moved = db.execute("UPDATE posts SET publish_at = ? WHERE id = ?",
                           ((datetime.now(UTC) - timedelta(seconds=1)).strftime(
                               "%Y-%m-%d %H:%M:%S.%f"), UUID(scheduled["id"]).hex)).rowcount
    assert moved == 1
    ran = ok_json(env, "scheduler", "run-once")
    assert [p["id"] for p in ran["published"]] == [scheduled["id"]]
    assert ok_json(env, "scheduler", "run-once")["published"] == []  # once only
    shown = ok_json(env, "post", "show", scheduled["id"])
    assert shown["status"] == "published"
    assert [(s["collective"], s["status"]) for s in shown["shares"]] == [("kitchen", "published")]


@pytest.mark.slow
@pytest.mark.postgres
def test_key_flow_in_subprocesses_on_postgres(pg_url: str, tmp_path: Path) -> None:
    from post001.core.sql.schema import history

    env = subprocess_env(pg_url)
    env["POST001_USER"] = "alice"
    assert ok_json(env, "db", "upgrade")["to"] == history()[0][0]
    ok_json(env, "collective", "create", "kitchen", "--name", "Kitchen", "--require-approval")
    ok_json(env, "--as", "bob", "collective", "create", "bobs", "--name", "Bob's")
    ok_json(env, "--as", "bob", "collective", "member", "add", "bobs", "alice")  # a member
    post = ok_json(env, "post", "new", "--title", "Hi", "--file", "-", "--to", "kitchen",
                   "--to", "bobs", stdin="Hello there\n")
    refused = run(env, "post", "publish", post["id"], "--json")
    assert refused.returncode == 1
    error = error_json(refused)
    assert (error["category"], error["collective"]) == ("permission", "bobs")
    ok_json(env, "post", "unshare", post["id"], "--from", "bobs")
    published = ok_json(env, "post", "publish", post["id"], "--idempotency-key", "k1")
    assert [(s["collective"], s["status"]) for s in published["shares"]] == [
        ("kitchen", "published")]  # the owner's own post needs no approval


# --- in process -------------------------------------------------------------------------------


class Cli:
    """Runs the click group in-process against one database, as a given user."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.runner = CliRunner()

    def run(self, *args: str, user: str = "alice", code: int = 0, stdin: str | None = None,
            db: bool = True) -> Result:
        prefix = ["--db", self.url] if db else []
        result = self.runner.invoke(post001_cli, [*prefix, "--as", user, *args], input=stdin)
        assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
        assert "Traceback" not in result.stderr
        if code == 0:
            assert result.exception is None
        return result

    def json(self, *args: str, user: str = "alice", stdin: str | None = None) -> Any:
        return json.loads(self.run(*args, "--json", user=user, stdin=stdin).stdout)

    def error(self, *args: str, user: str = "alice", code: int = 1,
              stdin: str | None = None) -> dict[str, Any]:
        result = self.run(*args, "--json", user=user, code=code, stdin=stdin)
        assert result.stdout == ""
        body: dict[str, Any] = json.loads(result.stderr)["error"]
        return body

    def new_post(self, title: str, *to: str, content: str = "Some body text.\n",
                 user: str = "alice") -> dict[str, Any]:
        args = ["post", "new", "--title", title, "--file", "-"]
        for slug in to:
            args += ["--to", slug]
        post: dict[str, Any] = self.json(*args, user=user, stdin=content)
        return post


@pytest.fixture
def cli(db_url: str) -> Cli:
    """On SQLite and (marked postgres) PostgreSQL."""
    return Cli(db_url)


@pytest.fixture
def sqlite_cli(sqlite_url: str) -> Cli:
    return Cli(sqlite_url)


def build_world(c: Cli) -> None:
    """alice writes; bob runs four collectives where alice holds different roles."""
    c.json("user", "add", "bob", "--display-name", "Bob")
    c.json("user", "add", "carol")
    c.json("collective", "create", "alice-home", "--name", "Alice's home")
    for slug, name, extra in [
        ("open-kitchen", "Open Kitchen", []),
        ("strict-bakers", "Strict Bakers", ["--require-approval"]),
        ("contrib-club", "Contrib Club", []),
        ("bob-private", "Bob's Private", []),
    ]:
        c.json("collective", "create", slug, "--name", name, *extra, user="bob")
    c.json("collective", "member", "add", "open-kitchen", "alice", "--role", "author", user="bob")
    c.json("collective", "member", "add", "strict-bakers", "alice", "--role", "author",
           user="bob")
    c.json("collective", "member", "add", "contrib-club", "alice", "--role", "contributor",
           user="bob")
    c.json("collective", "member", "add", "bob-private", "alice", user="bob")  # member


@pytest.fixture
def world(cli: Cli) -> Cli:
    build_world(cli)
    return cli


@pytest.fixture
def sqlite_world(sqlite_cli: Cli) -> Cli:
    build_world(sqlite_cli)
    return sqlite_cli


def shares_of(post: dict[str, Any]) -> dict[str, str]:
    return {s["collective"]: s["status"] for s in post["shares"]}


def test_preflight_mixes_publish_review_and_not_allowed(world: Cli) -> None:
    post = world.new_post("Mixed", "open-kitchen", "strict-bakers", "contrib-club", "bob-private")
    plan = world.json("post", "preflight", post["id"][:6])
    assert set(plan) >= {"can_publish", "errors", "warnings", "reach", "collectives"}
    assert {p["collective"]: p["outcome"] for p in plan["collectives"]} == {
        "open-kitchen": "publish",
        "strict-bakers": "review",
        "contrib-club": "review",
        "bob-private": "not_allowed",
    }
    assert all(p["reason"] for p in plan["collectives"] if p["outcome"] != "publish")
    assert plan["can_publish"] is False
    assert [e["collective"] for e in plan["errors"]] == ["bob-private"]
    assert {w["collective"] for w in plan["warnings"]} >= {"strict-bakers", "contrib-club"}
    assert plan["reach"] == 1  # bob, in each allowed collective, counted once; not alice

    human = world.run("post", "preflight", post["id"]).stdout
    assert "not allowed" in human and "goes to review" in human and "Cannot publish" in human

    # Publishing is all or nothing: the error names the collective, nothing changes.
    error = world.error("post", "publish", post["id"])
    assert (error["category"], error["collective"]) == ("permission", "bob-private")
    after = world.json("post", "show", post["id"])
    assert after["status"] == "draft" and set(shares_of(after).values()) == {"draft"}


def test_publish_idempotency_then_review_reject_resubmit_approve(world: Cli) -> None:
    post = world.new_post("Bread", "open-kitchen", "strict-bakers")
    first = world.json("post", "publish", post["id"], "--idempotency-key", "key-1")
    again = world.json("post", "publish", post["id"], "--idempotency-key", "key-1")
    assert first["publish"]["replayed"] is False and again["publish"]["replayed"] is True
    assert again["version"] == first["version"]
    assert shares_of(first) == shares_of(again) == {
        "open-kitchen": "published", "strict-bakers": "pending_approval"}
    published_events = [e for e in world.json("audit", "--post", post["id"])
                        if e["action"] == "post.published"]
    assert len(published_events) == 1

    # bob moderates strict-bakers: a prefix of a post that is not his works there.
    queue = world.json("review", "list", "strict-bakers", user="bob")
    assert [(i["post_id"], i["author"]) for i in queue] == [(post["id"], "alice")]
    rejected = world.json("review", "reject", post["id"][:8], "--in", "strict-bakers",
                          "--reason", "Needs a photo", user="bob")
    assert shares_of(rejected)["strict-bakers"] == "rejected"
    mine = world.json("post", "show", post["id"])
    share = next(s for s in mine["shares"] if s["collective"] == "strict-bakers")
    assert share["rejection_reason"] == "Needs a photo"

    # alice cannot moderate, edits, resubmits; bob approves.
    assert world.error("review", "list", "strict-bakers")["category"] in {"permission",
                                                                          "not_found"}
    world.json("post", "edit", post["id"], "--subtitle", "Now with a photo")
    assert shares_of(world.json("review", "resubmit", post["id"], "--in", "strict-bakers"))[
        "strict-bakers"] == "pending_approval"
    approved = world.json("review", "approve", post["id"], "--in", "strict-bakers", user="bob")
    assert shares_of(approved) == {"open-kitchen": "published", "strict-bakers": "published"}
    assert world.json("review", "list", "strict-bakers", user="bob") == []


def test_collectives_and_members(sqlite_world: Cli) -> None:
    c = sqlite_world
    mine = c.json("collective", "list")
    assert [(m["slug"], m["role"]) for m in mine] == [
        ("alice-home", "owner"), ("open-kitchen", "author"), ("strict-bakers", "author"),
        ("contrib-club", "contributor"), ("bob-private", "member")]
    assert {m["slug"]: m["can_post"] for m in mine}["bob-private"] is False
    assert "bob-private" not in {m["slug"] for m in c.json("collective", "list", "--postable")}
    assert [m["slug"] for m in c.json("collective", "list", "--query", "BAKER")] == [
        "strict-bakers"]
    by_name = [m["slug"] for m in c.json("collective", "list", "--sort", "name")]
    assert by_name == ["alice-home", "bob-private", "contrib-club", "open-kitchen",
                       "strict-bakers"]
    assert c.json("collective", "list", "--sort", "members")[-1]["slug"] == "alice-home"

    shown = c.json("collective", "show", "strict-bakers")
    assert (shown["owner"], shown["require_approval"], shown["member_count"]) == (
        "bob", True, 2)
    assert {m["username"]: m["role"] for m in shown["members"]} == {
        "bob": "owner", "alice": "author"}

    c.json("collective", "member", "add", "alice-home", "carol", "--role", "editor")
    promoted = c.json("collective", "member", "set-role", "alice-home", "carol", "--role",
                      "admin")
    assert promoted["role"] == "admin"
    assert {m["username"]: m["role"] for m in c.json("collective", "member", "list",
                                                    "alice-home")} == {
        "alice": "owner", "carol": "admin"}
    c.json("collective", "member", "remove", "alice-home", "carol")
    assert [m["username"] for m in c.json("collective", "member", "list", "alice-home")] == [
        "alice"]

    settings = c.json("collective", "settings", "alice-home", "--require-approval",
                      "--description", "Home")
    assert settings["require_approval"] is True and settings["description"] == "Home"
    assert c.json("collective", "settings", "alice-home", "--no-require-approval")[
        "require_approval"] is False

    # An author may not manage members; a non-member sees "not found", naming the slug.
    denied = c.error("collective", "member", "add", "open-kitchen", "carol")
    assert denied["category"] == "permission"
    hidden = c.error("collective", "show", "bob-private", user="carol")
    assert (hidden["category"], hidden["collective"]) == ("not_found", "bob-private")
    bad_slug = c.error("collective", "create", "Not A Slug", "--name", "X")
    assert (bad_slug["category"], bad_slug["field"]) == ("validation", "slug")
    assert c.run("collective", "member", "add", "alice-home", "carol", "--role", "king",
                 code=2).exception is not None

    human = c.run("collective", "list").stdout
    assert "yes, reviewed first" in human and "no:" in human


def test_share_unshare_unpublish_archive(sqlite_world: Cli) -> None:
    c = sqlite_world
    post = c.new_post("Soup", "open-kitchen")
    c.json("post", "publish", post["id"])
    shared = c.json("post", "share", post["id"], "--to", "strict-bakers", "--to", "alice-home")
    assert shares_of(shared) == {"open-kitchen": "published",
                                 "strict-bakers": "pending_approval",
                                 "alice-home": "published"}
    unshared = c.json("post", "unshare", post["id"], "--from", "open-kitchen")
    assert set(shares_of(unshared)) == {"strict-bakers", "alice-home"}
    actions = [e["action"] for e in c.json("audit", "--post", post["id"])]
    assert "share.removed" in actions and "share.added" in actions

    draft = c.json("post", "unpublish", post["id"])
    assert draft["status"] == "draft" and set(shares_of(draft).values()) == {"draft"}
    archived = c.json("post", "archive", post["id"])
    assert archived["status"] == "archived"
    archived_list = c.json("post", "list", "--status", "archived")
    assert [p["id"] for p in archived_list["items"]] == [post["id"]]
    assert c.json("post", "list", "--status", "published") == {"items": [],
                                                                "next_cursor": None}


def test_revisions_restore_and_conflicts(sqlite_world: Cli) -> None:
    c = sqlite_world
    post = c.new_post("First title")
    c.json("post", "edit", post["id"], "--title", "Second title")
    third = c.json("post", "edit", post["id"], "--file", "-",
                   stdin="---\ntitle: Third title\n---\nNew body\n")
    assert (third["title"], third["content"]) == ("Third title", "New body\n")
    revisions = c.json("post", "revisions", post["id"])
    # The current text first, then snapshots (the store takes at most one a minute).
    assert (revisions[0]["title"], revisions[0]["version"]) == ("Third title", third["version"])
    assert revisions[-1]["title"] == "First title"
    first_version = revisions[-1]["version"]

    restored = c.json("post", "restore", post["id"], str(first_version))
    assert restored["title"] == "First title"
    assert restored["content"] == "Some body text.\n"
    assert restored["version"] == third["version"] + 1

    stale = c.error("post", "edit", post["id"], "--title", "Lost?", "--expect-version",
                    str(third["version"]))
    assert stale["category"] == "conflict"
    assert stale["details"]["current_version"] == restored["version"]
    assert c.json("post", "show", post["id"])["title"] == "First title"
    ok = c.json("post", "edit", post["id"], "--title", "Kept", "--expect-version",
                str(restored["version"]))
    assert ok["version"] == restored["version"] + 1

    assert c.run("post", "edit", post["id"], code=2).exception is not None  # nothing to change
    assert "Version" in c.run("post", "revisions", post["id"]).stdout.title()


def test_audit_filters_and_search(sqlite_world: Cli) -> None:
    c = sqlite_world
    bread = c.new_post("Bread", "strict-bakers", content="A sourdough loaf.\n")
    soup = c.new_post("Soup", "open-kitchen", content="Leek and potato.\n")
    c.json("post", "publish", bread["id"])
    c.json("post", "publish", soup["id"])
    c.json("review", "approve", bread["id"], "--in", "strict-bakers", user="bob")

    about_bread = c.json("audit", "--post", bread["id"][:6])
    assert about_bread and {e["post_id"] for e in about_bread} == {bread["id"]}
    in_strict = c.json("audit", "--collective", "strict-bakers", user="bob")
    assert in_strict and {e["collective"] for e in in_strict} == {"strict-bakers"}
    by_bob = c.json("audit", "--actor", "bob")
    assert "share.approved" in {e["action"] for e in by_bob}
    assert {e["actor"] for e in by_bob} == {"bob"}
    assert len(c.json("audit", "--limit", "2")) == 2

    found = c.json("search", "sourdough", user="carol")  # public and published: anyone
    assert [p["id"] for p in found] == [bread["id"]]
    assert found[0].keys() >= POST_KEYS
    c.new_post("Secret draft", content="sourdough draft words\n")
    assert [p["title"] for p in c.json("search", "sourdough")] == ["Bread"]
    assert "No published post" in c.run("search", "nothingmatches").stdout


def test_human_output_is_concise(sqlite_world: Cli) -> None:
    c = sqlite_world
    post = c.new_post("Readable", "open-kitchen")
    created = c.run("post", "new", "--title", "Another").stdout
    assert created.startswith("Created draft ") and "\u201cAnother\u201d" in created
    shown = c.run("post", "show", post["id"][:4]).stdout
    assert "Readable" in shown and "open-kitchen" in shown and "Some body text." in shown
    published = c.run("post", "publish", post["id"]).stdout
    assert published.startswith("Published ") and "open-kitchen" in published
    exported = c.run("post", "export", post["id"]).stdout
    assert exported.startswith("---\ntitle: Readable\n")
    assert "alice" in c.run("user", "list").stdout
    assert "ID" in c.run("post", "list").stdout
    assert "No audit events" in c.run("audit", "--actor", "carol").stdout
    assert "Nothing waiting" in c.run("review", "list", "open-kitchen", user="bob").stdout


def test_errors_are_clean_in_human_mode(sqlite_world: Cli) -> None:
    c = sqlite_world
    result = c.run("post", "new", "--title", "x" * 201, code=1)
    assert result.stderr.startswith("Error (validation) [field: title]: title is 201 characters")
    assert "hint:" in result.stderr and result.stdout == ""
    missing = c.run("post", "show", "0000", code=1)
    assert "None of your posts" in missing.stderr
    short = c.error("post", "show", "ab")
    assert (short["category"], short["field"]) == ("validation", "post_id")
    assert c.error("post", "new", "--publish-at", "soon")["field"] == "publish_at"


def test_bad_front_matter_exits_1_naming_the_key(sqlite_cli: Cli) -> None:
    result = sqlite_cli.run("post", "new", "--file", "-", "--json", code=1,
                            stdin="---\npublic: perhaps\n---\nBody\n")
    assert json.loads(result.stderr)["error"]["field"] == "is_public"
    assert sqlite_cli.json("post", "list")["items"] == []  # nothing was created
    unknown = sqlite_cli.run("post", "new", "--file", "-", stdin="---\nlayout: x\n---\nB\n")
    assert "ignoring front matter keys" in unknown.stderr and "layout" in unknown.stderr


def test_publish_failure_after_new_names_the_saved_draft(sqlite_world: Cli) -> None:
    c = sqlite_world
    error = c.error("post", "new", "--title", "T", "--file", "-", "--to", "bob-private",
                    "--publish", stdin="Body\n")
    assert error["collective"] == "bob-private"
    [draft] = c.json("post", "list")["items"]
    assert draft["id"] in error["message"] and error["details"]["post_id"] == draft["id"]


def test_usage_errors_exit_2_with_json(sqlite_cli: Cli) -> None:
    missing = sqlite_cli.error("post", "show", code=2)
    assert missing["category"] == "usage" and "Missing argument" in missing["message"]
    unknown = sqlite_cli.error("post", "frobnicate", code=2)
    assert "No such command" in unknown["message"]
    bad_choice = sqlite_cli.error("post", "list", "--status", "gone", code=2)
    assert "gone" in bad_choice["message"]
    plain = sqlite_cli.run("post", "publish", code=2)
    assert "Usage:" in plain.stderr


def test_unreachable_database_is_a_clean_error() -> None:
    c = Cli("postgresql://nobody@127.0.0.1:1/nothing")
    error = c.error("user", "list")
    assert error["category"] == "database"
    human = c.run("post", "list", code=1)
    assert human.stderr.startswith("Error (database)")


def test_locate_and_acting_user(sqlite_cli: Cli, tmp_path: Path,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    info = sqlite_cli.json("locate")
    assert info["config_file"] == os.environ["POST001_CONFIG"]
    assert info["data_dir"] == os.environ["POST001_DATA_DIR"]
    assert info["database_url"] == sqlite_cli.url and info["user"] == "alice"
    human = sqlite_cli.run("locate").stdout
    assert "config file:" in human and "data dir:" in human and "database:" in human

    # Without --db: POST001_DATABASE_URL; without --as: POST001_USER.
    monkeypatch.setenv("POST001_DATABASE_URL", sqlite_cli.url)
    monkeypatch.setenv("POST001_USER", "dora")
    runner = CliRunner()
    located = json.loads(runner.invoke(post001_cli, ["locate", "--json"]).stdout)
    assert (located["database_url"], located["user"]) == (sqlite_cli.url, "dora")
    created = json.loads(runner.invoke(post001_cli, ["post", "new", "--json"]).stdout)
    assert created["author"] == "dora" and created["title"] == ""

    # Passwords never print.
    monkeypatch.setenv("POST001_DATABASE_URL", "postgresql://u:secret@db.example/x")
    assert "secret" not in runner.invoke(post001_cli, ["locate"]).stdout


def test_post_id_prefixes() -> None:
    from post001.cli.app import resolve_post_id
    from post001.core.errors import NotFoundError, ValidationError

    ids = [UUID("abcd1234-0000-4000-8000-000000000001"),
           UUID("abcd1234-0000-4000-8000-000000000002"),
           UUID("12345678-0000-4000-8000-000000000003")]

    class Summary:
        def __init__(self, pid: UUID) -> None:
            self.id = pid

    class FakeStore:
        def list_posts(self) -> list[Summary]:
            return [Summary(i) for i in ids]

        def pending_reviews(self) -> list[Any]:
            return []

    class FakeState:
        def store(self) -> FakeStore:
            return FakeStore()

    state: Any = FakeState()
    assert resolve_post_id(state, "1234") == ids[2]
    assert resolve_post_id(state, "ABCD1234-0000-4000-8000-000000000002") == ids[1]
    other = uuid4()
    assert resolve_post_id(state, str(other)) == other  # a full id needs no lookup
    assert resolve_post_id(state, other.hex[:6], also=[other]) == other
    with pytest.raises(ValidationError, match="matches 2 posts"):
        resolve_post_id(state, "abcd")
    with pytest.raises(ValidationError):
        resolve_post_id(state, "abc")
    with pytest.raises(ValidationError):
        resolve_post_id(state, "not-hex")
    with pytest.raises(NotFoundError):
        resolve_post_id(state, "ffff")


@pytest.fixture
def fake_tui(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, dict[str, Any]]]]:
    calls: list[tuple[str, dict[str, Any]]] = []
    app = ModuleType("post001.tui.app")
    app.run_app = lambda **kw: calls.append(("run_app", kw))  # type: ignore[attr-defined]
    demo = ModuleType("post001.tui.demo")
    demo.run_demo = lambda **kw: calls.append(("run_demo", kw))  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "post001.tui.app", app)
    monkeypatch.setitem(sys.modules, "post001.tui.demo", demo)
    yield calls


def test_no_arguments_open_the_tui(fake_tui: list[tuple[str, dict[str, Any]]],
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    assert runner.invoke(post001_cli, []).exit_code == 0
    assert runner.invoke(post001_cli, ["--db", "sqlite:///x.db", "--as", "zed"]).exit_code == 0
    assert runner.invoke(post001_cli, ["demo"]).exit_code == 0
    from post001.core.api import default_username
    from post001.core.config import default_database_url

    local = {"token_file": None, "server": False}
    assert fake_tui == [
        ("run_app", {"store_url": default_database_url(), "user": default_username(),
                     **local}),
        ("run_app", {"store_url": "sqlite:///x.db", "user": "zed", **local}),
        ("run_demo", {}),
    ]


def test_the_tui_gets_the_server_and_where_its_token_is(
        fake_tui: list[tuple[str, dict[str, Any]]], tmp_path: Path) -> None:
    """--server URL --token-file F, a named server, and the server `login` recorded: the
    app gets everything core's one credentials order needs (and no made-up user)."""
    runner = CliRunner()
    args = ["--server", "http://team.example:8000", "--token-file", "tok"]
    assert runner.invoke(post001_cli, args).exit_code == 0
    Path(os.environ["POST001_CONFIG"]).write_text(
        'server_url = "work"\n[servers.work]\nurl = "https://team.example"\n')
    assert runner.invoke(post001_cli, ["--server", "work", "--as", "bob"]).exit_code == 0
    assert runner.invoke(post001_cli, []).exit_code == 0
    assert fake_tui == [
        ("run_app", {"store_url": "http://team.example:8000", "user": None,
                     "token_file": "tok", "server": True}),
        ("run_app", {"store_url": "work", "user": "bob", "token_file": None, "server": True}),
        ("run_app", {"store_url": "work", "user": None, "token_file": None, "server": True}),
    ]


def test_missing_tui_is_a_clear_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "post001.tui.app", None)
    monkeypatch.setitem(sys.modules, "post001.tui.demo", None)
    runner = CliRunner()
    for args in ([], ["demo"]):
        result = runner.invoke(post001_cli, args)
        assert result.exit_code == 1
        assert "terminal app is not available" in result.stderr
        assert "Traceback" not in result.stderr


def test_help_texts_exist_for_every_command() -> None:
    import click

    def walk(command: click.Command, path: list[str]) -> Iterator[list[str]]:
        yield path
        if isinstance(command, click.Group):
            ctx = click.Context(command)
            for name in command.list_commands(ctx):  # lazily mounted ones too
                sub = command.get_command(ctx, name)
                assert sub is not None, name
                yield from walk(sub, [*path, name])

    runner = CliRunner()
    paths = list(walk(post001_cli, []))
    assert len(paths) > 35
    for path in paths:
        result = runner.invoke(post001_cli, [*path, "--help"])
        assert result.exit_code == 0, path
        assert "Usage: post001" in result.stdout
        command: click.Command = post001_cli
        for name in path:
            assert isinstance(command, click.Group)
            found = command.get_command(click.Context(command), name)
            assert found is not None
            command = found
        assert command.help and len(command.help) > 20, path
        if not isinstance(command, click.Group):
            assert "--json" in result.stdout, path


def test_global_options_after_the_command_name(sqlite_cli: Cli) -> None:
    runner = CliRunner()
    result = runner.invoke(post001_cli, ["user", "add", "erin", "--db", sqlite_cli.url,
                                         "--as", "frank", "--json"])
    assert result.exit_code == 0, result.stderr
    users = json.loads(runner.invoke(post001_cli, ["user", "list", "--json", "--db",
                                                   sqlite_cli.url]).stdout)
    assert {"erin", "frank"} <= {u["username"] for u in users}


def test_db_upgrade_to_an_unknown_revision(tmp_path: Path) -> None:
    c = Cli(f"sqlite:///{tmp_path / 'empty.db'}")
    error = c.error("db", "upgrade", "no-such-revision")
    assert (error["category"], error["field"]) == ("validation", "revision")
    assert c.json("db", "history")["current"] is None  # and nothing was created
    assert "empty" in c.run("db", "history").stdout


def test_unexpected_failures_are_one_clean_line(sqlite_cli: Cli,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    import sqlalchemy as sa

    from post001.cli import app

    def explode(self: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(app.State, "store", explode)
    error = sqlite_cli.error("post", "list")
    assert error["message"] == "Unexpected error: RuntimeError: boom"
    assert "POST001_DEBUG" in error["actions"][0]
    monkeypatch.setenv("POST001_DEBUG", "1")  # developers get the real exception
    result = CliRunner().invoke(post001_cli, ["--db", sqlite_cli.url, "post", "list"])
    assert isinstance(result.exception, RuntimeError)

    lost = sa.exc.OperationalError("SELECT 1", {}, Exception("disk I/O error"))
    converted = app.as_post001_error(lost, url="postgresql://u:pw@host/db")
    assert converted.category == "database"
    assert "disk I/O error" in converted.message and "pw" not in converted.message


def test_start_up_imports_no_heavy_modules() -> None:
    """`post001 --help` stays quick: databases, YAML and the TUI load only when used."""
    code = (
        "import io, sys, contextlib, post001.cli.main as m\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        "    m.cli.main(['--help'], prog_name='post001', standalone_mode=False)\n"
        "assert 'serve' in out.getvalue() and 'login' in out.getvalue()\n"
        "print(sorted(m for m in ('sqlalchemy', 'alembic', 'psycopg', 'yaml', 'textual', "
        "'httpx', 'fastapi', 'uvicorn') if m in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_server_commands_are_mounted_lazily() -> None:
    runner = CliRunner()
    for name in ("serve", "server", "login", "logout", "whoami"):
        result = runner.invoke(post001_cli, [name, "--help"])
        assert result.exit_code == 0, (name, result.output)
        assert f"Usage: post001 {name}" in result.stdout


def test_a_broken_config_file_is_reported_not_raised() -> None:
    Path(os.environ["POST001_CONFIG"]).write_text("autosave_delay = 'soon'\n[[broken\n")
    runner = CliRunner()
    located = runner.invoke(post001_cli, ["locate", "--json"])
    assert located.exit_code == 0
    info = json.loads(located.stdout)
    assert info["config_file"] == os.environ["POST001_CONFIG"] and info["config_error"]
    failed = runner.invoke(post001_cli, ["post", "list", "--json"])
    assert failed.exit_code == 1 and "Traceback" not in failed.stderr
    error = json.loads(failed.stderr)["error"]
    assert error["field"] == "config" and os.environ["POST001_CONFIG"] in error["message"]
    Path(os.environ["POST001_CONFIG"]).write_text("autosave_delay = 'soon'\n")
    invalid = json.loads(runner.invoke(post001_cli, ["post", "list", "--json"]).stderr)
    assert invalid["error"]["field"] == "autosave_delay"
