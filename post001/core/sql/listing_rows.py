"""The writer's listing page as SQL text and rows, with no SQLAlchemy and no pydantic.

Both readers of a listing page use these: ListingReader (post001/core/sql/listing.py), the
store's path on SQLite and PostgreSQL, and the CLI's lean path on a local SQLite file
(post001/core/sql/quick_listing.py), which must not load SQLAlchemy or pydantic to meet
its start-up target (benchmarks/bench_cli.py). So the statement, the order of its
columns, which shares a row shows and in which order are written once, here.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from uuid import UUID

from post001.core import permissions
from post001.core.enums import ShareStatus

#: The statement's columns, in order: the fields of post001.core.models.PostSummary.
POST_FIELDS = ("id", "author", "title", "subtitle", "status", "version", "updated_at",
               "published_at", "publish_at", "word_count", "shares")
#: Each share's items in the aggregated JSON: the fields of post001.core.models.Share.
SHARE_FIELDS = ("collective_id", "collective", "collective_name", "status", "shared_by",
                "shared_at", "display_order", "decided_by", "decided_at",
                "rejection_reason")


def listing_statement(*, sqlite: bool, status: bool, after: bool, limited: bool) -> str:
    """The page's one statement. Parameters: author, and status, at + id (the cursor's
    position), limit when asked for; named (:name) on SQLite, pyformat on PostgreSQL."""

    def p(name: str) -> str:
        return f":{name}" if sqlite else f"%({name})s"

    if sqlite:
        shares = ("SELECT json_group_array(json_array(s.collective_id, c.slug, c.name, "
                  "s.status, su.username, s.shared_at || '+00:00', s.display_order, "
                  "du.username, s.decided_at || '+00:00', s.rejection_reason))")
    else:
        shares = ("SELECT json_agg(json_build_array(s.collective_id, c.slug, c.name, "
                  "s.status, su.username, s.shared_at, s.display_order, du.username, "
                  "s.decided_at, s.rejection_reason))")
    where = [f"p.author_id = {p('author')}"]
    if status:
        where.append(f"p.status = {p('status')}")
    if after:
        # The bound on updated_at alone lets the index range start at the cursor;
        # the OR settles ties on updated_at by id.
        where.append(f"p.updated_at <= {p('at')} "
                     f"AND (p.updated_at < {p('at')} OR p.id < {p('id')})")

    # SQLite keeps UTC as naive text (tables.UTCDateTime): saying so in the text
    # lets the reader parse it straight to an aware time.
    def utc(column: str) -> str:
        return f"{column} || '+00:00'" if sqlite else column

    return (
        "SELECT p.id, u.username, p.title, p.subtitle, p.status, p.version, "
        f"{utc('p.updated_at')}, {utc('p.published_at')}, {utc('p.publish_at')}, "
        "p.word_count, "
        f"({shares} FROM post_collectives s "
        "JOIN collectives c ON c.id = s.collective_id "
        "LEFT JOIN users su ON su.id = s.shared_by "
        "LEFT JOIN users du ON du.id = s.decided_by "
        "WHERE s.post_id = p.id) AS shares "
        "FROM posts p JOIN users u ON u.id = p.author_id "
        f"WHERE {' AND '.join(where)} "
        "ORDER BY p.updated_at DESC, p.id DESC"
        + (f" LIMIT {p('limit')}" if limited else "")
    )


def row_fields(row: Any) -> dict[str, Any]:
    """One row as the summary's fields, its shares filtered and ordered (values as the
    driver returned them: the caller parses ids and times)."""
    fields = dict(zip(POST_FIELDS, row, strict=True))
    fields["title"] = fields["title"] or ""
    fields["subtitle"] = fields["subtitle"] or ""
    shares = fields["shares"]
    fields["shares"] = _shares(shares) if shares and shares != "[]" else []
    return fields


def _shares(value: Any) -> list[dict[str, Any]]:
    items = json.loads(value) if isinstance(value, str) else value
    shares = [dict(zip(SHARE_FIELDS, item, strict=True)) for item in items]
    # The listing is the author's own: every share of it is theirs to read.
    shares = [s for s in shares if permissions.can_read_share(
        is_author=True, status=ShareStatus(s["status"]), role=None, post_readable=True)]
    shares.sort(key=lambda s: (s["display_order"], s["collective_name"]))
    return shares


# --- values bound on SQLite, as the store's columns write them -----------------------------
# tests/test_quick_listing.py checks both against SQLAlchemy's own bind processors for
# the columns (post001/core/sql/tables.py: sa.Uuid and UTCDateTime).


def sqlite_id(value: UUID) -> str:
    """An id as SQLite stores it (sa.Uuid without a native type: 32 hex digits)."""
    return value.hex


def sqlite_time(value: datetime) -> str:
    """An aware time as SQLite stores it (UTC, naive, SQLAlchemy's text format)."""
    from datetime import UTC

    utc = value.astimezone(UTC)
    return (f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d} {utc.hour:02d}:"
            f"{utc.minute:02d}:{utc.second:02d}.{utc.microsecond:06d}")
