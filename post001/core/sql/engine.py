"""Engines for SQLite and PostgreSQL, configured for durability.

SQLite runs in WAL mode with `synchronous=FULL`: every commit (every auto-save) is
fsynced to the write-ahead log before the call returns, so a saved draft survives a
crash of the process *and* of the machine. (NORMAL would only survive the process.)
Writes open with BEGIN IMMEDIATE so two writers queue on the busy timeout instead of
failing mid-transaction with "database is locked".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import make_url

BUSY_TIMEOUT_MS = 10_000
READ_ONLY = "post001_read_only"


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
    kwargs.setdefault("pool_pre_ping", True)
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
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine
