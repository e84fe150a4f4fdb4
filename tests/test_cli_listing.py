"""`post001 post list` pages and `post001 post delete`, in-process against real SQLite."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import pytest
from test_cli import Cli

from post001.core.paging import encode_cursor


@pytest.fixture
def cli(sqlite_url: str) -> Cli:
    return Cli(sqlite_url)


def test_post_list_pages_with_a_cursor(cli: Cli) -> None:
    made = [cli.json("post", "new", "--title", f"post {i}")["id"] for i in range(5)]
    first = cli.json("post", "list", "--limit", "2")
    assert [p["id"] for p in first["items"]] == made[:-3:-1]
    second = cli.json("post", "list", "--limit", "2", "--cursor", first["next_cursor"])
    last = cli.json("post", "list", "--limit", "2", "--cursor", second["next_cursor"])
    assert [p["id"] for p in first["items"] + second["items"] + last["items"]] == made[::-1]
    assert last["next_cursor"] is None
    assert first["items"][0]["status"] == "draft"  # JSON keeps the enum value

    text = cli.run("post", "list", "--limit", "2").stdout
    assert f"More: post001 post list --limit 2 --cursor {first['next_cursor']}" in text
    assert "More:" not in cli.run("post", "list").stdout  # five fit the default page
    oldest = last["items"][0]
    past_the_end = encode_cursor(datetime.fromisoformat(oldest["updated_at"]),
                                 UUID(oldest["id"]))
    assert cli.run("post", "list", "--cursor", past_the_end).stdout == "No more posts.\n"


def test_post_list_refuses_a_bad_limit_or_cursor(cli: Cli) -> None:
    assert cli.run("post", "list", "--limit", "0", code=2)
    error = cli.error("post", "list", "--cursor", "not-a-cursor")
    assert error["field"] == "cursor" and "next_cursor" in error["message"]


def test_post_delete_a_draft(cli: Cli) -> None:
    keep = cli.json("post", "new", "--title", "keep")
    gone = cli.json("post", "new", "--title", "gone")
    refused = cli.error("post", "delete", gone["id"][:8])  # not at a terminal: needs --yes
    assert refused["field"] == "yes"
    deleted = cli.json("post", "delete", gone["id"][:8], "--yes")
    assert deleted == {"id": gone["id"], "deleted": True}
    assert [p["id"] for p in cli.json("post", "list")["items"]] == [keep["id"]]
    assert "Deleted draft" in cli.run("post", "delete", keep["id"], "--yes").stdout
