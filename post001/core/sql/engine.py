"""Engines for SQLite and PostgreSQL, configured for durability.

SQLite runs in WAL mode with `synchronous=FULL`: every commit (every auto-save) is
fsynced to the write-ahead log before the call returns, so a saved draft survives a
crash of the process *and* of the machine. (NORMAL would only survive the process.)
Writes open with BEGIN IMMEDIATE so two writers queue on the busy timeout instead of
failing mid-transaction with "database is locked".
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url

from post001.core.sql import direct

BUSY_TIMEOUT_MS = 10_000
READ_ONLY = "post001_read_only"
#: Execution option of a PostgreSQL engine (set by the server, post001/server/db.py):
#: the role every transaction switches to, transaction-locally (`act_as`).
ROLE_OPTION = "post001_act_as_role"
#: Set on a connection whose transaction starts with `act_as` (or a statement that does
#: its work): the server's `begin` hook then leaves the role to that statement.
IDENTITY_FIRST = "post001_identity_first"


def normalize_url(url: str) -> str:
    """Accept the URLs people type: postgres://, postgresql:// mean psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def is_sqlite(url: str) -> bool:
    return normalize_url(url).startswith("sqlite")


def make_engine(url: str, **kwargs: Any) -> sa.Engine:
    url = normalize_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed, **kwargs)
    # No liveness ping at each checkout (a round trip before every transaction, which
    # the listing's first page paid; benchmarks/bench_listing.py): a pooled connection
    # found dead by its transaction's first statement is replaced and that statement
    # retried once (open_transaction).
    kwargs.setdefault("pool_pre_ping", False)
    kwargs.setdefault("pool_size", 5)
    kwargs.setdefault("max_overflow", 10)
    return sa.create_engine(parsed, **kwargs)


def _sqlite_engine(url: sa.URL, **kwargs: Any) -> sa.Engine:
    if url.database and url.database != ":memory:" and not url.database.startswith("file:"):
        from post001.core.private import create_private_file

        # A new database is private to its owner (0600, in a 0700 folder if made here).
        create_private_file(Path(url.database).expanduser())
    engine = sa.create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control from the driver so BEGIN is ours (see below).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = FULL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        read_only = conn.get_execution_options().get(READ_ONLY, False)
        statement = "BEGIN" if read_only else "BEGIN IMMEDIATE"
        # Straight to the driver: every transaction opens here, and SQLAlchemy's
        # statement machinery costs several times this statement (see direct.py).
        try:
            conn.connection.dbapi_connection.execute(statement)  # type: ignore[union-attr]
        except Exception as err:
            conn._handle_dbapi_exception(err, statement, None, None, None)

    return engine


def identity_sql(conn: sa.Connection | sa.Engine) -> str:
    """The statement `act_as` runs (extra columns may be selected after it)."""
    options = conn.get_execution_options()
    parts = ["set_config('post001.user_id', :post001_uid, true)"]
    if options.get(ROLE_OPTION):
        parts.insert(0, "set_config('role', :post001_role, true)")
    return "SELECT " + ", ".join(parts)


def identity_params(conn: sa.Connection | sa.Engine, user_id: UUID | str | None
                    ) -> dict[str, Any]:
    params: dict[str, Any] = {"post001_uid": "" if user_id is None else str(user_id)}
    role = conn.get_execution_options().get(ROLE_OPTION)
    if role:
        params["post001_role"] = role
    return params


def act_as(conn: sa.Connection, user_id: UUID | str | None) -> None:
    """Who this PostgreSQL transaction acts as, in one statement, transaction-locally.

    Row-level security reads the user from `post001.user_id`; on the server the role
    comes with it. Nothing is set for the
    session, so a connection handed to another client by a transaction pooler
    (PgBouncer) carries nothing over."""
    if conn.dialect.name == "postgresql":
        # On the driver (direct.py): every transaction starts with it.
        direct.execute_text(conn, driver_identity_sql(conn), identity_params(conn, user_id))


def driver_identity_sql(conn: sa.Connection | sa.Engine) -> str:
    """`identity_sql` in psycopg's parameter style."""
    return (identity_sql(conn).replace(":post001_uid", "%(post001_uid)s")
            .replace(":post001_role", "%(post001_role)s"))


def open_transaction(engine: sa.Engine, user_id: UUID | str | None,
                     first: Callable[[sa.Connection], Any] | None = None, *,
                     read_only: bool = False) -> tuple[sa.Connection, Any]:
    """A connection in a new transaction acting as `user_id`; the caller commits and
    closes it (closing without a commit rolls back).

    `first(conn)`, when given, replaces `act_as` as the transaction's first statement
    (and must set the identity itself); its result is returned with the connection.
    Pools are not pre-pinged: a pooled connection found dead by that first statement
    (a database restart) is replaced and the statement retried once. Nothing was done
    in the transaction yet, so the retry is safe."""
    run = first or (lambda c: act_as(c, user_id))
    for attempt in (1, 2):
        conn = engine.connect()
        conn.execution_options(**{IDENTITY_FIRST: True, READ_ONLY: read_only})
        try:
            conn.begin()
            return conn, run(conn)
        except sa_exc.DBAPIError as err:
            conn.close()
            if attempt == 1 and err.connection_invalidated:
                continue
            raise
        except BaseException:
            conn.close()
            raise
    raise AssertionError("unreachable")


@contextlib.contextmanager
def begin_as(engine: sa.Engine, user_id: UUID | str | None,
             first: Callable[[sa.Connection], Any] | None = None, *,
             read_only: bool = False) -> Iterator[tuple[sa.Connection, Any]]:
    """`open_transaction` as a block: committed at its end, rolled back on an
    exception."""
    conn, result = open_transaction(engine, user_id, first, read_only=read_only)
    with conn:
        yield conn, result
        conn.commit()
