"""Messages that fit their face and their moment: hint tables, wording, labels, short ids,
files in and out, private files. CLI tests run in-process against real SQLite."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pydantic
import pytest
from test_cli import Cli, build_world

from post001.cli import hints as cli_hints
from post001.core.errors import (
    ConflictError,
    DatabaseError,
    NetworkError,
    NotFoundError,
    PermissionDenied,
    Post001Error,
    ValidationError,
)
from post001.core.models import CollectiveCreate
from post001.core.text import quote_title
from post001.core.validation import as_post001_error
from post001.tui import hints as tui_hints

EVERY_ERROR: list[Post001Error] = [
    ValidationError("bad", field="title"), PermissionDenied("no"),
    PermissionDenied("no", collective="tech"), NotFoundError("gone"),
    ConflictError("moved", current_version=3), NetworkError("down"), DatabaseError("broken"),
]
TUI_BUTTONS = ("Keep your text", "Take the stored version", "Save your text as a new draft")


@pytest.fixture
def cli(sqlite_url: str) -> Cli:
    return Cli(sqlite_url)


@pytest.fixture
def world(cli: Cli) -> Cli:
    build_world(cli)
    return cli


# --- the two hint tables ------------------------------------------------------------------

def test_no_cli_hint_promises_a_kept_draft_or_names_a_tui_button() -> None:
    commands = {command for _, command in cli_hints.HINTS} | {"user add", "post new"}
    for error in EVERY_ERROR:
        for command in commands:
            for hint in cli_hints.hints_for(error, command):
                assert "draft is kept" not in hint.lower()
                assert not any(button in hint for button in TUI_BUTTONS)


def test_cli_conflict_hints_name_cli_commands() -> None:
    hints = cli_hints.hints_for(ConflictError("moved", current_version=3), "post edit")
    assert hints and all("`post001 post" in hint for hint in hints)


def test_user_add_on_a_server_does_not_send_you_to_a_collective_admin() -> None:
    # As the remote store rebuilds the server's refusal (no actions travel with it).
    refused = Post001Error.from_dict({"category": "permission", "message":
                                      "Users are added by the server's administrator."})
    [hint] = cli_hints.hints_for(refused, "user add")
    assert "server user add" in hint and "collective" not in hint
    assert "owner or admin of tech" in cli_hints.hints_for(
        PermissionDenied("no", collective="tech"), "post publish")[0]


def test_tui_promises_a_kept_draft_only_in_the_editor() -> None:
    for where in tui_hints.Where:
        for error in EVERY_ERROR:
            said = " ".join(tui_hints.hints_for(error, where)).lower()
            if where is not tui_hints.Where.EDITOR:
                assert "draft" not in said, (where, error.category, said)
    editor = tui_hints.Where.EDITOR
    assert "draft is kept" in tui_hints.hints_for(DatabaseError("x"), editor)[0].lower()
    assert tui_hints.hints_for(ConflictError("m", current_version=1), editor)[0].startswith(
        "Keep your text")


def test_an_errors_own_actions_win_in_both_faces() -> None:
    error = NetworkError("down", actions=["Run `post001 login URL`"])
    assert cli_hints.hints_for(error, "post list") == ["Run `post001 login URL`"]
    assert tui_hints.hints_for(error) == ["Run `post001 login URL`"]


def test_a_duplicate_member_says_nothing_about_drafts(world: Cli) -> None:
    result = world.run("collective", "member", "add", "open-kitchen", "alice", user="bob",
                       code=1)
    assert "Error" in result.stderr and "draft" not in result.stderr.lower()


def test_a_cli_conflict_suggests_cli_commands(cli: Cli) -> None:
    post = cli.json("post", "new", "--title", "t")
    error = cli.error("post", "edit", post["id"], "--title", "u", "--expect-version", "7")
    assert error["category"] == "conflict"
    assert any("post001 post show" in a for a in error["actions"])
    assert not any(button in a for a in error["actions"] for button in TUI_BUTTONS)


# --- one translator, wording --------------------------------------------------------------

def _pydantic_error(**data: Any) -> pydantic.ValidationError:
    with pytest.raises(pydantic.ValidationError) as caught:
        CollectiveCreate(**data)
    return caught.value


def test_one_pydantic_translator_serves_the_tui_too() -> None:
    from post001.tui.screens.base import as_post001_error as tui_translate

    err = _pydantic_error(slug="Bad Slug", name="n")
    assert tui_translate(err).message == as_post001_error(err).message
    assert tui_translate(err).field == "slug"


def test_the_slug_error_is_in_words(cli: Cli) -> None:
    error = cli.error("collective", "create", "Bad Slug", "--name", "Bad")
    assert error["field"] == "slug"
    assert "lowercase words" in error["message"] and "[a-z" not in error["message"]
    long = as_post001_error(_pydantic_error(slug="a" * 65, name="n"))
    assert long.message == "slug is 65 characters; the limit is 64."


def test_titles_are_quoted_without_nesting() -> None:
    assert quote_title("Shipping") == "\u201cShipping\u201d"
    nested = quote_title("Caf\u00e9 notes: \u201cShipping\u201d")
    assert nested == "\u2018Caf\u00e9 notes: \u201cShipping\u201d\u2019"
    assert quote_title("  ") == "\u201cUntitled\u201d"


# --- labels, short ids, the review queue --------------------------------------------------

def test_one_label_per_status_and_json_keeps_the_value(world: Cli) -> None:
    post = world.new_post("Bread", "strict-bakers")
    published = world.run("post", "publish", post["id"]).stdout
    assert "in review" in published and "pending_approval" not in published
    shown = world.run("post", "show", post["id"]).stdout
    assert "in review" in shown and "pending_approval" not in shown
    assert world.json("post", "show", post["id"])["shares"][0]["status"] == "pending_approval"
    listed = world.run("post", "list").stdout
    assert "strict-bakers: in review" in listed


def test_an_editor_approves_by_short_id_and_lists_every_queue(world: Cli) -> None:
    post = world.new_post("Bread", "strict-bakers")
    world.run("post", "publish", post["id"])
    queue = world.run("review", "list", user="bob").stdout
    assert post["id"][:8] in queue and "strict-bakers" in queue
    assert [i["post_id"] for i in world.json("review", "list", user="bob")] == [post["id"]]
    assert world.json("post", "show", post["id"][:6], user="bob")["id"] == post["id"]
    approved = world.json("review", "approve", post["id"][:4], "--in", "strict-bakers",
                          user="bob")
    assert approved["id"] == post["id"]
    assert "Nothing is waiting" in world.run("review", "list", user="bob").stdout
    missing = world.error("review", "approve", "ffff", "--in", "strict-bakers", user="bob")
    assert missing["category"] == "not_found" and "review list" in " ".join(missing["actions"])


# --- files in and out ---------------------------------------------------------------------

def test_a_file_that_is_not_utf8_is_a_validation_error(cli: Cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.md"
    bad.write_bytes("Caf\u00e9 cr\u00e8me".encode("latin-1"))
    error = cli.error("post", "new", "--file", str(bad))
    assert error["category"] == "validation" and error["field"] == "file"
    assert str(bad) in error["message"] and "UTF-8" in error["message"]
    assert cli.json("post", "list")["items"] == []  # nothing was created


def test_export_then_import_and_no_silent_overwrite(cli: Cli, tmp_path: Path) -> None:
    post = cli.json("post", "new", "--title", "Sourdough", "--file", "-",
                    stdin="Flour, water, salt.\n")
    out = tmp_path / "sourdough.md"
    cli.json("post", "export", post["id"], "--out", str(out))
    out.write_text(out.read_text().replace("Flour", "Rye flour"))
    refused = cli.error("post", "export", post["id"], "--out", str(out))
    assert refused["field"] == "out" and "--force" in " ".join(refused["actions"])
    assert "Rye flour" in out.read_text()  # kept
    copy = cli.json("post", "import", str(out))
    assert copy["id"] != post["id"] and copy["title"] == "Sourdough"
    assert copy["content"].startswith("Rye flour")
    cli.json("post", "export", post["id"], "--out", str(out), "--force")
    assert "Rye flour" not in out.read_text()


# --- private files ------------------------------------------------------------------------

def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_data_directory_database_and_recovery_files_are_private(tmp_path: Path) -> None:
    import post001
    from post001.core.config import data_dir
    from post001.tui import recovery

    old = os.umask(0o022)
    try:
        home = data_dir()
        assert not home.exists()
        db = home / "post001.db"
        with post001.connect(f"sqlite:///{db}", user="alice") as store:
            store.create_post(post001.PostCreate(title="t"))
        kept = recovery.keep("k1", None, {"title": "secret draft"})
    finally:
        os.umask(old)
    assert _mode(home) == 0o700
    assert _mode(db) == 0o600
    assert kept is not None and _mode(kept) == 0o600 and _mode(kept.parent) == 0o700
    for extra in home.glob("post001.db-*"):
        assert _mode(extra) == 0o600, extra


# --- audit in words ------------------------------------------------------------------------

def test_audit_text_is_readable_lines_with_usernames(cli: Cli) -> None:
    cli.json("collective", "create", "tech", "--name", "Tech")
    cli.json("post", "new", "--title", "Bob\u2019s bread")
    text = cli.run("audit").stdout
    lines = text.splitlines()
    assert any("post.created" in line and "title Bob\u2019s bread" in line for line in lines)
    assert any("member.added in tech: user alice, role owner" in line for line in lines), text
    [alice] = [u["id"] for u in cli.json("user", "list") if u["username"] == "alice"]
    assert "\\u2019" not in text and alice not in text and "{" not in text
