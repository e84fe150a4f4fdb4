"""Alembic environment for post001 (SQLite and PostgreSQL).

Called two ways: programmatically by post001 (a connection is handed over in
`config.attributes["connection"]`), or by the `alembic` command with a URL from
`-x url=...`, `sqlalchemy.url` or POST001_DATABASE_URL.
"""

from __future__ import annotations

import os

from alembic import context

from post001.core.sql.engine import make_engine
from post001.core.sql.schema import include_name
from post001.core.sql.tables import with_postgresql_options

config = context.config
target_metadata = with_postgresql_options()


def _configure(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite can only alter tables by rebuilding them
        compare_type=True,
        include_name=include_name,  # the full-text search objects live outside metadata
    )


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = (
        context.get_x_argument(as_dictionary=True).get("url")
        or config.get_main_option("sqlalchemy.url")
        or os.environ.get("POST001_DATABASE_URL")
    )
    if not url:
        raise SystemExit("no database URL: pass -x url=... or set POST001_DATABASE_URL")
    engine = make_engine(url)
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            # As in schema.upgrade: batch rebuilds drop tables, which with foreign keys on
            # would cascade into (or be refused by) their children. Outside a transaction.
            conn.connection.dbapi_connection.execute("PRAGMA foreign_keys = OFF")  # type: ignore[union-attr]
        _configure(conn)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run()
