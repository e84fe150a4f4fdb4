"""The writer's listing: one statement per page, rows straight into summaries.

A listing page is the screen a writer opens most, and on a large library it must cost
about what the bare query costs (benchmarks/bench_listing.py holds it to 3x the raw
driver's query for the 50 newest rows). So, like the auto-save path (drafts.py), it
sends one prepared statement through the driver on the transaction's own connection
(row-level security still applies on PostgreSQL) and skips SQLAlchemy's per-row result
processing:

- one statement brings the page and each post's shares, aggregated as JSON by a
  correlated subquery (an index lookup per post), so the page is one round trip and
  one consistent snapshot;
- bodies are never read: the word count is stored with every save (migration 0012);
- pydantic builds the whole page's summaries in one call (its validation is faster
  than constructing them by hand, and it checks what the database handed back).

Values bound into the statement go through the columns' own bind processors, so the
comparisons see exactly what the general path writes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from pydantic import TypeAdapter

from post001.core import permissions
from post001.core.models import PostStatus, PostSummary, ShareStatus
from post001.core.paging import Position
from post001.core.sql import tables as t

_POST_FIELDS = ("id", "author", "title", "subtitle", "status", "version", "updated_at",
                "published_at", "publish_at", "word_count", "shares")
_SHARE_FIELDS = ("collective_id", "collective", "collective_name", "status", "shared_by",
                 "shared_at", "display_order", "decided_by", "decided_at",
                 "rejection_reason")


class ListingReader:
    def __init__(self, dialect: sa.Dialect) -> None:
        self._sqlite = dialect.name == "sqlite"
        self._bind_id: Callable[[Any], Any] | None = t.posts.c.id.type._cached_bind_processor(
            dialect)
        self._bind_time: Callable[[Any], Any] | None = (
            t.posts.c.updated_at.type._cached_bind_processor(dialect))
        self._sql: dict[tuple[bool, bool, bool], str] = {}

    def _p(self, name: str) -> str:
        return f":{name}" if self._sqlite else f"%({name})s"

    def _statement(self, status: bool, after: bool, limited: bool) -> str:
        key = (status, after, limited)
        sql = self._sql.get(key)
        if sql is not None:
            return sql
        p = self._p
        if self._sqlite:
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
        # lets pydantic parse it straight to an aware time.
        utc = (lambda c: f"{c} || '+00:00'") if self._sqlite else (lambda c: c)
        sql = (
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
        self._sql[key] = sql
        return sql

    def _bind(self, process: Callable[[Any], Any] | None, value: Any) -> Any:
        return process(value) if process is not None else value

    def read(self, conn: sa.Connection, author_id: UUID, *, status: PostStatus | None,
             after: Position | None, limit: int | None) -> list[PostSummary]:
        """The author's own posts, newest change first, from `after` on, at most `limit`
        (all when None). Runs on `conn`, inside the caller's transaction."""
        params: dict[str, Any] = {"author": self._bind(self._bind_id, author_id)}
        if status is not None:
            params["status"] = PostStatus(status).value
        if after is not None:
            params["at"] = self._bind(self._bind_time, after.updated_at)
            params["id"] = self._bind(self._bind_id, after.id)
        if limit is not None:
            params["limit"] = limit
        sql = self._statement(status is not None, after is not None, limit is not None)
        driver = conn.connection.dbapi_connection
        assert driver is not None
        cursor = driver.cursor()
        try:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        finally:
            cursor.close()
        summaries = _SUMMARIES.validate_python([self._fields(row) for row in rows])
        if not self._sqlite:
            for summary in summaries:
                for share in summary.shares:
                    # PostgreSQL's JSON writes times with the session's offset.
                    share.shared_at = _utc(share.shared_at)
                    share.decided_at = _utc(share.decided_at)
        return summaries

    def _fields(self, row: Any) -> dict[str, Any]:
        fields = dict(zip(_POST_FIELDS, row, strict=True))
        if not self._sqlite:
            # Aware times in the session's zone: shown in UTC, as tables.UTCDateTime does.
            for name in ("updated_at", "published_at", "publish_at"):
                fields[name] = _utc(fields[name])
        fields["title"] = fields["title"] or ""
        fields["subtitle"] = fields["subtitle"] or ""
        shares = fields["shares"]
        fields["shares"] = self._shares(shares) if shares and shares != "[]" else []
        return fields

    def _shares(self, value: Any) -> list[dict[str, Any]]:
        items = json.loads(value) if isinstance(value, str) else value
        shares = [dict(zip(_SHARE_FIELDS, item, strict=True)) for item in items]
        # The listing is the author's own: every share of it is theirs to read.
        shares = [s for s in shares if permissions.can_read_share(
            is_author=True, status=ShareStatus(s["status"]), role=None, post_readable=True)]
        shares.sort(key=lambda s: (s["display_order"], s["collective_name"]))
        return shares


def _utc(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(UTC)


_SUMMARIES = TypeAdapter(list[PostSummary])
