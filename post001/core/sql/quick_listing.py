"""A listing page read straight from a local SQLite file: the CLI's lean path.

`post001 post list` is what scripts call in loops, and its start-up target (0.3 s where
`python -c pass` takes 0.013 s; benchmarks/bench_cli.py) cannot be met by any path that
imports SQLAlchemy or pydantic-settings: each costs more than the whole budget on its own.
So when the store is a SQLite file that is already set up, `read_page` reads the page
with the standard library's sqlite3 alone, and returns None for everything else: the
caller then takes the full path (post001.core.api.connect and Store.posts_page), which
stays the one source of truth and reports any problem in its own words.

None means: the URL is not a plain `sqlite:///` file, the file does not exist, its
schema is not at HEAD_REVISION (the full path migrates it), the user does not exist
yet (the full path creates the local profile), the cursor or limit is not one the full
path would accept (it reports the error), or sqlite3 failed in any way.

Nothing here decides a rule of its own: the statement, the shaping of its rows and the
paging come from listing_rows.py and post001/core/paging.py, which the store's path
(listing.py, posts.py) uses too; `as_json` gives what pydantic's dump of the store's
PostSummary gives (tests/test_quick_listing.py compares the CLI's output byte for byte).
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import quote
from uuid import UUID

from post001.core.enums import PostStatus, ShareStatus
from post001.core.errors import ValidationError
from post001.core.limits import MAX_PAGE_SIZE
from post001.core.paging import cut_page, decode_cursor
from post001.core.sql.head import HEAD_REVISION
from post001.core.sql.listing_rows import listing_statement, row_fields, sqlite_id, sqlite_time

#: The same wait as the store's engine (post001/core/sql/engine.py BUSY_TIMEOUT_MS) when a
#: writer holds the file.
BUSY_TIMEOUT_MS = 10_000


class ListedShare(NamedTuple):
    """post001.core.models.Share's fields, in its order."""

    collective_id: UUID
    collective: str
    collective_name: str
    status: ShareStatus
    shared_by: str | None
    shared_at: datetime | None
    display_order: int
    decided_by: str | None
    decided_at: datetime | None
    rejection_reason: str | None


class ListedPost(NamedTuple):
    """post001.core.models.PostSummary's fields, in its order."""

    id: UUID
    author: str
    title: str
    subtitle: str
    status: PostStatus
    version: int
    updated_at: datetime
    published_at: datetime | None
    publish_at: datetime | None
    word_count: int
    shares: list[ListedShare]


class QuickPage(NamedTuple):
    items: list[ListedPost]
    next_cursor: str | None


def sqlite_file(url: str) -> Path | None:
    """The file a plain `sqlite:///path` URL names; None for anything else (other
    drivers, memory, URI filenames, query options, `~` or %-escapes)."""
    prefix = "sqlite:///"
    if not url.startswith(prefix):
        return None
    path = url[len(prefix):]
    if not path or path == ":memory:" or path.startswith(("file:", "~")) or any(
            c in path for c in "?%#"):
        return None
    return Path(path)


def read_page(url: str, username: str, *, status: str | None, limit: int,
              cursor: str | None) -> QuickPage | None:
    """The page `Store.posts_page(limit, cursor, status=...)` would return for
    `username` on `url`, or None when the full path must answer (see the module)."""
    path = sqlite_file(url)
    if path is None or not path.is_file():
        return None
    if isinstance(limit, bool) or not 1 <= limit <= MAX_PAGE_SIZE:
        return None
    try:
        after = decode_cursor(cursor) if cursor else None
        wanted = PostStatus(status) if status is not None else None
    except (ValidationError, ValueError):
        return None
    try:
        # mode=rw: never create the file (the full path does, privately).
        conn = sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=rw", uri=True,
                               isolation_level=None)
    except sqlite3.Error:
        return None
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("BEGIN")  # one snapshot for the three reads, as the store's read
        try:
            rows = _read(conn, username, wanted, after, limit + 1)
        finally:
            conn.execute("ROLLBACK")
        if rows is None:
            return None
        items, next_cursor = cut_page([_post(row) for row in rows], limit)
    except (sqlite3.Error, ValueError, TypeError, KeyError):
        return None
    finally:
        conn.close()
    return QuickPage(items, next_cursor)


def _read(conn: sqlite3.Connection, username: str, status: PostStatus | None,
          after: Any, limit: int) -> list[Any] | None:
    found = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                         "AND name = 'alembic_version'").fetchone()
    if found is None:
        return None
    revision = conn.execute("SELECT version_num FROM alembic_version").fetchall()
    if revision != [(HEAD_REVISION,)]:
        return None
    user = conn.execute("SELECT id FROM users WHERE username = ?", (username,)).fetchone()
    if user is None:
        return None
    params: dict[str, Any] = {"author": user[0], "limit": limit}
    if status is not None:
        params["status"] = status.value
    if after is not None:
        params["at"] = sqlite_time(after.updated_at)
        params["id"] = sqlite_id(after.id)
    sql = listing_statement(sqlite=True, status=status is not None,
                            after=after is not None, limited=True)
    return conn.execute(sql, params).fetchall()


def _post(row: Any) -> ListedPost:
    f = row_fields(row)
    return ListedPost(
        id=UUID(_text(f["id"])), author=_text(f["author"]), title=_text(f["title"]),
        subtitle=_text(f["subtitle"]), status=PostStatus(f["status"]),
        version=_int(f["version"]), updated_at=_time(f["updated_at"]),
        published_at=_maybe_time(f["published_at"]), publish_at=_maybe_time(f["publish_at"]),
        word_count=_int(f["word_count"]), shares=[_share(s) for s in f["shares"]])


def _share(s: dict[str, Any]) -> ListedShare:
    return ListedShare(
        collective_id=UUID(_text(s["collective_id"])), collective=_text(s["collective"]),
        collective_name=_text(s["collective_name"]), status=ShareStatus(s["status"]),
        shared_by=_maybe_text(s["shared_by"]), shared_at=_maybe_time(s["shared_at"]),
        display_order=_int(s["display_order"]), decided_by=_maybe_text(s["decided_by"]),
        decided_at=_maybe_time(s["decided_at"]),
        rejection_reason=_maybe_text(s["rejection_reason"]))


# Strict on types: anything the store's pydantic models would have to convert (or refuse)
# is a TypeError here, and the full path answers instead.


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"text expected, got {type(value).__name__}")
    return value


def _maybe_text(value: Any) -> str | None:
    return None if value is None else _text(value)


def _int(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"integer expected, got {type(value).__name__}")
    return value


def _time(value: Any) -> datetime:
    parsed = datetime.fromisoformat(_text(value))
    offset = parsed.utcoffset()
    if offset is None or offset:
        raise ValueError(f"a UTC time expected, got {value!r}")
    return parsed


def _maybe_time(value: Any) -> datetime | None:
    return None if value is None else _time(value)


# --- JSON, as the store's models dump it (pydantic's mode="json") ---------------------------


def as_json(post: ListedPost) -> dict[str, Any]:
    """What `to_json(summary)` (post001/cli/output.py) prints for the same post."""
    data = post._asdict()
    data["id"] = str(post.id)
    data["status"] = post.status.value
    for name in ("updated_at", "published_at", "publish_at"):
        data[name] = _json_time(data[name])
    data["shares"] = [_share_json(share) for share in post.shares]
    return data


def _share_json(share: ListedShare) -> dict[str, Any]:
    data = share._asdict()
    data["collective_id"] = str(share.collective_id)
    data["status"] = share.status.value
    data["shared_at"] = _json_time(share.shared_at)
    data["decided_at"] = _json_time(share.decided_at)
    return data


def _json_time(value: datetime | None) -> str | None:
    """pydantic's form of a UTC time: ISO 8601, microseconds only when not zero, 'Z'."""
    if value is None:
        return None
    return value.replace(tzinfo=None).isoformat() + "Z"
