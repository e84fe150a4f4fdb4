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

The statement's text and the shaping of its rows (which shares, in which order) live in
post001/core/sql/listing_rows.py, shared with the CLI's lean path on a local SQLite file
(post001/core/sql/quick_listing.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from pydantic import TypeAdapter

from post001.core.models import PostStatus, PostSummary
from post001.core.paging import Position
from post001.core.sql import tables as t
from post001.core.sql.engine import driver_identity_sql, identity_params
from post001.core.sql.listing_rows import listing_statement, row_fields


class ListingReader:
    def __init__(self, dialect: sa.Dialect) -> None:
        self._sqlite = dialect.name == "sqlite"
        self._bind_id: Callable[[Any], Any] | None = t.posts.c.id.type._cached_bind_processor(
            dialect)
        self._bind_time: Callable[[Any], Any] | None = (
            t.posts.c.updated_at.type._cached_bind_processor(dialect))
        self._sql: dict[tuple[bool, bool, bool], str] = {}

    def _statement(self, status: bool, after: bool, limited: bool) -> str:
        key = (status, after, limited)
        sql = self._sql.get(key)
        if sql is None:
            sql = self._sql[key] = listing_statement(sqlite=self._sqlite, status=status,
                                                     after=after, limited=limited)
        return sql

    def _bind(self, process: Callable[[Any], Any] | None, value: Any) -> Any:
        return process(value) if process is not None else value

    def _query(self, author_id: UUID, status: PostStatus | None, after: Position | None,
               limit: int | None) -> tuple[str, dict[str, Any]]:
        params: dict[str, Any] = {"author": self._bind(self._bind_id, author_id)}
        if status is not None:
            params["status"] = PostStatus(status).value
        if after is not None:
            params["at"] = self._bind(self._bind_time, after.updated_at)
            params["id"] = self._bind(self._bind_id, after.id)
        if limit is not None:
            params["limit"] = limit
        return self._statement(status is not None, after is not None,
                               limit is not None), params

    def read(self, conn: sa.Connection, author_id: UUID, *, status: PostStatus | None,
             after: Position | None, limit: int | None) -> list[PostSummary]:
        """The author's own posts, newest change first, from `after` on, at most `limit`
        (all when None). Runs on `conn`, inside the caller's transaction."""
        sql, params = self._query(author_id, status, after, limit)
        return self._summaries(_fetch(conn, sql, params))

    def read_alone(self, engine: sa.Engine, author_id: UUID, *,
                   status: PostStatus | None, after: Position | None, limit: int | None
                   ) -> list[PostSummary]:
        """`read` on its own, acting as `author_id`. SQLite: one statement, see
        `_read_lone_statement`. PostgreSQL: a transaction of its own in one round trip
        and one message: BEGIN READ ONLY, the identity row-level security
        reads (engine.act_as), the page and COMMIT go out as one simple query, their
        values bound by psycopg on the client (ClientCursor). Sent one by one they cost
        four round trips against the bare query's one; psycopg's pipeline mode saves the
        round trips but still pays a parse, bind and sync per statement, about twice
        the bare query's time again (benchmarks/bench_listing.py).

        Pools are not pre-pinged (engine.make_engine): a pooled connection found dead
        is invalidated, with the rest of the pool, and the read retried once on a new
        one. It is a read, so the retry is safe."""
        sql, params = self._query(author_id, status, after, limit)
        if self._sqlite:
            return self._read_lone_statement(engine, sql, params)
        import psycopg
        from psycopg.pq import TransactionStatus

        script = f"BEGIN READ ONLY; {driver_identity_sql(engine)}; {sql}; COMMIT"
        values = {**identity_params(engine, author_id), **params}
        for attempt in (1, 2):
            with engine.connect() as conn:
                driver = conn.connection.driver_connection
                assert driver is not None
                try:
                    # The script holds its own BEGIN and COMMIT: psycopg must not add one.
                    driver.autocommit = True
                    with psycopg.ClientCursor(driver) as cursor:
                        cursor.execute(script, values)
                        cursor.nextset()  # past BEGIN's result, to the identity's
                        cursor.nextset()  # to the page's
                        rows = cursor.fetchall()
                except sa.exc.DBAPIError:
                    raise
                except Exception as err:
                    try:
                        # Wraps it as SQLAlchemy does (a dead connection invalidates the
                        # pool) and raises.
                        conn._handle_dbapi_exception(err, sql, params, None, None)
                    except sa.exc.DBAPIError as wrapped:
                        if attempt == 1 and wrapped.connection_invalidated:
                            continue
                        raise
                finally:
                    try:
                        if driver.info.transaction_status != TransactionStatus.IDLE:
                            driver.rollback()  # a failed script leaves its BEGIN open
                        driver.autocommit = False
                    except Exception:
                        conn.invalidate()  # never back to the pool in autocommit
            return self._summaries(rows)
        raise AssertionError("unreachable")

    def _read_lone_statement(self, engine: sa.Engine, sql: str, params: dict[str, Any]
                             ) -> list[PostSummary]:
        """SQLite: the page's one SELECT with no BEGIN and COMMIT around it (the driver
        is in autocommit, engine.make_engine). SQLite runs a lone statement in a read
        transaction of its own, so the page and its shares are still one snapshot."""
        with engine.connect() as conn:
            return self._summaries(_fetch(conn, sql, params))

    def _summaries(self, rows: Sequence[Any]) -> list[PostSummary]:
        summaries = _SUMMARIES.validate_python([self._fields(row) for row in rows])
        if not self._sqlite:
            for summary in summaries:
                for share in summary.shares:
                    # PostgreSQL's JSON writes times with the session's offset.
                    share.shared_at = _utc(share.shared_at)
                    share.decided_at = _utc(share.decided_at)
        return summaries

    def _fields(self, row: Any) -> dict[str, Any]:
        fields = row_fields(row)
        if not self._sqlite:
            # Aware times in the session's zone: shown in UTC, as tables.UTCDateTime does.
            for name in ("updated_at", "published_at", "publish_at"):
                fields[name] = _utc(fields[name])
        return fields


def _fetch(conn: sa.Connection, sql: str, params: dict[str, Any]) -> list[Any]:
    """The statement's rows, sent on `conn`'s driver connection; a failure is wrapped
    as SQLAlchemy wraps it, so the store's error mapping (base.py `_errors`) applies."""
    driver = conn.connection.dbapi_connection
    assert driver is not None
    cursor = driver.cursor()
    try:
        cursor.execute(sql, params)
        return list(cursor.fetchall())
    except Exception as err:
        conn._handle_dbapi_exception(err, sql, params, None, None)  # raises
        raise
    finally:
        cursor.close()


def _utc(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(UTC)


_SUMMARIES = TypeAdapter(list[PostSummary])
