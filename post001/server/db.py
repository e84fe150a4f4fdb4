"""The server's database connections.

On PostgreSQL every transaction the server makes acts, transaction-locally, as the
application role (`post001_app`: owns no table, no BYPASSRLS), so row-level security
applies to every statement:
- the store's transactions and the request's transaction set the role and the acting
  user in their first statement (`post001.core.sql.engine.act_as`; for a request, in the
  same statement as the token lookup: post001/server/context.py);
- any other transaction on a server engine (`engine.begin()` anywhere in the server)
  gets the role from a `begin` hook before its first statement, with no user.
Nothing is set for the session: behind PgBouncer in transaction pooling mode a server
connection serves many clients, and must carry nothing from one to the next.

Prepared statements are the exception, and only on a direct connection: PostgreSQL
then parses and plans a repeated statement once per connection, not per request (the
planning of the publish's reads under row-level security cost about 1 ms). Through a
pooler (PgBouncer before 1.21 cannot route them) they stay off: `prepares_on` tells
the two apart by port (`POST001_SERVER_PREPARED_STATEMENTS`, post001/server/config.py).

The scheduler has its own small engine with no extra rights: it finds every author's
due posts through the SECURITY DEFINER function `post001_due_posts`
(0013_server_defence) and publishes each as its author.

Pools are bounded and not pre-pinged: `open_transaction` replaces a dead pooled
connection and retries once instead (docs/server.md, "Scaling and performance", has
the sizing rule).
"""

from __future__ import annotations

import logging
import re
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy import event

from post001.core.sql.engine import (
    IDENTITY_FIRST,
    ROLE_OPTION,
    begin_as,
    make_engine,
    normalize_url,
)

log = logging.getLogger("post001.server")

#: The scheduler's store acts as nobody in particular: publishing runs as each author.
SYSTEM_USER_ID = UUID(int=0)
_ROLE_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def is_postgres(engine: sa.Engine) -> bool:
    return engine.dialect.name == "postgresql"


#: psycopg's own default: a statement is prepared on its fifth use on a connection.
PREPARE_THRESHOLD = 5


def prepares_on(dbapi_conn: Any, mode: str) -> bool:
    """Whether a new connection may use prepared statements ("auto": only when the
    database says it listens on the port we reached it on; see the module's note)."""
    if mode != "auto":
        return mode == "on"
    with dbapi_conn.cursor() as cur:
        cur.execute("SHOW port")
        row = cur.fetchone()
    dbapi_conn.rollback()  # SHOW opened a transaction; the pool expects none
    return row is not None and str(row[0]) == str(dbapi_conn.info.port)


def server_engine(
    url: str,
    *,
    app_role: str = "post001_app",
    pool_size: int = 10,
    max_overflow: int = 0,
    pool_timeout: float = 10.0,
    prepared_statements: str = "auto",
) -> sa.Engine:
    """An engine whose PostgreSQL transactions act as `app_role` (RLS applies).

    At most `pool_size + max_overflow` connections; a request that finds them all busy
    waits up to `pool_timeout` seconds, then gets 503 with Retry-After.
    `prepared_statements` is "auto", "on" or "off" (the module's note)."""
    url = normalize_url(url)
    if url.startswith("sqlite"):
        return make_engine(url)
    if app_role and not _ROLE_RE.match(app_role):
        raise ValueError(f"not a role name: {app_role!r}")
    engine = make_engine(
        url, pool_size=pool_size, max_overflow=max_overflow, pool_timeout=pool_timeout,
        pool_pre_ping=False, connect_args={"prepare_threshold": None},
        # Last in, first out: at low load the same few connections serve every request,
        # so their prepared statements and the database's per-session caches (the
        # triggers' PL/pgSQL plans) stay warm; the rest idle until a burst needs them.
        pool_use_lifo=True,
        execution_options={ROLE_OPTION: app_role},
    )

    @event.listens_for(engine, "connect")
    def _prepare_where_safe(dbapi_conn: Any, _record: Any) -> None:
        if prepares_on(dbapi_conn, prepared_statements):
            dbapi_conn.prepare_threshold = PREPARE_THRESHOLD

    if app_role:
        as_app = f"SELECT set_config('role', '{app_role}', true)"

        @event.listens_for(engine, "begin")
        def _as_app_role(conn: sa.Connection) -> None:
            if not conn.get_execution_options().get(IDENTITY_FIRST):
                conn.exec_driver_sql(as_app)

    return engine


def admin_engine(url: str) -> sa.Engine:
    """The connecting role itself (migrations, `post001 server user add`)."""
    url = normalize_url(url)
    if url.startswith("sqlite"):
        return make_engine(url)
    # No prepared statements: this may go through PgBouncer too (see the module's note).
    return make_engine(url, pool_size=1, max_overflow=2,
                       connect_args={"prepare_threshold": None})


def check_rls(engine: sa.Engine) -> bool | None:
    """None on SQLite; otherwise whether the server's role is really subject to RLS."""
    if not is_postgres(engine):
        return None
    with begin_as(engine, None) as (conn, _):
        row = conn.execute(sa.text(
            "SELECT r.rolsuper OR r.rolbypassrls AS bypass, c.relforcerowsecurity AS forced "
            "FROM pg_roles r, pg_class c "
            "WHERE r.rolname = current_user AND c.oid = 'public.post_collectives'::regclass"
        )).first()
    ok = bool(row is not None and not row.bypass and row.forced)
    if not ok:
        log.warning("row-level security is NOT in force for the server's database role")
    return ok
