"""The auto-save hot path: one UPDATE on a pooled driver connection.

Auto-save runs every second while someone types, so it skips SQLAlchemy's statement
machinery (which costs several times the write itself on a fast disk) and sends one
prepared UPDATE through the driver. Values still go through the columns' own bind
processors, so what lands in the row is byte-for-byte what the general path writes.
It handles only the common case: the author's own, not-yet-published post at the
expected version. Anything else (a conflict, a published post that needs an audit
event, a missing post) returns None and the caller takes the general path.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa

from post001.core.sql import tables as t
from post001.core.sql.engine import driver_identity_sql, identity_params

#: What every writer on one dialect shares (the server makes a store per request):
#: each column's bind processor and the UPDATE text per set of columns.
_SHARED: dict[str, tuple[dict[str, Callable[[Any], Any] | None], dict[tuple[str, ...], str]]] = {}
_SHARED_LOCK = threading.Lock()


def _shared(dialect: sa.Dialect) -> tuple[dict[str, Callable[[Any], Any] | None],
                                          dict[tuple[str, ...], str]]:
    key = f"{dialect.name}/{dialect.driver}"
    found = _SHARED.get(key)
    if found is None:
        with _SHARED_LOCK:
            found = _SHARED.setdefault(key, (
                {c.name: c.type._cached_bind_processor(dialect) for c in t.posts.c}, {}))
    return found


class DraftWriter:
    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine
        dialect = engine.dialect
        self._sqlite = dialect.name == "sqlite"
        self._processors, self._sql = _shared(dialect)
        # Who the transaction acts as (role and user; see engine.act_as), in the driver's
        # parameter style.
        self._identity = driver_identity_sql(engine)
        # One connection kept for auto-save: a pool checkout and its reset-on-return
        # rollback would cost about as much as the write. The lock serializes workers.
        self._lock = threading.Lock()
        self._conn: Any = None

    def _param(self, name: str) -> str:
        return f":{name}" if self._sqlite else f"%({name})s"

    def _statement(self, columns: tuple[str, ...]) -> str:
        sql = self._sql.get(columns)
        if sql is None:
            p = self._param
            sets = [f"{c} = {p(c)}" for c in columns if c != "slug"]
            if "slug" in columns:
                # The slug follows the title until the post is first published.
                sets.append(f"slug = CASE WHEN published_at IS NULL THEN {p('slug')} "
                            "ELSE slug END")
            # The save's id travels with the version it makes (see migration 0009).
            sets += ["version = version + 1", f"updated_at = {p('updated_at')}",
                     f"last_save_id = {p('last_save_id')}",
                     "last_save_version = version + 1"]
            sql = (
                f"UPDATE posts SET {', '.join(sets)} "
                f"WHERE id = {p('id')} AND author_id = {p('author_id')} "
                f"AND version = {p('expected')} AND status <> 'published' "
                "RETURNING version"
            )
            self._sql[columns] = sql
        return sql

    def _bind(self, column: str, value: Any) -> Any:
        process = self._processors[column]
        return process(value) if process is not None else value

    def _params(self, post_id: UUID, author_id: UUID, values: dict[str, Any],
                expected_version: int, now: datetime, save_id: UUID | None
                ) -> tuple[str, dict[str, Any]]:
        columns = tuple(sorted(values))
        params = {c: self._bind(c, v) for c, v in values.items()}
        params.update(
            id=self._bind("id", post_id),
            author_id=self._bind("author_id", author_id),
            expected=expected_version,
            updated_at=self._bind("updated_at", now),
            last_save_id=self._bind("last_save_id", save_id),
        )
        return self._statement(columns), params

    def save(self, post_id: UUID, author_id: UUID, values: dict[str, Any],
             expected_version: int, now: datetime, save_id: UUID | None = None
             ) -> int | None:
        """The new version, or None when the general path must handle this save
        (including a repeated save id, whose version the general path looks up)."""
        sql, params = self._params(post_id, author_id, values, expected_version, now,
                                   save_id)
        with self._lock:
            if self._conn is None:
                self._conn = self._engine.raw_connection()
            try:
                return self._run(self._conn, sql, params, author_id)
            except BaseException:
                # A broken connection (server restart, killed backend) is not reused.
                conn, self._conn = self._conn, None
                conn.invalidate()
                raise

    def save_in(self, conn: sa.Connection, post_id: UUID, author_id: UUID,
                values: dict[str, Any], expected_version: int, now: datetime,
                save_id: UUID | None = None) -> int | None:
        """`save` inside a transaction the caller opened (and commits), acting as
        the author already: the server's one transaction per request."""
        sql, params = self._params(post_id, author_id, values, expected_version, now,
                                   save_id)
        cur = conn.connection.cursor()
        try:
            cur.execute(sql, params)
            row = cur.fetchone()
        finally:
            cur.close()
        return None if row is None else int(row[0])

    def _run(self, conn: Any, sql: str, params: dict[str, Any], author_id: UUID) -> int | None:
        cur = conn.cursor()
        try:
            if self._sqlite:
                cur.execute("BEGIN IMMEDIATE")
            else:
                # Row-level security reads the acting user from here (transaction-local).
                cur.execute(self._identity, identity_params(self._engine, author_id))
            try:
                cur.execute(sql, params)
                row = cur.fetchone()
            except BaseException:
                if self._sqlite:
                    cur.execute("ROLLBACK")
                else:
                    conn.rollback()
                raise
            if self._sqlite:
                cur.execute("COMMIT")
            else:
                conn.commit()
            return None if row is None else int(row[0])
        finally:
            cur.close()

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
