"""`post001 post list`'s lean path on a local SQLite file prints what the full path prints.

The lean path (post001/core/sql/quick_listing.py) reads the page with the stdlib's
sqlite3 and shapes it without pydantic; the full path (Store.posts_page through
SQLAlchemy and the models) stays the source of truth. Every test here runs the CLI twice
on real SQLite files: once as a user would, once with the tests-only switch that forces
the full path (post001/cli/posts.py FULL_PATH_ENV), and compares stdout byte for byte
(and stderr and the exit code). A spy on `read_page` tells which path answered.
"""

from __future__ import annotations

import shutil
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from click.testing import CliRunner, Result

import post001
from post001 import CollectiveCreate, PostCreate, PostStatus, Role
from post001.cli.main import cli as post001_cli
from post001.cli.posts import FULL_PATH_ENV
from post001.core.sql import quick_listing

PAGE_QUIRKS = ["--limit", "2"]


class Spy:
    """Records what each `read_page` call answered (None: the full path answered)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.answers: list[Any] = []
        real = quick_listing.read_page

        def spy(*args: Any, **kwargs: Any) -> Any:
            answer = real(*args, **kwargs)
            self.answers.append(answer)
            return answer

        monkeypatch.setattr(quick_listing, "read_page", spy)

    def took_lean_path(self) -> bool:
        answers, self.answers = self.answers, []
        return bool(answers) and all(answer is not None for answer in answers)


def _run(args: list[str], *, full: bool, env: dict[str, str] | None = None) -> Result:
    environment = dict(env or {})
    if full:
        environment[FULL_PATH_ENV] = "1"
    return CliRunner().invoke(post001_cli, args, env=environment)


def _same(args: list[str], spy: Spy, *, lean: bool, env: dict[str, str] | None = None,
          full_args: list[str] | None = None) -> Result:
    """Runs `args` as a user would, then on the full path (`full_args`, when the two
    runs need different files); asserts which path the first took and equal outputs."""
    result = _run(args, full=False, env=env)
    assert spy.took_lean_path() is lean, (result.stdout, result.stderr)
    full = _run(full_args or args, full=True, env=env)
    assert spy.answers == []  # the switch skips the lean path altogether
    assert "Traceback" not in result.stderr
    assert (result.stdout, result.stderr, result.exit_code) == (
        full.stdout, full.stderr, full.exit_code)
    return result


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> Spy:
    return Spy(monkeypatch)


@pytest.fixture
def library(sqlite_url: str) -> str:
    """alice's posts in every status, shared in several collectives with every share
    status; bob's posts too (never in alice's listing)."""
    alice = post001.connect(sqlite_url, user="alice")
    bob = post001.connect(sqlite_url, user="bob")
    try:
        alice.create_collective(CollectiveCreate(slug="bakers", name="Weekend Bakers"))
        alice.create_collective(CollectiveCreate(slug="zines", name="Ünïcode Zines"))
        bob.create_collective(CollectiveCreate(slug="review", name="Reviewed Press",
                                               require_approval=True))
        bob.add_member("review", "alice", Role.AUTHOR)
        bob.create_post(PostCreate(title="bob's own"))

        alice.create_post(PostCreate(title="A draft", subtitle="with a subtitle",
                                     content="one two three", collectives=["bakers"]))
        alice.create_post(PostCreate(title="", content="untitled body"))
        out = alice.create_post(PostCreate(title="Out \"everywhere\"", content="x " * 40,
                                           collectives=["zines", "bakers", "review"]))
        alice.publish(out.id)
        rejected = alice.create_post(PostCreate(title="Turned down", content="no",
                                                collectives=["review", "bakers"]))
        alice.publish(rejected.id)
        bob.reject(rejected.id, "review", "Off topic for this press")
        later = datetime.now(UTC) + timedelta(days=3)
        alice.create_post(PostCreate(title="Next week", content="soon", publish_at=later,
                                     collectives=["bakers"]))
        scheduled = alice.list_posts()[0]
        alice.publish(scheduled.id)
        old = alice.create_post(PostCreate(title="Old news", content="archived words",
                                           collectives=["zines"]))
        alice.publish(old.id)
        alice.archive_post(old.id)
        for n in range(4):
            alice.create_post(PostCreate(title=f"Filler {n}", content="w " * n))
        statuses = {post.status for post in alice.list_posts()}
        assert statuses == set(PostStatus)
    finally:
        alice.close()
        bob.close()
    return sqlite_url


def _as(url: str, *args: str, user: str = "alice") -> list[str]:
    return ["post", "list", *args, "--db", url, "--as", user]


@pytest.mark.parametrize("json", [True, False], ids=["json", "human"])
@pytest.mark.parametrize("status", [None, *[s.value for s in PostStatus]])
def test_a_page_is_the_same_on_both_paths(library: str, spy: Spy, json: bool,
                                          status: str | None) -> None:
    args = (["--json"] if json else []) + (["--status", status] if status else [])
    result = _same(_as(library, *args), spy, lean=True)
    assert result.exit_code == 0 and result.stdout


@pytest.mark.parametrize("json", [True, False], ids=["json", "human"])
def test_paging_to_the_end_is_the_same_on_both_paths(library: str, spy: Spy,
                                                     json: bool) -> None:
    import json as json_module

    cursor: str | None = None
    pages = 0
    while True:
        args = ["--limit", "2", "--json"] + (["--cursor", cursor] if cursor else [])
        page = json_module.loads(_same(_as(library, *args), spy, lean=True).stdout)
        if not json:  # the human form of the same page, with its "More:" line
            human = [a for a in args if a != "--json"]
            _same(_as(library, *human), spy, lean=True)
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 5  # alice's 10 posts, 2 a page


def test_a_cursor_past_the_end_and_an_empty_library(library: str, sqlite_url: str,
                                                    spy: Spy) -> None:
    from post001.core.paging import encode_cursor

    oldest = datetime(2000, 1, 1, tzinfo=UTC)
    past = encode_cursor(oldest, UUID(int=0))
    for args in (["--cursor", past], ["--cursor", past, "--json"]):
        _same(_as(library, *args), spy, lean=True)
    post001.connect(library, user="carol").close()  # a user with no posts
    for args in ([], ["--json"], ["--status", "draft"]):
        _same(_as(library, *args, user="carol"), spy, lean=True)


@pytest.mark.parametrize("cursor", ["not-a-cursor", "bm90IGEgY3Vyc29y", ""])
def test_an_invalid_cursor_is_the_full_paths_error(library: str, spy: Spy,
                                                   cursor: str) -> None:
    for json in ([], ["--json"]):
        result = _same(_as(library, "--cursor", cursor, *json), spy, lean=cursor == "")
        if cursor:
            assert result.exit_code == 1 and "cursor" in result.stderr


def test_bad_options_are_the_same_usage_errors(library: str, spy: Spy) -> None:
    for args in (["--limit", "0"], ["--limit", "x", "--json"], ["--status", "lost"]):
        result = _run(_as(library, *args), full=False)
        full = _run(_as(library, *args), full=True)
        assert result.exit_code == 2
        assert (result.stdout, result.stderr) == (full.stdout, full.stderr)
    assert spy.answers == []


# --- every unusual case falls back to the full path, with the same output ----------------


def _twin(path: Path, name: str) -> Path:
    twin = path.with_name(name)
    shutil.copyfile(path, twin)
    return twin


def test_a_missing_file_is_created_by_the_full_path(tmp_path: Path, spy: Spy) -> None:
    one, two = tmp_path / "one" / "new.db", tmp_path / "two" / "new.db"
    result = _same(_as(f"sqlite:///{one}", "--json"), spy, lean=False,
                   full_args=_as(f"sqlite:///{two}", "--json"))
    assert result.exit_code == 0 and one.exists()
    assert _run(_as(f"sqlite:///{one}", "--json"), full=False).stdout == result.stdout
    assert spy.took_lean_path()  # made by the full path, read by the lean one


def test_a_new_user_is_created_by_the_full_path(library: str, spy: Spy) -> None:
    path = Path(library.removeprefix("sqlite:///"))
    twin = _twin(path, "twin.db")
    _same(_as(library, user="dora"), spy, lean=False,
          full_args=_as(f"sqlite:///{twin}", user="dora"))


def test_a_schema_to_migrate_or_from_the_future_goes_to_the_full_path(
        tmp_path: Path, library: str, spy: Spy) -> None:
    for name in ("one.db", "two.db"):  # an empty file: the full path migrates it
        sqlite3.connect(tmp_path / name).close()
    _same(_as(f"sqlite:///{tmp_path / 'one.db'}", "--json"), spy, lean=False,
          full_args=_as(f"sqlite:///{tmp_path / 'two.db'}", "--json"))
    conn = sqlite3.connect(library.removeprefix("sqlite:///"))
    conn.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
    conn.commit()
    conn.close()
    result = _same(_as(library), spy, lean=False)
    assert result.exit_code == 1


def test_a_file_that_is_not_a_database_goes_to_the_full_path(tmp_path: Path,
                                                            spy: Spy) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database\n" * 200)
    result = _same(_as(f"sqlite:///{junk}", "--json"), spy, lean=False)
    assert result.exit_code == 1 and "database" in result.stderr


def test_a_server_is_never_read_from_a_file(library: str, tmp_path: Path, spy: Spy) -> None:
    """A server named anywhere wins over the database: the full path asks it (here
    nobody listens, so both report the same error)."""
    nobody = "http://127.0.0.1:9"
    _same([*_as(library), "--server", nobody], spy, lean=False)
    _same(["post", "list", "--json"], spy, lean=False,
          env={"POST001_SERVER_URL": nobody, "POST001_DATABASE_URL": library})
    config = tmp_path / "config.toml"
    config.write_text(f'server_url = "{nobody}"\ndatabase_url = "{library}"\n')
    _same(["post", "list"], spy, lean=False, env={"POST001_CONFIG": str(config)})
    # --db names the store for this command: it wins over a configured server.
    _same(_as(library), spy, lean=True, env={"POST001_SERVER_URL": nobody})


def test_settings_only_the_full_path_can_check_go_to_it(library: str, tmp_path: Path,
                                                        spy: Spy) -> None:
    config = tmp_path / "config.toml"
    for text in ("autosave_delay = 0\n", "user = 5\n", "[flags]\nrollout_percentage = 50\n",
                 "not toml at all = = =\n"):
        config.write_text(text)
        _same(_as(library, "--json"), spy, lean=False, env={"POST001_CONFIG": str(config)})
    for name, value in (("ROLLOUT_PERCENTAGE", "lots"), ("POST001_MAX_CONTENT_CHARS", "0")):
        result = _same(_as(library, "--json"), spy, lean=False, env={name: value})
        assert result.exit_code == 1


def test_the_default_file_and_configured_ones_are_read_lean(library: str, tmp_path: Path,
                                                            spy: Spy) -> None:
    """No --db: POST001_DATABASE_URL, config.toml's database_url, the data directory."""
    _same(["post", "list", "--as", "alice"], spy, lean=True,
          env={"POST001_DATABASE_URL": library})
    config = tmp_path / "config.toml"
    config.write_text(f'database_url = "{library}"\nuser = "alice"\ntheme = "nord"\n')
    _same(["post", "list", "--json"], spy, lean=True, env={"POST001_CONFIG": str(config)})
    data = tmp_path / "data"
    data.mkdir()
    shutil.copyfile(library.removeprefix("sqlite:///"), data / "post001.db")
    _same(["post", "list", "--json"], spy, lean=True,
          env={"POST001_DATA_DIR": str(data), "POST001_USER": "alice"})


def test_urls_the_lean_path_leaves_alone() -> None:
    for url in ("postgresql://postgres@127.0.0.1:5432/postgres", "sqlite://",
                "sqlite:///:memory:", "sqlite+pysqlite:///x.db", "sqlite:///~/x.db",
                "sqlite:///x.db?mode=ro", "sqlite:///file:x.db", "sqlite:///a%20b.db",
                "https://example.org", "myserver"):
        assert quick_listing.sqlite_file(url) is None, url
        assert quick_listing.read_page(url, "alice", status=None, limit=5, cursor=None) is None
    assert quick_listing.sqlite_file("sqlite:////tmp/x.db") == Path("/tmp/x.db")


# --- the shared pieces agree with the store's --------------------------------------------


def test_the_bound_values_are_the_columns_own() -> None:
    """listing_rows binds ids and times as SQLAlchemy's processors for the store's columns
    do on SQLite (post001/core/sql/tables.py)."""
    import sqlalchemy as sa

    from post001.core.sql import tables as t
    from post001.core.sql.listing_rows import sqlite_id, sqlite_time

    dialect = sa.create_engine("sqlite://").dialect
    bind_id = t.posts.c.id.type._cached_bind_processor(dialect)
    bind_time = t.posts.c.updated_at.type._cached_bind_processor(dialect)
    assert bind_id is not None and bind_time is not None
    for value in (UUID(int=0), UUID("12345678-9abc-def0-1234-56789abcdef0")):
        assert sqlite_id(value) == bind_id(value)
    paris = datetime(2026, 3, 1, 9, 30, tzinfo=UTC).astimezone(
        __import__("zoneinfo").ZoneInfo("Europe/Paris"))
    for moment in (datetime(2026, 12, 1, 6, 20, 40, 123456, tzinfo=UTC),
                   datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), paris):
        assert sqlite_time(moment) == bind_time(moment)


def test_the_shapes_follow_the_models() -> None:
    from post001.core.models import PostSummary, Share
    from post001.core.sql.listing_rows import POST_FIELDS, SHARE_FIELDS

    assert quick_listing.ListedPost._fields == tuple(PostSummary.model_fields) == POST_FIELDS
    assert quick_listing.ListedShare._fields == tuple(Share.model_fields) == SHARE_FIELDS


def test_times_are_written_as_pydantic_writes_them() -> None:
    from pydantic import TypeAdapter

    adapter = TypeAdapter(datetime)
    for text in ("2026-12-01 06:20:40.123456+00:00", "2026-12-01 06:20:40.000000+00:00",
                 "2026-12-01 06:20:40.120000+00:00", "0999-01-01 00:00:00.000001+00:00"):
        parsed = adapter.validate_python(text)
        assert quick_listing._json_time(quick_listing._time(text)) == adapter.dump_python(
            parsed, mode="json")
